"""The pure allocation functions on hand-made frames: service order, whole orders, ledger, plan."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pyshipbook.book.schema import ORDERS, STOCK
from pyshipbook.domain import allocation as al

T = dt.datetime(2026, 11, 26, 9, 0)


def raw_orders(rows: list[dict]) -> pd.DataFrame:
    base = {"payment_status": "已付款", "status": "待配货", "check": "OK", "qty": 1}
    data = []
    for i, r in enumerate(rows):
        rec = {**base, "paid_at": T + dt.timedelta(minutes=i), "ordered_at": T, **r}
        data.append([rec.get(k) for k in ORDERS.keys])
    return pd.DataFrame(data, columns=ORDERS.keys, index=pd.Index(range(2, 2 + len(rows)), name="row"),
                        dtype=object)


def raw_stock(on_hand: dict[str, object], safety: dict[str, int] | None = None) -> pd.DataFrame:
    data = [[sku if k == "sku" else v if k == "on_hand" else (safety or {}).get(sku, 0) if k == "safety_stock"
             else f"{sku}名" if k == "name" else None for k in STOCK.keys] for sku, v in on_hand.items()]
    return pd.DataFrame(data, columns=STOCK.keys, index=pd.Index(range(2, 2 + len(data)), name="row"), dtype=object)


def run(rows, on_hand, safety=None):
    lines = al.order_lines(raw_orders(rows))
    stock, issues = al.stock_table(raw_stock(on_hand, safety))
    return lines, stock, al.allocate(lines, stock)


def test_service_rank_paid_time_then_order_time_then_row():
    lines = al.order_lines(raw_orders([
        {"order_id": "late", "paid_at": T + dt.timedelta(hours=2)},
        {"order_id": "cod", "payment_status": "货到付款", "paid_at": None, "ordered_at": T + dt.timedelta(hours=1)},
        {"order_id": "tie2", "paid_at": T, "ordered_at": T - dt.timedelta(minutes=1)},
        {"order_id": "tie1", "paid_at": T, "ordered_at": T - dt.timedelta(minutes=2)},
        {"order_id": "tie3", "paid_at": T, "ordered_at": T - dt.timedelta(minutes=1)},
        {"order_id": "notime", "paid_at": None, "ordered_at": None},
    ]))
    assert list(al.service_rank(lines).index) == ["tie1", "tie2", "tie3", "cod", "late", "notime"]


def test_text_dates_and_numbers_as_text_are_understood():
    lines, _, a = run([{"order_id": "A", "sku": "X", "qty": "2", "paid_at": "2026/11/26 10:00"},
                       {"order_id": "B", "sku": " Ｘ ", "qty": 2.0, "paid_at": "2026-11-26 09:00"}], {"X": 2})
    assert list(lines["qty"]) == [2, 2]
    assert list(al.service_rank(lines).index) == ["B", "A"]
    assert a.allocated_orders == ["B"] and a.short_orders == ["A"]


def test_greedy_skips_an_order_that_does_not_fit_and_serves_later_ones():
    _, _, a = run([{"order_id": "A", "sku": "X", "qty": 3}, {"order_id": "B", "sku": "X", "qty": 5},
                   {"order_id": "C", "sku": "X", "qty": 2}], {"X": 5})
    assert a.allocated_orders == ["A", "C"] and a.short_orders == ["B"]
    assert a.position.loc["X", "allocated"] == 5 and a.position.loc["X", "available"] == 0


def test_whole_order_needs_every_sku():
    _, _, a = run([{"order_id": "A", "sku": "X", "qty": 1}, {"order_id": "A", "sku": "Y", "qty": 9},
                   {"order_id": "B", "sku": "X", "qty": 1}], {"X": 1, "Y": 1})
    assert a.short_orders == ["A"] and a.allocated_orders == ["B"]
    assert list(a.status) == ["缺货", "缺货", "已配货"]
    assert a.alloc_qty.tolist() == [None, None, 1]


def test_negative_available_allocates_nothing_new_but_keeps_holdings():
    rows = [{"order_id": "A", "sku": "X", "qty": 3, "status": "已配货", "alloc_sku": "X", "alloc_qty": 3},
            {"order_id": "B", "sku": "X", "qty": 1}]
    _, _, a = run(rows, {"X": 2})     # someone counted the shelf: 2 left, 3 promised
    assert a.status.tolist() == ["已配货", "缺货"]
    assert a.position.loc["X", "available"] == -1


def test_unpaid_open_line_goes_back_to_awaiting_payment():
    _, _, a = run([{"order_id": "A", "sku": "X", "payment_status": "未付款", "paid_at": None}], {"X": 5})
    assert a.status.tolist() == ["待付款"] and a.allocated_orders == []


def test_leftover_ledger_on_lines_that_hold_nothing_is_cleared():
    _, _, a = run([{"order_id": "A", "sku": "X", "status": "待付款", "alloc_sku": "X", "alloc_qty": 4,
                    "payment_status": "未付款", "paid_at": None}], {"X": 5})
    assert a.alloc_qty.tolist() == [None] and a.position.loc["X", "allocated"] == 0


def test_unknown_statuses_and_shipped_lines_are_not_touched():
    rows = [{"order_id": "A", "sku": "X", "status": "已发货", "alloc_sku": "X", "alloc_qty": 2},
            {"order_id": "B", "sku": "X", "status": "其他"}]
    _, _, a = run(rows, {"X": 5})
    assert a.status.tolist() == ["已发货", "其他"]
    assert a.alloc_qty.tolist() == [2, None]           # history kept, not counted
    assert a.position.loc["X", "allocated"] == 0


def test_line_problems_name_the_reason():
    lines = al.order_lines(raw_orders([{"order_id": None, "sku": "X"}, {"order_id": "B", "sku": "NOPE"},
                                       {"order_id": "C", "sku": "X", "qty": -1},
                                       {"order_id": "D", "sku": "X", "check": "缺少收件人 [recipient.missing]"},
                                       {"order_id": "E", "sku": "X", "check": "单价与库存标价不同 [price.differs]"}]))
    stock, _ = al.stock_table(raw_stock({"X": 1}))
    assert al.line_problems(lines, stock).tolist() == ["缺少订单号", "商品编码不在库存表", "数量无效", "校验结果有错误", ""]


def test_stock_table_reports_bad_counts_and_duplicates():
    stock, issues = al.stock_table(raw_stock({"X": "很多", "Y": 2.5, "Z": " 7 "}))
    assert stock["on_hand"].tolist() == [0, 0, 7]
    assert [i.code for i in issues] == ["stock.on_hand_invalid", "stock.on_hand_invalid"]
    dup = pd.concat([raw_stock({"X": 1}), raw_stock({"X": 9}).set_axis([3])])
    stock, issues = al.stock_table(dup)
    assert stock.loc["X", "on_hand"] == 1 and [i.code for i in issues] == ["stock.duplicate_sku"]


def test_plan_formula():
    lines = al.order_lines(raw_orders([{"order_id": "A", "sku": "X", "qty": 7, "status": "缺货"},
                                       {"order_id": "B", "sku": "X", "qty": 2, "status": "缺货"},
                                       {"order_id": "B", "sku": "Y", "qty": 1, "status": "缺货"}]))
    stock, _ = al.stock_table(raw_stock({"X": 4, "Y": 1, "Z": 0}, {"X": 3, "Y": 2, "Z": 1}))
    position = al.stock_position(stock, lines["status"], lines["alloc_sku"], lines["alloc_qty"])
    plan = al.shortage_plan(lines, lines["status"], stock, position).set_index("sku")
    assert plan.loc["X", ["demand", "available", "shortfall", "suggested", "kind"]].tolist() == \
        [9, 4, 5, 8, "缺货"]                 # 9 − 4 = 5 short; 5 + 3 safety = 8
    assert plan.loc["X", "orders"] == ["A", "B"]
    assert plan.loc["Y", ["demand", "shortfall", "suggested", "kind"]].tolist() == [1, 0, 2, "补货"]  # 1 + 2 − 1
    assert plan.loc["Z", ["demand", "shortfall", "suggested", "kind"]].tolist() == [0, 0, 1, "补货"]
    assert list(plan.index) == ["X", "Y", "Z"]


def test_orders_text_is_cut_with_a_count():
    orders = [f"26112600{i:04d}" for i in range(500)]
    text = al.orders_text(orders, limit=100)
    assert len(text) <= 100 and text.endswith("共 500 单")
    assert al.orders_text(["A", "B"]) == "A, B"
