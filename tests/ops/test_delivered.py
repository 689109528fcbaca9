"""delivered and close-completed on real workbook files: a courier's tracking export or orders by hand,
multi-parcel orders, refusals, idempotent re-imports; completion N days after delivery, held by after-sales."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from conftest import read_orders, read_sheet, run_cli
from test_allocate import edit_orders
from test_sign import rows_of, set_settings, sign_both, slipped, without_log

from pyshipbook.book.schema import TRACKING

SF1, SF2, SF3 = "SF1000000000001", "SF1000000000002", "SF1000000000003"
YT1 = "YT1000000000001"


@pytest.fixture
def shipped(book_with):
    """A shipped in two parcels (SF1, SF2), B in one (SF3); C signed but not shipped."""
    path = slipped(book_with)
    sign_both(path)
    for order, number in (("A", f"{SF1},{SF2}"), ("B", SF3)):
        assert run_cli("tracking", path, "--order", order, "--number", number)[0] == 0
    return path


def export_csv(path, rows, headers=("运单号", "签收时间", "状态")):
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(headers)
        w.writerows(rows)
    return path


def delivered(path, *argv):
    code, data = run_cli("delivered", path, "--json", *argv)
    assert isinstance(data, dict), data
    return code, data


def state(path) -> dict[str, set]:
    out: dict[str, set] = {}
    for r in read_orders(path):
        out.setdefault(r["order_id"], set()).add((r["status"], r["delivered_at"]))
    return out


def test_a_tracking_export_marks_orders_delivered_when_every_parcel_is(shipped, tmp_path):
    f = export_csv(tmp_path / "签收.csv", [(SF1, "2026-11-27 10:05", "已签收"), (SF3, "2026/11/27 16:30", "已签收"),
                                          (SF2, "", "派送中")])
    code, data = delivered(shipped, "--import", f)
    assert code == 0 and data["delivered_orders"] == ["B"]
    assert data["partial"] == [{"order_id": "A", "parcels": 2, "delivered": 1}]
    assert data["skipped"][0]["tracking_no"] == SF2
    assert state(shipped) == {"A": {("已发货", None)}, "B": {("已签收", dt.datetime(2026, 11, 27, 16, 30))},
                              "C": {("待发货", None)}}
    f2 = export_csv(tmp_path / "签收2.csv", [(SF1, "2026-11-27 10:05", "已签收"), (SF2, "2026-11-28 09:00", "已签收"),
                                            (SF3, "2026/11/27 16:30", "已签收")])
    code, data = delivered(shipped, "--import", f2)
    assert code == 0 and data["delivered_orders"] == ["A"] and data["duplicates"] == 2
    assert state(shipped)["A"] == {("已签收", dt.datetime(2026, 11, 28, 9, 0))}     # the last parcel's time
    assert [(e["tracking_no"], e["event"], e["event_at"]) for e in rows_of(shipped, TRACKING)
            if e["event"] == "已签收"] == [(SF1, "已签收", dt.datetime(2026, 11, 27, 10, 5)),
                                          (SF3, "已签收", dt.datetime(2026, 11, 27, 16, 30)),
                                          (SF2, "已签收", dt.datetime(2026, 11, 28, 9, 0))]
    before = without_log(shipped)
    code, data = delivered(shipped, "--import", f2)
    assert code == 0 and data["duplicates"] == 3 and without_log(shipped) == before


def test_rows_that_cannot_be_signed_for_are_named(shipped, tmp_path):
    f = export_csv(tmp_path / "x.csv", [("SF1999999999999", "2026-11-27 10:05", ""), (SF1, "昨天下午", ""),
                                       ("", "2026-11-27 10:05", "")], headers=("快递单号", "签收时间", "备注"))
    code, data = delivered(shipped, "--import", f)
    assert code == 1
    assert [(p["row"], p["code"]) for p in data["refused"]] == [
        (2, "delivered.tracking_unknown"), (3, "delivered.time_invalid"), (4, "tracking.missing")]
    code, data = delivered(shipped, "--order", "C")
    assert code == 1 and data["refused"][0]["code"] == "delivered.not_shipped"
    code, data = delivered(shipped, "--order", "NOPE")
    assert code == 1 and data["refused"][0]["code"] == "tracking.order_unknown"


def test_by_hand_every_parcel_of_the_order_at_once(shipped):
    code, data = delivered(shipped, "--order", "A", "--at", "2026-11-28 11:00")
    assert code == 0 and data["delivered_orders"] == ["A"]
    assert state(shipped)["A"] == {("已签收", dt.datetime(2026, 11, 28, 11, 0))}
    code, data = delivered(shipped, "--order", "A")
    assert code == 0 and data["duplicates"] == 1
    code, data = delivered(shipped, "--order", "B")                  # default: now
    assert state(shipped)["B"] == {("已签收", dt.datetime(2026, 11, 26, 15, 0))}
    assert read_sheet(shipped, "日志")[-1][2:4] == ("delivered", "--order B")
    before = shipped.read_bytes()
    assert run_cli("delivered", shipped, "--order", "A", "--at", "下周")[0] == 2
    assert run_cli("delivered", shipped)[0] == 2
    assert shipped.read_bytes() == before


# -- close-completed ---------------------------------------------------------------------------------------
def close(path, *argv):
    code, data = run_cli("close-completed", path, "--json", *argv)
    assert isinstance(data, dict), data
    return code, data


def test_orders_complete_n_days_after_delivery_unless_in_after_sales(shipped, monkeypatch):
    delivered(shipped, "--order", "A", "--at", "2026-11-27 10:00")
    delivered(shipped, "--order", "B", "--at", "2026-11-28 10:00")
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-12-04T12:00:00")        # A: 7 days 2 hours; B: 6 days
    code, data = close(shipped)
    assert code == 0 and data["days"] == 7 and data["completed_orders"] == ["A"]
    assert {r["order_id"]: r["status"] for r in read_orders(shipped)} == {"A": "已完成", "B": "已签收", "C": "待发货"}
    edit_orders(shipped, {("B", "WS1001"): {"status": "售后"}})
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-12-10T12:00:00")
    code, data = close(shipped)
    assert data["completed_orders"] == [] and data["held_by_after_sales"] == []   # B is 售后: not 已签收 any more
    before = without_log(shipped)
    assert close(shipped)[0] == 0 and without_log(shipped) == before


def test_an_after_sales_line_holds_the_rest_of_its_order(book_with, monkeypatch):
    from test_allocate import line
    path = slipped(book_with, lines=[line("A", sku="WS1001"), line("A", sku="WS1002")])
    sign_both(path)
    run_cli("tracking", path, "--order", "A", "--number", SF1)
    delivered(path, "--order", "A")
    edit_orders(path, {("A", "WS1002"): {"status": "售后"}})
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-12-26T12:00:00")
    code, data = close(path)
    assert data["completed_orders"] == [] and data["held_by_after_sales"] == ["A"]
    assert {r["sku"]: r["status"] for r in read_orders(path)} == {"WS1001": "已签收", "WS1002": "售后"}


def test_the_days_come_from_settings_or_the_option(shipped, monkeypatch):
    delivered(shipped, "--order", "A", "--at", "2026-11-26 10:00")
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-11-29T12:00:00")
    set_settings(shipped, {"complete_after_days": "3"})
    assert close(shipped)[1]["completed_orders"] == ["A"]
    delivered(shipped, "--order", "B", "--at", "2026-11-29 10:00")
    assert close(shipped, "--days", "0")[1]["completed_orders"] == ["B"]
    set_settings(shipped, {"complete_after_days": "一周"})
    code, data = close(shipped)
    assert code == 1 and data["problems"][0]["code"] == "complete.days_invalid"


def test_a_delivered_line_without_a_time_is_reported(shipped):
    edit_orders(shipped, {("B", "WS1001"): {"status": "已签收"}})
    code, data = close(shipped)
    assert code == 0 and [(p["order_id"], p["code"], p["severity"]) for p in data["problems"]] == \
        [("B", "complete.delivered_at_missing", "warning")]
