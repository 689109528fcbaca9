"""The daily list's window, selection, blocks and addresses as pure functions (no files)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyshipbook.book.schema import DAILY, ORDERS
from pyshipbook.domain import daily as dl

T = dt.datetime
D = dt.date


def orders(*lines: dict) -> pd.DataFrame:
    rows = []
    for i, over in enumerate(lines):
        base = {"order_id": f"O{i}", "ordered_at": None, "recipient": "王芳", "address": "广东省深圳市南山区科技园1号",
                "product_name": "玫瑰精华面膜", "spec": "10片/盒", "sku": "WS1001", "qty": 1, "unit_price": 89.0,
                "amount": 89.0, "payment_status": "已付款", "paid_at": None, "status": "待配货"}
        base.update(over)
        rows.append([base.get(k) for k in ORDERS.keys])
    return pd.DataFrame(rows, columns=ORDERS.keys, index=range(2, 2 + len(rows)), dtype=object)


@pytest.mark.parametrize("text,expected", [
    ("14:00", dt.time(14)), ("14:00:00", dt.time(14)), ("9:30", dt.time(9, 30)), ("14点", dt.time(14)),
    ("14点30分", dt.time(14, 30)), ("１４：００", dt.time(14)), (" 14:00 ", dt.time(14)), ("1400", dt.time(14)),
    (dt.time(13, 45), dt.time(13, 45)), ("00:00", dt.time(0)), ("23:59:59", dt.time(23, 59, 59)),
])
def test_parse_cutoff(text, expected):
    assert dl.parse_cutoff(text) == expected


@pytest.mark.parametrize("text", ["", None, "24:00", "14:60", "下午两点", "14:00pm", "2pm", "-1:00"])
def test_parse_cutoff_refuses(text):
    with pytest.raises(ValueError):
        dl.parse_cutoff(text)


def test_window_is_previous_cutoff_exclusive_to_this_cutoff_inclusive():
    w = dl.window_for(D(2026, 11, 26), dt.time(14), {})
    assert (w.start, w.end) == (T(2026, 11, 25, 14), T(2026, 11, 26, 14))
    sel = dl.select(orders({"paid_at": T(2026, 11, 25, 14, 0, 0)}, {"paid_at": T(2026, 11, 25, 14, 0, 1)},
                           {"paid_at": T(2026, 11, 26, 14, 0, 0)}, {"paid_at": T(2026, 11, 26, 14, 0, 1)}))
    assert list(sel.in_window(w)["order_id"]) == ["O1", "O2"]


def test_window_starts_at_the_previous_blocks_recorded_cutoff():
    w = dl.window_for(D(2026, 11, 26), dt.time(15), {D(2026, 11, 25): T(2026, 11, 25, 14)})
    assert (w.start, w.end) == (T(2026, 11, 25, 14), T(2026, 11, 26, 15))


def test_cod_uses_order_time_and_synonyms_are_understood():
    sel = dl.select(orders({"payment_status": "到付", "ordered_at": T(2026, 11, 26, 10), "paid_at": None},
                           {"payment_status": "COD", "ordered_at": T(2026, 11, 20, 10),
                            "paid_at": T(2026, 11, 26, 10)}))
    assert list(sel.lines["basis"]) == ["ordered_at", "ordered_at"]
    assert list(sel.lines["when"]) == [T(2026, 11, 26, 10), T(2026, 11, 20, 10)]


def test_text_times_are_read_like_validate_reads_them():
    sel = dl.select(orders({"paid_at": "2026/11/26 14:00"}, {"paid_at": "不知道"}), ref_year=2026)
    assert list(sel.lines["when"]) == [T(2026, 11, 26, 14), None]


times = st.datetimes(min_value=T(2026, 11, 20), max_value=T(2026, 12, 5))
cutoffs = st.times().map(lambda t: t.replace(microsecond=0))


@settings(max_examples=60, deadline=None)
@given(st.lists(times, min_size=1, max_size=30), st.lists(cutoffs, min_size=16, max_size=16))
def test_every_line_is_on_exactly_one_day_even_when_the_cutoff_changes(paid, cuts):
    """Make the lists day after day with a different cut-off each day: the windows tile time."""
    sel = dl.select(orders(*({"paid_at": t.replace(microsecond=0)} for t in paid)))
    sheet = pd.DataFrame(columns=DAILY.keys, dtype=object)
    seen: list[str] = []
    first = D(2026, 11, 20)
    for i, cut in enumerate(cuts):
        day = first + dt.timedelta(days=i)
        w = dl.window_for(day, cut, dl.blocks(sheet))
        daily = dl.compile_daily(sel, w)
        seen += list(daily.lines["order_id"])
        sheet, _ = dl.merge_block(sheet, day, daily.block())
    start = T.combine(first - dt.timedelta(days=1), cuts[0])
    end = T.combine(first + dt.timedelta(days=len(cuts) - 1), cuts[-1])
    expected = [f"O{i}" for i, t in enumerate(paid) if start < t.replace(microsecond=0) <= end]
    assert sorted(seen) == sorted(expected)


def _daily(day: D, *paid: T) -> dl.DailyList:
    sel = dl.select(orders(*({"paid_at": t, "order_id": f"{day:%d}-{i}"} for i, t in enumerate(paid))))
    return dl.compile_daily(sel, dl.window_for(day, dt.time(14), {}))


def test_merge_inserts_in_date_order_and_replaces_exactly():
    sheet = pd.DataFrame(columns=DAILY.keys, dtype=object)
    for day in (D(2026, 11, 26), D(2026, 11, 24), D(2026, 11, 25)):
        sheet, changed = dl.merge_block(sheet, day, _daily(day, T.combine(day, dt.time(9))).block())
        assert changed
    assert [r.date() for r in sheet["date"]] == [D(2026, 11, 24)] * 3 + [D(2026, 11, 25)] * 3 + [D(2026, 11, 26)] * 3
    again, changed = dl.merge_block(sheet, D(2026, 11, 25), _daily(D(2026, 11, 25), T(2026, 11, 25, 9)).block())
    assert not changed and again.equals(sheet)
    two, changed = dl.merge_block(sheet, D(2026, 11, 25),
                                  _daily(D(2026, 11, 25), T(2026, 11, 25, 9), T(2026, 11, 25, 10)).block())
    assert changed and len(two) == len(sheet) + 1
    assert two.iloc[:3].equals(sheet.iloc[:3]) and two.iloc[-3:].reset_index(drop=True).equals(
        sheet.iloc[-3:].reset_index(drop=True))


def test_rows_without_a_date_stay_with_the_block_above():
    sheet = pd.DataFrame(columns=DAILY.keys, dtype=object)
    sheet, _ = dl.merge_block(sheet, D(2026, 11, 25), _daily(D(2026, 11, 25)).block())
    note = pd.DataFrame([[None, None, "手写备注", None, None, None, None, None]], columns=DAILY.keys, dtype=object)
    sheet = pd.concat([sheet, note], ignore_index=True)
    merged, _ = dl.merge_block(sheet, D(2026, 11, 24), _daily(D(2026, 11, 24)).block())
    assert list(merged["product_name"])[-1] == "手写备注"  # still after 11-25's block
    replaced, _ = dl.merge_block(sheet, D(2026, 11, 25), _daily(D(2026, 11, 25)).block())
    assert "手写备注" not in list(replaced["product_name"])  # part of 11-25's block: replaced with it


@pytest.mark.parametrize("text,good,bad", [
    ("a@x.cn", ["a@x.cn"], []),
    ("a@x.cn, b@y.com；c@z.org，d@w.com.cn;e@v.net、f@u.io\ng@t.com", ["a@x.cn", "b@y.com", "c@z.org", "d@w.com.cn",
                                                                  "e@v.net", "f@u.io", "g@t.com"], []),
    ("物流组 <wl@example.com>", ["wl@example.com"], []),
    ("ｗｌ＠ｅｘａｍｐｌｅ．ｃｏｍ", ["wl@example.com"], []),
    ("", [], []),
    (" , ; ", [], []),
    ("wl@example", [], ["wl@example"]),
    ("a@b@c.com", [], ["a@b@c.com"]),
    ("张三", [], ["张三"]),
    ("a@x.cn, 王五 <bad>", ["a@x.cn"], ["王五 <bad>"]),
    ("a..b@x.cn", [], ["a..b@x.cn"]),
])
def test_parse_addresses(text, good, bad):
    g, b = dl.parse_addresses(text)
    assert [a for _, a in g] == good and b == bad


def test_subject_and_attachment_name():
    d = _daily(D(2026, 11, 26))
    assert d.subject == "订货明细单 2026-11-26 (截至14:00)"
    assert d.attachment_name == "订货明细单-2026-11-26.xlsx"
    assert "本期没有需要发货的订单" in d.body()
