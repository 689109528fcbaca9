"""slips on real workbook files: slip rows, pick order, numbering across days and re-runs, splitting,
refusals; and the canonical form behind the content fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib

import openpyxl
import pandas as pd
import pytest
from conftest import read_orders, read_sheet, run_cli
from test_allocate import allocate, edit_orders, line, prepared

from pyshipbook.book.schema import LOG, SETTINGS, SLIP_LINES, SLIPS, STOCK
from pyshipbook.domain.slips import (CANONICAL_VERSION, canonical_form, canonical_value, fingerprint,
                                     next_slip_numbers)


def slips(path, *extra):
    code, data = run_cli("slips", path, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


def sheet_dicts(path, sheet) -> list[dict]:
    rows = read_sheet(path, sheet.name)
    keys = {c.header: c.key for c in sheet.columns}
    head = [keys.get(h, h) for h in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:] if any(v is not None for v in r)]


def set_locations(path, locations: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[STOCK.name]
    c_sku, c_loc = STOCK.keys.index("sku") + 1, STOCK.keys.index("location") + 1
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, c_sku).value in locations:
            ws.cell(r, c_loc, locations[ws.cell(r, c_sku).value])
    wb.save(path)


@pytest.fixture
def allocated(book_with):
    """Three allocated orders (A: two lines) in a book with stock for all."""
    path = prepared(book_with, [line("A", sku="WS1002", qty=2), line("A", sku="WS1001", qty=1),
                                line("B", paid=5, sku="WS1001", qty=3), line("C", paid=9, sku="WS1003", qty=1)],
                    {"WS1001": 10, "WS1002": 10, "WS1003": 10})
    set_locations(path, {"WS1001": "B-01", "WS1002": "A-09", "WS1003": "A-02"})
    allocate(path)
    return path


def test_allocated_orders_go_on_one_slip(allocated):
    code, data = slips(allocated, "--as", "王库管")
    assert code == 0
    [s] = data["slips"]
    assert s["slip_no"] == "CK20261126-001"
    assert (s["orders"], s["order_ids"], s["lines"], s["pieces"], s["amount"]) == \
        (3, ["A", "B", "C"], 4, 7, round(2 * 59 + 89 + 3 * 89 + 168, 2))
    [row] = sheet_dicts(allocated, SLIPS)
    assert row == {"slip_no": "CK20261126-001", "date": dt.datetime(2026, 11, 26, 15, 0), "orders": 3,
                   "pieces": 7, "amount": 642.0, "maker": "王库管", "finance_signer": None,
                   "finance_signed_at": None, "logistics_signer": None, "logistics_signed_at": None,
                   "fingerprint": s["fingerprint"], "state": "待签字"}
    lines = sheet_dicts(allocated, SLIP_LINES)
    # pick order: 库位, B-01 (WS1001 of A and B in service order)
    assert [(r["location"], r["sku"], r["order_id"], r["qty"]) for r in lines] == [
        ("A-02", "WS1003", "C", 1), ("A-09", "WS1002", "A", 2), ("B-01", "WS1001", "A", 1),
        ("B-01", "WS1001", "B", 3)]
    assert lines[1]["name"] == "玻尿酸补水面膜" and lines[1]["spec"] == "5片/盒" and lines[1]["recipient"] == "收件人A"
    orders = read_orders(allocated)
    assert {(r["status"], r["slip_no"]) for r in orders} == {("已开单", "CK20261126-001")}
    # the fingerprint is the documented SHA-256 over the order lines as they are in 订单
    frame = pd.DataFrame(orders)
    assert s["fingerprint"] == fingerprint(frame) == \
        hashlib.sha256(canonical_form(frame).encode("utf-8")).hexdigest()
    assert len(s["fingerprint"]) == 64
    # the stock stays reserved until shipped
    assert [r[2] for r in read_sheet(allocated, LOG.name)[1:]][-1] == "slips"


def test_slips_twice_makes_no_second_slip(allocated):
    slips(allocated)
    before = (read_orders(allocated), read_sheet(allocated, SLIPS.name), read_sheet(allocated, SLIP_LINES.name))
    code, data = slips(allocated)
    assert code == 0 and data["slips"] == []
    assert (read_orders(allocated), read_sheet(allocated, SLIPS.name),
            read_sheet(allocated, SLIP_LINES.name)) == before
    code, text = run_cli("slips", allocated)
    assert "未生成出库单" in text


def test_allocate_after_slips_keeps_everything(allocated):
    slips(allocated)
    before = read_orders(allocated)
    code, data = allocate(allocated)
    assert code == 0 and data["allocated_orders"] == [] and data["kept_orders"] == 0
    assert read_orders(allocated) == before


def test_numbering_across_days_and_reruns(book_with, monkeypatch):
    path = prepared(book_with, [line("A")], {"WS1001": 10})
    allocate(path)
    assert slips(path)[1]["slips"][0]["slip_no"] == "CK20261126-001"

    def add_order(order_id):
        wb = openpyxl.load_workbook(path)
        from pyshipbook.sample import write_orders
        ws = wb["订单"]
        write_orders(ws, [line(order_id)], start_row=ws.max_row + 1)
        wb.save(path)
        run_cli("validate", path)
        allocate(path)

    add_order("B")
    assert slips(path)[1]["slips"][0]["slip_no"] == "CK20261126-002"
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-11-27T09:00:00")
    add_order("C")
    assert slips(path)[1]["slips"][0]["slip_no"] == "CK20261127-001"
    add_order("D")
    assert slips(path)[1]["slips"][0]["slip_no"] == "CK20261127-002"
    assert [r["slip_no"] for r in sheet_dicts(path, SLIPS)] == \
        ["CK20261126-001", "CK20261126-002", "CK20261127-001", "CK20261127-002"]
    assert sheet_dicts(path, SLIPS)[2]["date"] == dt.datetime(2026, 11, 27, 9, 0)


def test_a_deleted_slip_number_is_never_reused(allocated):
    slips(allocated)
    # someone deletes the slip and its lines and puts the orders back to 已配货 by hand
    wb = openpyxl.load_workbook(allocated)
    for name in (SLIPS.name, SLIP_LINES.name):
        wb[name].delete_rows(2, wb[name].max_row)
    wb.save(allocated)
    edit_orders(allocated, {(o, s): {"status": "已配货", "slip_no": None}
                            for o, s in (("A", "WS1001"), ("A", "WS1002"), ("B", "WS1001"), ("C", "WS1003"))})
    _, data = slips(allocated)
    assert data["slips"][0]["slip_no"] == "CK20261126-002"
    settings = {r[0]: r[1] for r in read_sheet(allocated, SETTINGS.name)}
    assert settings["末张出库单号"] == "CK20261126-002"


def test_a_deleted_log_and_slip_still_leave_the_setting(allocated):
    slips(allocated)
    wb = openpyxl.load_workbook(allocated)
    for name in (SLIPS.name, SLIP_LINES.name, LOG.name):
        wb[name].delete_rows(2, wb[name].max_row)
    wb.save(allocated)
    edit_orders(allocated, {(o, s): {"status": "已配货", "slip_no": None}
                            for o, s in (("A", "WS1001"), ("A", "WS1002"), ("B", "WS1001"), ("C", "WS1003"))})
    assert slips(allocated)[1]["slips"][0]["slip_no"] == "CK20261126-002"


def test_max_orders_splits_a_batch_in_service_order(book_with):
    path = prepared(book_with, [line(f"O{i}", paid=10 - i) for i in range(5)], {"WS1001": 10})
    allocate(path)
    code, data = slips(path, "--max-orders", "2")
    assert code == 0
    assert [(s["slip_no"], s["order_ids"]) for s in data["slips"]] == [
        ("CK20261126-001", ["O4", "O3"]), ("CK20261126-002", ["O2", "O1"]), ("CK20261126-003", ["O0"])]
    assert [r["orders"] for r in sheet_dicts(path, SLIPS)] == [2, 2, 1]
    by_order = {r["order_id"]: r["slip_no"] for r in read_orders(path)}
    assert by_order == {"O4": "CK20261126-001", "O3": "CK20261126-001", "O2": "CK20261126-002",
                        "O1": "CK20261126-002", "O0": "CK20261126-003"}
    assert len({s["fingerprint"] for s in data["slips"]}) == 3
    assert run_cli("slips", path, "--max-orders", "0")[0] == 2


def test_an_order_is_never_split_across_slips(book_with):
    path = prepared(book_with, [line("A", sku="WS1001"), line("A", sku="WS1002"), line("A", sku="WS1003"),
                                line("B", paid=3)], {"WS1001": 10, "WS1002": 10, "WS1003": 10})
    allocate(path)
    _, data = slips(path, "--max-orders", "1")
    assert [(s["order_ids"], s["lines"]) for s in data["slips"]] == [(["A"], 3), (["B"], 1)]


def test_short_and_unpaid_orders_get_no_slip(book_with):
    path = prepared(book_with, [line("A", qty=5), line("B", paid=5, qty=9), line("U", paid=None)], {"WS1001": 5})
    allocate(path)
    _, data = slips(path)
    assert data["slips"][0]["order_ids"] == ["A"]
    assert {r["order_id"]: r["status"] for r in read_orders(path)} == {"A": "已开单", "B": "缺货", "U": "待付款"}


def test_an_order_edited_after_allocation_is_refused_until_rechecked(allocated):
    edit_orders(allocated, {("B", "WS1001"): {"qty": 4, "amount": 356.0}})
    code, data = slips(allocated)
    assert code == 1
    assert [s["order_ids"] for s in data["slips"]] == [["A", "C"]]
    assert [(p["order_id"], p["code"]) for p in data["problems"]] == [("B", "slip.order_changed")]
    allocate(allocated)
    code, data = slips(allocated)
    assert code == 0 and data["slips"][0]["order_ids"] == ["B"] and data["slips"][0]["pieces"] == 4


def test_slip_text_output_names_the_slips(allocated):
    code, text = run_cli("slips", allocated)
    assert code == 0 and "CK20261126-001" in text


# -- the canonical form ------------------------------------------------------------------------------------
def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_id", "sku", "qty", "recipient", "phone", "address"], dtype=object)


BASE = [("A1", "WS1001", 2, "王芳", "13812345678", "广东省深圳市南山区科技园8号"),
        ("A2", "WS1002", 1, "李四", "13900000000", "浙江省杭州市临平区南苑街道1号")]


def test_canonical_form_is_documented_and_stable():
    text = canonical_form(frame(BASE))
    assert text == (f"{CANONICAL_VERSION}\n"
                    "A1\x1fWS1001\x1f2\x1f王芳\x1f13812345678\x1f广东省深圳市南山区科技园8号\x1e"
                    "A2\x1fWS1002\x1f1\x1f李四\x1f13900000000\x1f浙江省杭州市临平区南苑街道1号\x1e")
    # pinned: a change here breaks every signature ever made (bump CANONICAL_VERSION instead)
    assert fingerprint(frame(BASE)) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_row_order_extra_columns_and_cosmetic_differences_do_not_matter():
    a = frame(BASE)
    b = frame([("A2", "ＷＳ1002", 1.0, " 李\u200b四", "13900000000", "浙江省杭州市临平区南苑街道1号\n"),
               ("A1", "WS1001", "2", "王芳 ", "13812345678", "广东省深圳市南山区科技园8号")])
    b["remark"] = "不相关"
    assert fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize("i,value", [(0, "A3"), (1, "WS1003"), (2, 3), (3, "王芬"), (4, "13812345679"),
                                     (5, "广东省深圳市南山区科技园9号")])
def test_any_visible_change_changes_the_fingerprint(i, value):
    changed = [list(BASE[0]), list(BASE[1])]
    changed[0][i] = value
    assert fingerprint(frame([tuple(r) for r in changed])) != fingerprint(frame(BASE))


def test_fields_cannot_imitate_separators():
    a = frame([("A", "B\x1fC", 1, "", "", "")])
    b = frame([("A", "B", 1, "C", "", "")])
    assert canonical_value("B\x1fC") == "B C"
    assert fingerprint(a) != fingerprint(b)


def test_duplicate_lines_count():
    assert fingerprint(frame(BASE)) != fingerprint(frame(BASE + BASE[:1]))


def test_next_numbers_skip_everything_seen():
    day = dt.date(2026, 11, 26)
    seen = ["CK20261126-001", "生成出库单 3 张 (CK20261126-004 … CK20261126-007)", None, 5, "CK20261125-099"]
    assert next_slip_numbers(seen, day, 2) == ["CK20261126-008", "CK20261126-009"]
    assert next_slip_numbers([], day, 1) == ["CK20261126-001"]
    assert next_slip_numbers(["CK20261126-999"], day, 1) == ["CK20261126-1000"]
