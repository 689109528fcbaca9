"""tracking on real workbook files: a courier's result file or numbers by hand; format checks per courier
(the ambiguous numeric cases), duplicates, multi-parcel orders, stock leaving exactly once, idempotent re-imports."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest
from conftest import read_orders, read_sheet, run_cli
from test_allocate import ledger_balances, stock
from test_sign import rows_of, set_settings, sign, sign_both, slipped, without_log

from pyshipbook.book.schema import TRACKING

T0 = dt.datetime(2026, 11, 26, 15, 0)
SF1, SF2, SF3 = "SF1000000000001", "SF1000000000002", "SF1000000000003"
YT1 = "YT1000000000001"
AMBIGUOUS = "431234567890123"     # a Yunda number (3/4 + 14 digits) and a STO one (43 + 13 digits) alike


@pytest.fixture
def ready(book_with):
    """A (WS1002×2 + WS1001×1), B (WS1001×3), C (WS1003×1): signed by both, 待发货; no courier chosen yet."""
    path = slipped(book_with)
    sign_both(path)
    return path


def result_xlsx(path, rows, headers=("用户订单号", "运单号", "快递公司"), title=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append(["顺丰批量下单结果 2026-11-26"])     # a title row above the header, as exports have
    ws.append(list(headers))
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def result_csv(path, rows, headers=("订单号", "快递单号", "快递公司")):
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        w.writerows(rows)
    return path


def track(path, *argv):
    code, data = run_cli("tracking", path, "--json", *argv)
    assert isinstance(data, dict), data
    return code, data


def by_order(path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in read_orders(path):
        out.setdefault(r["order_id"], []).append(r)
    return out


def test_a_courier_result_file_ships_the_orders_and_stock_leaves_once(ready, tmp_path):
    assert stock(ready)["WS1001"] == (10, 4, 6) and stock(ready)["WS1002"] == (10, 2, 8)
    f = result_xlsx(tmp_path / "回单.xlsx", [("A", SF1, "顺丰"), ("B", SF2, "SF"), ("C", YT1, None)])
    code, data = track(ready, "--import", f)
    assert code == 0 and [d["order_id"] for d in data["accepted"]] == ["A", "B", "C"]
    assert data["shipped_orders"] == ["A", "B", "C"] and data["stock_out"] == {"WS1002": 2, "WS1001": 4, "WS1003": 1}
    orders = by_order(ready)
    for oid, number, carrier in (("A", SF1, "SF"), ("B", SF2, "SF"), ("C", YT1, "YTO")):
        for r in orders[oid]:
            assert (r["status"], r["shipped_at"], r["carrier"], r["tracking_no"]) == ("已发货", T0, carrier, number)
    assert [(e["order_id"], e["carrier"], e["tracking_no"], e["event"]) for e in rows_of(ready, TRACKING)] == \
        [("A", "SF", SF1, "已发货"), ("B", "SF", SF2, "已发货"), ("C", "YTO", YT1, "已发货")]
    # 库存数量 and 已分配 drop by what shipped; 可用 stays
    assert stock(ready)["WS1001"] == (6, 0, 6) and stock(ready)["WS1002"] == (8, 0, 8)
    assert stock(ready)["WS1003"] == (9, 0, 9)
    ledger_balances(ready)
    # the tracking numbers are text cells
    wb = openpyxl.load_workbook(ready)
    ws = wb["订单"]
    col = [c.value for c in ws[1]].index("快递单号")
    assert all(ws.cell(r, col + 1).data_type == "s" for r in range(2, 6))
    # re-importing the same file changes nothing
    before = without_log(ready)
    code, data = track(ready, "--import", f)
    assert code == 0 and data["accepted"] == [] and data["duplicates"] == 3 and data["stock_out"] == {}
    assert without_log(ready) == before
    assert read_sheet(ready, "日志")[-1][2:4] == ("tracking", "--import 回单.xlsx")


def test_format_checks_per_courier_and_ambiguous_numeric_numbers(ready, tmp_path):
    set_settings(ready, {"default_carrier": ""})    # no default courier: a numeric number needs one named
    f = result_xlsx(tmp_path / "r.xlsx", [
        ("A", "SF123", "顺丰"),                    # too short for SF
        ("A", YT1, "顺丰"),                        # YT prefix belongs to YTO
        ("A", AMBIGUOUS, None),                    # numeric, no courier: Yunda or STO?
        ("A", 7312345678901234.0, "中通"),          # Excel stored it as a number: digits lost
        ("A", None, "中通"),
        ("Z9", SF3, None),
        ("B", AMBIGUOUS, "韵达"),                  # the same digits are a valid Yunda number …
        ("C", "431234567890124", "申通"),           # … and a valid STO one
    ])
    code, data = track(ready, "--import", f)
    assert code == 1
    assert [(p["row"], p["order_id"], p["code"]) for p in data["refused"]] == [
        (3, "A", "tracking.invalid"), (4, "A", "tracking.carrier_mismatch"), (5, "A", "tracking.carrier_unknown"),
        (6, "A", "tracking.unreadable"), (7, "A", "tracking.missing"), (8, "Z9", "tracking.order_unknown")]
    assert [(d["order_id"], d["carrier"]) for d in data["accepted"]] == [("B", "YUNDA"), ("C", "STO")]
    assert {o: {r["status"] for r in rows} for o, rows in by_order(ready).items()} == \
        {"A": {"待发货"}, "B": {"已发货"}, "C": {"已发货"}}
    code, text = run_cli("tracking", ready, "--import", f)   # again: B and C are duplicates now
    assert code == 1 and "已登记过 2 个, 拒绝 6 个" in text and "tracking.carrier_mismatch" in text
    assert "行 row 5: A error tracking.used_by_other_order" in text   # B owns those digits now


def test_a_numeric_number_is_checked_against_the_orders_courier_or_the_default(ready, tmp_path):
    code, _ = run_cli("waybills", ready, "--carrier", "ZTO")
    assert code == 0
    assert {r["carrier"] for r in read_orders(ready)} == {"ZTO"}
    code, data = track(ready, "--order", "A", "--number", "73123456789012")
    assert code == 0 and data["accepted"][0]["carrier"] == "ZTO"
    code, data = track(ready, "--order", "B", "--number", "431234567890123")   # not a ZTO number
    assert code == 1 and data["refused"][0]["code"] == "tracking.invalid"


def test_the_default_courier_decides_for_orders_without_one(ready):
    set_settings(ready, {"default_carrier": "EMS"})
    code, data = track(ready, "--order", "C", "--number", "1123456789012")
    assert code == 0 and data["accepted"][0]["carrier"] == "EMS"
    assert by_order(ready)["C"][0]["carrier"] == "EMS"


def test_a_tracking_number_of_another_order_is_refused(ready, tmp_path):
    track(ready, "--order", "A", "--number", SF1)
    f = result_csv(tmp_path / "r.csv", [("B", SF1, "顺丰"), ("B", SF2, "顺丰"), ("C", SF2, "顺丰")])
    code, data = track(ready, "--import", f)
    assert code == 1
    assert [(p["order_id"], p["tracking_no"], p["code"]) for p in data["refused"]] == [
        ("B", SF1, "tracking.used_by_other_order"), ("C", SF2, "tracking.used_by_other_order")]
    assert "SF1000000000001 → A" in data["refused"][0]["message"]
    assert by_order(ready)["C"][0]["status"] == "待发货"


def test_a_multi_parcel_order_keeps_every_number_and_ships_its_stock_once(ready, tmp_path, monkeypatch):
    f = result_csv(tmp_path / "r.csv", [("A", SF1, "顺丰"), ("A", SF2, "顺丰")])
    code, data = track(ready, "--import", f)
    assert code == 0 and data["stock_out"] == {"WS1002": 2, "WS1001": 1}
    for r in by_order(ready)["A"]:
        assert (r["status"], r["tracking_no"], r["carrier"]) == ("已发货", f"{SF1},{SF2}", "SF")
    assert [(e["tracking_no"], e["event"]) for e in rows_of(ready, TRACKING)] == [(SF1, "已发货"), (SF2, "追加包裹")]
    after = stock(ready)
    # a third parcel logged by hand the next day, with another courier
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-11-27T09:00:00")
    code, data = track(ready, "--order", "A", "--number", YT1)
    assert code == 0 and data["stock_out"] == {} and data["shipped_orders"] == []
    for r in by_order(ready)["A"]:
        assert (r["tracking_no"], r["carrier"], r["shipped_at"]) == (f"{SF1},{SF2},{YT1}", "SF,YTO", T0)
    assert stock(ready) == after
    ledger_balances(ready)


def test_several_numbers_by_hand_in_one_go(ready):
    code, data = track(ready, "--order", "B", "--number", f"{SF1}, {SF2}", "--carrier", "顺丰速运")
    assert code == 0 and len(data["accepted"]) == 2
    assert by_order(ready)["B"][0]["tracking_no"] == f"{SF1},{SF2}"
    assert stock(ready)["WS1001"] == (7, 1, 6)


def test_an_order_not_signed_by_both_cannot_ship(book_with):
    path = slipped(book_with)
    sign(path, "finance", "李财务")
    before = without_log(path)
    code, data = track(path, "--order", "A", "--number", SF1)
    assert code == 1 and data["refused"][0]["code"] == "tracking.order_not_ready"
    assert without_log(path) == before


def test_what_cannot_run_leaves_the_book_untouched(ready, tmp_path):
    before = ready.read_bytes()
    assert run_cli("tracking", ready)[0] == 2
    assert run_cli("tracking", ready, "--order", "A")[0] == 2
    assert run_cli("tracking", ready, "--import", tmp_path / "none.csv")[0] == 2
    f = result_csv(tmp_path / "r.csv", [("A", "x")], headers=("订单号", "备注"))
    code, text = run_cli("tracking", ready, "--import", f)
    assert code == 2 and "运单号/快递单号" in text
    assert ready.read_bytes() == before


def test_a_formula_in_on_hand_is_kept_and_named(ready):
    wb = openpyxl.load_workbook(ready)
    ws = wb["库存"]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "WS1003":
            ws.cell(r, 5).value = "=5+5"
    wb.save(ready)
    code, text = run_cli("tracking", ready, "--order", "C", "--number", SF1)
    assert code == 0 and "库存数量未扣减" in text and "WS1003" in text
    ws = openpyxl.load_workbook(ready)["库存"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "WS1003")
    assert ws.cell(row, 5).value == "=5+5" and ws.cell(row, 6).value == 0     # 已分配 still follows the ledger
