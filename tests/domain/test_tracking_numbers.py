"""Logging tracking numbers: accept, duplicate (idempotent), reject; line updates; stock leaves once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.book.templates import load_carriers
from pyshipbook.domain.tracking import CODES, EVENT_COLUMNS, apply_plan, plan_tracking

NOW = dt.datetime(2026, 11, 26, 15, 0)
LATER = dt.datetime(2026, 11, 27, 10, 0)
CARRIERS = load_carriers()

SF1, SF2, SF3 = "SF1234567890123", "SF1234567890124", "SF1234567890125"
ZTO1 = "73123456789012"
YT1 = "YT1234567890123"


def line(order_id, sku="WS1001", qty=1, status="待发货", **over) -> dict:
    row = {"order_id": order_id, "status": status, "sku": sku, "qty": qty, "carrier": None, "tracking_no": None,
           "shipped_at": None, "alloc_sku": sku, "alloc_qty": qty}
    row.update(over)
    return row


def frame(rows: list[dict], start: int = 2) -> pd.DataFrame:
    return pd.DataFrame(rows, index=range(start, start + len(rows)), dtype=object)


def no_events() -> pd.DataFrame:
    return pd.DataFrame(columns=list(EVENT_COLUMNS), dtype=object)


def records(*recs) -> pd.DataFrame:
    rows = [dict(zip(("order_id", "tracking_no", "carrier"), r)) for r in recs]
    return pd.DataFrame(rows, index=range(2, 2 + len(rows)), dtype=object)


def plan(lines, recs, events=None, **kw):
    return plan_tracking(lines, no_events() if events is None else events, recs, CARRIERS, now=kw.pop("now", NOW),
                         **kw)


def outcomes(p) -> list[tuple]:
    return [(d.outcome, d.code) for d in p.decisions]


# -- accepting ------------------------------------------------------------------------------------------
def test_a_new_number_ships_every_line_of_a_ready_order():
    lines = frame([line("A1", "WS1001", 2), line("A1", "WS1002", 1), line("B1")])
    p = plan(lines, records(("A1", SF1, "顺丰")))
    assert outcomes(p) == [("accepted", None)]
    assert p.decisions[0].carrier == "SF" and p.decisions[0].carrier_from == "record"
    assert list(p.line_updates.index) == [2, 3]
    for r in (2, 3):
        assert p.line_updates.loc[r].to_dict() == {"status": "已发货", "shipped_at": NOW, "carrier": "SF",
                                                  "tracking_no": SF1}
    assert p.events.to_dict("records") == [{"order_id": "A1", "carrier": "SF", "tracking_no": SF1,
                                            "event_at": NOW, "event": "已发货"}]
    assert p.shipped == {"WS1001": 2, "WS1002": 1}
    assert p.shipped_rows == [2, 3]


def test_relogging_the_same_number_is_a_no_op():
    lines = frame([line("A1", qty=2)])
    first = plan(lines, records(("A1", SF1, "SF")))
    lines2, events2 = apply_plan(lines, no_events(), first)
    again = plan(lines2, records(("A1", SF1, "SF"), ("A1", " sf 1234 5678 90123", None)), events2, now=LATER)
    assert outcomes(again) == [("duplicate", None), ("duplicate", None)]
    assert again.events.empty and again.line_updates.empty and again.shipped == {}
    assert lines2.at[2, "shipped_at"] == NOW


def test_the_same_number_twice_in_one_file_is_logged_once():
    p = plan(frame([line("A1")]), records(("A1", SF1, None), ("A1", SF1, None)))
    assert outcomes(p) == [("accepted", None), ("duplicate", None)]
    assert len(p.events) == 1 and p.shipped == {"WS1001": 1}


def test_a_second_parcel_for_a_shipped_order_is_added_without_shipping_stock_again():
    lines = frame([line("A1", qty=3), line("A1", "WS1002", 1)])
    first = plan(lines, records(("A1", SF1, None)))
    lines2, events2 = apply_plan(lines, no_events(), first)
    second = plan(lines2, records(("A1", YT1, None), ("A1", ZTO1, "中通")), events2, now=LATER)
    assert outcomes(second) == [("accepted", None), ("accepted", None)]
    assert second.shipped == {} and second.shipped_rows == []
    upd = second.line_updates.loc[2].to_dict()
    assert upd == {"status": "已发货", "shipped_at": NOW, "carrier": "SF,YTO,ZTO",
                   "tracking_no": f"{SF1},{YT1},{ZTO1}"}
    assert list(second.events["event"]) == ["追加包裹", "追加包裹"]
    assert list(second.events["carrier"]) == ["YTO", "ZTO"]


def test_two_parcels_in_one_file_ship_the_order_once():
    p = plan(frame([line("A1", qty=2)]), records(("A1", SF1, None), ("A1", SF2, None)))
    assert outcomes(p) == [("accepted", None), ("accepted", None)]
    assert p.line_updates.loc[2, "tracking_no"] == f"{SF1},{SF2}"
    assert p.line_updates.loc[2, "carrier"] == "SF"
    assert list(p.events["event"]) == ["已发货", "追加包裹"]
    assert p.shipped == {"WS1001": 2}


def test_a_number_typed_into_the_order_before_logging_is_kept_once():
    lines = frame([line("A1", tracking_no="sf1234567890123", carrier="顺丰")])
    p = plan(lines, records(("A1", SF1, None)))
    assert outcomes(p) == [("accepted", None)]
    assert p.line_updates.loc[2, "tracking_no"] == SF1 and p.line_updates.loc[2, "carrier"] == "SF"


def test_stock_leaves_by_the_ledger_when_the_line_has_one():
    lines = frame([line("A1", "WS1001", 2, alloc_sku="WS1009", alloc_qty=2), line("A1", "WS1002", 4,
                                                                                   alloc_sku=None, alloc_qty=None)])
    assert plan(lines, records(("A1", SF1, None))).shipped == {"WS1009": 2, "WS1002": 4}


def test_cancelled_lines_are_neither_updated_nor_shipped():
    lines = frame([line("A1", "WS1001", 1), line("A1", "WS1002", 5, status="已取消")])
    p = plan(lines, records(("A1", SF1, None)))
    assert list(p.line_updates.index) == [2]
    assert p.shipped == {"WS1001": 1}


# -- which courier ---------------------------------------------------------------------------------------
def test_a_numeric_number_without_any_courier_is_rejected_as_ambiguous():
    p = plan(frame([line("A1")]), records(("A1", ZTO1, None)))
    assert outcomes(p) == [("rejected", "tracking.carrier_unknown")]
    assert p.line_updates.empty and p.events.empty and p.shipped == {}


def test_a_numeric_number_is_checked_against_the_orders_courier_then_the_default():
    by_order = plan(frame([line("A1", carrier="中通")]), records(("A1", ZTO1, None)))
    assert outcomes(by_order) == [("accepted", None)] and by_order.decisions[0].carrier_from == "order"
    wrong = plan(frame([line("A1", carrier="申通")]), records(("A1", ZTO1, None)))
    assert outcomes(wrong) == [("rejected", "tracking.invalid")]
    by_default = plan(frame([line("A1")]), records(("A1", ZTO1, None)), default_carrier="ZTO")
    assert outcomes(by_default) == [("accepted", None)] and by_default.decisions[0].carrier_from == "default"


def test_a_letter_prefix_wins_over_the_orders_courier_but_not_over_the_files():
    p = plan(frame([line("A1", carrier="ZTO")]), records(("A1", YT1, None)))
    assert outcomes(p) == [("accepted", None)] and p.decisions[0].carrier == "YTO"
    q = plan(frame([line("A1")]), records(("A1", YT1, "中通")))
    assert outcomes(q) == [("rejected", "tracking.carrier_mismatch")]


def test_a_number_not_matching_the_chosen_couriers_format_is_rejected():
    p = plan(frame([line("A1")]), records(("A1", "7712345678901", "申通")))
    assert outcomes(p) == [("rejected", "tracking.invalid")]


def test_an_unknown_courier_name_in_the_file_is_rejected():
    p = plan(frame([line("A1")]), records(("A1", SF1, "百世")))
    assert outcomes(p) == [("rejected", "tracking.carrier_unknown")]


# -- rejecting -----------------------------------------------------------------------------------------
def test_a_number_already_used_by_another_order_is_rejected():
    lines = frame([line("A1"), line("B1"), line("C1", tracking_no=SF3)])
    events = pd.DataFrame([{"order_id": "A1", "carrier": "SF", "tracking_no": SF1, "event_at": NOW,
                            "event": "已发货"}])
    p = plan(lines, records(("B1", SF1, None), ("B1", SF2, None), ("A1", SF2, None), ("A1", SF3, None)), events)
    assert outcomes(p) == [("rejected", "tracking.used_by_other_order"), ("accepted", None),
                           ("rejected", "tracking.used_by_other_order"), ("rejected", "tracking.used_by_other_order")]
    assert "A1" in p.decisions[0].detail and "B1" in p.decisions[2].detail and "C1" in p.decisions[3].detail


@pytest.mark.parametrize("status", ["已开单", "已配货", "待校验", "已签收", "已完成", "售后"])
def test_an_order_not_ready_to_ship_is_rejected(status):
    p = plan(frame([line("A1", status=status)]), records(("A1", SF1, None)))
    assert outcomes(p) == [("rejected", "tracking.order_not_ready")]
    assert status in p.decisions[0].detail


def test_an_order_with_one_line_not_ready_is_rejected_whole():
    p = plan(frame([line("A1"), line("A1", status="已开单")]), records(("A1", SF1, None)))
    assert outcomes(p) == [("rejected", "tracking.order_not_ready")]
    assert p.line_updates.empty


def test_a_fully_cancelled_order_is_not_ready():
    p = plan(frame([line("A1", status="已取消")]), records(("A1", SF1, None)))
    assert outcomes(p) == [("rejected", "tracking.order_not_ready")]


def test_reimporting_after_delivery_is_still_a_quiet_duplicate():
    lines = frame([line("A1", status="已签收", tracking_no=SF1)])
    events = pd.DataFrame([{"order_id": "A1", "carrier": "SF", "tracking_no": SF1}])
    assert outcomes(plan(lines, records(("A1", SF1, None)), events)) == [("duplicate", None)]


@pytest.mark.parametrize("order_id", ["ZZ9", None, "", "  "])
def test_an_unknown_order_is_rejected(order_id):
    p = plan(frame([line("A1")]), records((order_id, SF1, None)))
    assert outcomes(p) == [("rejected", "tracking.order_unknown")]


def test_blank_and_unreadable_numbers_are_rejected():
    p = plan(frame([line("A1")]), records(("A1", None, None), ("A1", 7.31234567890123e+13, "中通"),
                                         ("A1", "7.31235E+13", "中通")))
    assert outcomes(p) == [("rejected", "tracking.missing"), ("rejected", "tracking.unreadable"),
                           ("rejected", "tracking.unreadable")]


def test_an_exact_float_from_excel_is_logged_as_digits():
    p = plan(frame([line("A1")]), records(("A1", 73123456789012.0, "ZTO")))
    assert outcomes(p) == [("accepted", None)] and p.events.at[0, "tracking_no"] == ZTO1


def test_order_ids_and_courier_names_are_matched_after_cleaning():
    p = plan(frame([line("A001")]), records(("Ａ００１ ", SF1, "ＳＦ")))
    assert outcomes(p) == [("accepted", None)]


def test_every_decision_reads_in_chinese_and_english():
    p = plan(frame([line("A1"), line("B1", status="已开单")]),
             records(("A1", SF1, None), ("A1", SF1, None), ("B1", SF2, None), ("X", SF3, None)))
    for d in p.decisions:
        info = d.as_dict()
        assert info["message"] and "/" in info["message"]
        if d.code:
            assert CODES[d.code].zh in info["message"] and info["severity"] == "error"


def test_bad_cells_never_raise():
    lines = frame([line(None), line(3.0, status=None), line("A1", qty="two", alloc_qty=None, alloc_sku=None)])
    recs = records((float("nan"), object(), None), ("A1", ["SF"], 5), ("3", True, "SF"), ("A1", SF1, float("nan")))
    p = plan(lines, recs)
    assert len(p.decisions) == 4
    assert p.decisions[-1].outcome == "accepted" and p.shipped == {}


# -- property: stock leaves exactly once per line -------------------------------------------------------
ORDERS = ["A1", "A2", "A3", "A4", "A5"]
NUMBERS = [SF1, SF2, SF3, YT1, ZTO1, "JT1234567890123", "bad number", "7712345678901234"]
STATUSES = ["待发货", "待发货", "待发货", "已发货", "已开单", "已取消"]


@st.composite
def books(draw):
    rows = []
    for oid in ORDERS:
        status = draw(st.sampled_from(STATUSES))
        for k in range(draw(st.integers(1, 3))):
            s = status if k == 0 or draw(st.booleans()) else draw(st.sampled_from(STATUSES))
            rows.append(line(oid, f"WS{1001 + k}", draw(st.integers(1, 5)), status=s))
    batch = draw(st.lists(st.tuples(st.sampled_from(ORDERS + ["ZZ"]), st.sampled_from(NUMBERS),
                                    st.sampled_from([None, "SF", "中通", "圆通", "极兔"])), max_size=12))
    return frame(rows), records(*batch)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_logging_the_same_batch_twice_ships_each_line_once(book):
    lines, batch = book
    first = plan(lines, batch)
    lines2, events2 = apply_plan(lines, no_events(), first)
    second = plan(lines2, batch, events2, now=LATER)
    lines3, events3 = apply_plan(lines2, events2, second)

    # the second run changes nothing
    assert second.events.empty and second.line_updates.empty and second.shipped == {}
    assert all(d.outcome != "accepted" for d in second.decisions)
    assert lines3.equals(lines2) and len(events3) == len(events2)
    # stock left once, for exactly the lines that went 待发货 -> 已发货
    went = [r for r in lines.index if lines.at[r, "status"] == "待发货" and lines3.at[r, "status"] == "已发货"]
    assert sorted(first.shipped_rows) == went
    expected: dict[str, int] = {}
    for r in went:
        expected[lines.at[r, "sku"]] = expected.get(lines.at[r, "sku"], 0) + lines.at[r, "qty"]
    assert first.shipped == expected
    # a number belongs to one order; every accepted number is on its lines
    owners = events3.groupby("tracking_no")["order_id"].nunique()
    assert (owners <= 1).all()
    for ev in events3.itertuples():
        for r in lines3.index[(lines3["order_id"] == ev.order_id) & (lines3["status"] != "已取消")]:
            assert ev.tracking_no in lines3.at[r, "tracking_no"].split(",")
    # nothing moved backwards, cancelled lines untouched
    for r in lines.index:
        if lines.at[r, "status"] != "待发货":
            assert lines3.at[r, "status"] == lines.at[r, "status"]
