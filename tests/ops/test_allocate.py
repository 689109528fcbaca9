"""allocate and shortages on real workbook files: FIFO, whole orders, COD, unpaid, re-runs, changes, plan."""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import openpyxl
import pytest
from conftest import good_line, read_orders, read_sheet, run_cli

from pyshipbook.book.schema import LOG, ORDERS, SHORTAGES, STOCK
from pyshipbook.sample import stock_rows

T = dt.datetime(2026, 11, 26, 9, 0)


def at(minutes: int) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


def line(order_id: str, sku: str = "WS1001", qty: int = 1, paid: int | None = 0, ordered: int | None = None,
         **over) -> dict:
    """A clean line of `order_id`; paid = minutes after 9:00 (None: unpaid); ordered defaults to paid − 5."""
    price = {r["sku"]: r["list_price"] for r in stock_rows()}[sku]
    ordered_at = at(ordered if ordered is not None else (paid or 0) - 5)
    base = dict(order_id=order_id, sku=sku, qty=qty, unit_price=price, amount=round(qty * price, 2),
                product_name=None, spec=None, ordered_at=ordered_at,
                paid_at=at(paid) if paid is not None else None,
                payment_status="已付款" if paid is not None else "未付款",
                phone=f"138{zlib.crc32(order_id.encode()) % 10**8:08d}", recipient=f"收件人{order_id}")
    base.update(over)
    return good_line(**base)


def set_stock(path: Path, on_hand: dict[str, int], safety: dict[str, int] | None = None) -> None:
    """Give these SKUs these 库存数量 (every other SKU 0) and 安全库存 (default 0)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[STOCK.name]
    c_sku, c_on, c_safe = (STOCK.keys.index(k) + 1 for k in ("sku", "on_hand", "safety_stock"))
    for r in range(2, ws.max_row + 1):
        sku = ws.cell(r, c_sku).value
        if sku is None:
            continue
        ws.cell(r, c_on, on_hand.get(sku, 0))
        ws.cell(r, c_safe, (safety or {}).get(sku, 0))
    wb.save(path)


def stock(path: Path) -> dict[str, tuple]:
    """SKU -> (库存数量, 已分配, 可用) as saved."""
    wb = openpyxl.load_workbook(path)
    ws = wb[STOCK.name]
    cols = [STOCK.keys.index(k) for k in ("sku", "on_hand", "allocated", "available")]
    return {row[cols[0]]: tuple(row[c] for c in cols[1:]) for row in ws.iter_rows(min_row=2, values_only=True)
            if row[cols[0]]}


def edit_orders(path: Path, changes: dict[tuple[str, str], dict]) -> None:
    """Edit cells of 订单 lines found by (order_id, sku): {(order, sku): {key: value}}."""
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    headers = [c.value for c in ws[1]]
    col = {c.key: headers.index(c.header) + 1 for c in ORDERS.columns if c.header in headers}
    for r in range(2, ws.max_row + 1):
        k = (ws.cell(r, col["order_id"]).value, ws.cell(r, col["sku"]).value)
        for key, value in changes.get(k, {}).items():
            ws.cell(r, col[key]).value = value
    wb.save(path)


def prepared(book_with, lines, on_hand, safety=None) -> Path:
    path = book_with(lines)
    set_stock(path, on_hand, safety)
    code, data = run_cli("validate", path, "--json")
    assert data["errors"] == 0, data["problems"]
    return path


def allocate(path, *extra):
    code, data = run_cli("allocate", path, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


def statuses(path) -> dict[str, str]:
    out = {}
    for r in read_orders(path):
        out.setdefault(r["order_id"], set()).add(r["status"])
    return {k: "/".join(sorted(v)) for k, v in out.items()}


def ledger_balances(path) -> None:
    """已分配 of every SKU = sum of 配货数量 over lines holding stock; 可用 = 库存数量 − 已分配."""
    held: dict[str, int] = {}
    for r in read_orders(path):
        if r["status"] in ("已配货", "已开单", "待发货"):
            held[r["alloc_sku"]] = held.get(r["alloc_sku"], 0) + r["alloc_qty"]
    for sku, (on_hand, allocated, available) in stock(path).items():
        assert allocated == held.get(sku, 0), sku
        assert available == (on_hand or 0) - allocated, sku


# -- who gets served -------------------------------------------------------------------------------
def test_first_paid_first_served(book_with):
    path = prepared(book_with, [line("LATE", paid=30, qty=2), line("EARLY", paid=10, qty=2),
                                line("MIDDLE", paid=20, qty=2)], {"WS1001": 4})
    code, data = allocate(path)
    assert code == 0
    assert data["allocated_orders"] == ["EARLY", "MIDDLE"]
    assert data["short_orders"] == ["LATE"]
    assert statuses(path) == {"EARLY": "已配货", "MIDDLE": "已配货", "LATE": "缺货"}
    assert stock(path)["WS1001"] == (4, 4, 0)
    ledger_balances(path)


def test_ties_go_by_order_time_then_row(book_with):
    path = prepared(book_with, [line("R1", paid=10, ordered=5), line("R2", paid=10, ordered=1),
                                line("R3", paid=10, ordered=5)], {"WS1001": 2})
    _, data = allocate(path)
    assert data["allocated_orders"] == ["R2", "R1"]   # same payment time: R2 ordered first; R1 above R3
    assert data["short_orders"] == ["R3"]


def test_cash_on_delivery_is_served_by_its_order_time(book_with):
    path = prepared(book_with, [
        line("PAID", paid=30, ordered=0),                                    # ordered 9:00, paid 9:30
        line("COD", paid=None, ordered=20, payment_status="货到付款"),       # ordered 9:20, no payment
    ], {"WS1001": 1})
    _, data = allocate(path)
    assert data["allocated_orders"] == ["COD"]
    assert data["short_orders"] == ["PAID"]


def test_an_order_is_allocated_whole_or_not_at_all(book_with):
    path = prepared(book_with, [
        line("BIG", paid=0, sku="WS1001", qty=2), line("BIG", paid=0, sku="WS1002", qty=5),
        line("SMALL", paid=10, sku="WS1001", qty=2),
    ], {"WS1001": 2, "WS1002": 3})
    code, data = allocate(path)
    assert code == 0
    assert data["short_orders"] == ["BIG"] and data["allocated_orders"] == ["SMALL"]
    rows = {(r["order_id"], r["sku"]): r for r in read_orders(path)}
    assert rows[("BIG", "WS1001")]["status"] == rows[("BIG", "WS1002")]["status"] == "缺货"
    assert rows[("BIG", "WS1001")]["alloc_qty"] is None          # a short order reserves nothing
    assert stock(path)["WS1001"] == (2, 2, 0) and stock(path)["WS1002"] == (3, 0, 3)


def test_two_lines_of_one_sku_in_one_order_need_their_sum(book_with):
    path = prepared(book_with, [line("TWICE", qty=2, spec="红"), line("TWICE", qty=2, spec="蓝")], {"WS1001": 3})
    _, data = allocate(path)
    assert data["short_orders"] == ["TWICE"]
    assert stock(path)["WS1001"] == (3, 0, 3)


def test_unpaid_and_failed_lines_are_left_alone(book_with):
    path = book_with([line("UNPAID", paid=None), line("BAD", paid=0, recipient=None), line("OK", paid=5)])
    set_stock(path, {"WS1001": 10})
    run_cli("validate", path)
    code, data = allocate(path)
    assert code == 0
    assert statuses(path) == {"UNPAID": "待付款", "BAD": "校验失败", "OK": "已配货"}
    assert data["allocated_orders"] == ["OK"]
    assert stock(path)["WS1001"] == (10, 1, 9)


def test_an_order_with_an_unvalidated_line_waits_whole(book_with):
    path = book_with([line("HALF", sku="WS1001"), line("HALF", sku="WS1002", qty=0)])  # qty 0 fails validation
    set_stock(path, {"WS1001": 10, "WS1002": 10})
    run_cli("validate", path)
    code, data = allocate(path)
    assert data["allocated_orders"] == []
    assert {p["code"] for p in data["problems"]} == {"alloc.order_waiting"}
    assert {r["sku"]: r["status"] for r in read_orders(path)} == {"WS1001": "待配货", "WS1002": "校验失败"}
    assert stock(path)["WS1001"] == (10, 0, 10)


def test_line_edited_to_nonsense_after_validation_is_sent_back(book_with):
    path = prepared(book_with, [line("X", qty=1)], {"WS1001": 10})
    edit_orders(path, {("X", "WS1001"): {"qty": "两件"}})
    code, data = allocate(path)
    assert code == 1
    assert [p["code"] for p in data["problems"]] == ["alloc.line_invalid"]
    assert statuses(path) == {"X": "待配货"}     # validate will look at it again
    assert stock(path)["WS1001"] == (10, 0, 10)


# -- re-runs and changes ------------------------------------------------------------------------------
def test_allocate_twice_changes_nothing(book_with):
    path = prepared(book_with, [line("A", paid=0, qty=2), line("B", paid=5, qty=5), line("C", paid=9)],
                    {"WS1001": 3}, {"WS1001": 2})
    allocate(path)
    orders, stock_before, plan = read_orders(path), stock(path), read_sheet(path, SHORTAGES.name)
    code, data = allocate(path)
    assert code == 0
    assert data["allocated_orders"] == [] and data["short_orders"] == ["B"] and data["kept_orders"] == 2
    assert data["cells_changed"] == 0
    assert read_orders(path) == orders and stock(path) == stock_before
    assert read_sheet(path, SHORTAGES.name) == plan
    assert [r[2] for r in read_sheet(path, LOG.name)[1:]] == ["validate", "allocate", "allocate"]


def test_short_order_is_served_when_stock_arrives(book_with):
    path = prepared(book_with, [line("A", qty=2), line("B", paid=5, qty=3)], {"WS1001": 2})
    allocate(path)
    assert statuses(path)["B"] == "缺货"
    set_stock(path, {"WS1001": 5})
    _, data = allocate(path)
    assert data["allocated_orders"] == ["B"] and data["short_orders"] == []
    assert stock(path)["WS1001"] == (5, 5, 0)
    ledger_balances(path)


def test_changed_qty_is_rechecked_not_double_counted(book_with):
    path = prepared(book_with, [line("A", qty=2), line("B", paid=5, qty=1)], {"WS1001": 4})
    allocate(path)
    assert stock(path)["WS1001"] == (4, 3, 1)
    edit_orders(path, {("A", "WS1001"): {"qty": 3, "amount": 267.0}})
    code, data = allocate(path)
    assert code == 0
    assert data["released_orders"] == ["A"] and data["allocated_orders"] == ["A"]
    assert "alloc.released" in {p["code"] for p in data["problems"]}
    assert stock(path)["WS1001"] == (4, 4, 0)      # 3 + 1, not 2 + 3 + 1
    ledger_balances(path)


def test_changed_qty_that_no_longer_fits_becomes_short_and_frees_its_stock(book_with):
    path = prepared(book_with, [line("A", qty=2), line("B", paid=5, qty=3)], {"WS1001": 4})
    allocate(path)
    assert statuses(path) == {"A": "已配货", "B": "缺货"}
    edit_orders(path, {("A", "WS1001"): {"qty": 9, "amount": 801.0}})
    _, data = allocate(path)
    assert data["short_orders"] == ["A"] and data["allocated_orders"] == ["B"]
    assert stock(path)["WS1001"] == (4, 3, 1)
    ledger_balances(path)


def test_changed_sku_moves_the_reservation(book_with):
    path = prepared(book_with, [line("A", qty=2)], {"WS1001": 5, "WS1002": 5})
    allocate(path)
    edit_orders(path, {("A", "WS1001"): {"sku": "WS1002", "unit_price": 59.0, "amount": 118.0}})
    allocate(path)
    assert stock(path)["WS1001"] == (5, 0, 5) and stock(path)["WS1002"] == (5, 2, 3)
    row = read_orders(path)[0]
    assert (row["status"], row["alloc_sku"], row["alloc_qty"]) == ("已配货", "WS1002", 2)


def test_a_line_added_to_an_allocated_order_rechecks_the_whole_order(book_with):
    path = prepared(book_with, [line("A", qty=1)], {"WS1001": 5, "WS1002": 1})
    allocate(path)
    wb = openpyxl.load_workbook(path)
    from pyshipbook.sample import write_orders
    write_orders(wb[ORDERS.name], [line("A", sku="WS1002", qty=2)], start_row=3)
    wb.save(path)
    run_cli("validate", path)
    _, data = allocate(path)
    assert data["released_orders"] == ["A"] and data["short_orders"] == ["A"]
    assert statuses(path) == {"A": "缺货"}
    assert stock(path)["WS1001"] == (5, 0, 5)
    ledger_balances(path)


def test_cancelled_line_releases_its_stock(book_with):
    path = prepared(book_with, [line("A", qty=3), line("B", paid=5, qty=2)], {"WS1001": 3})
    allocate(path)
    assert statuses(path) == {"A": "已配货", "B": "缺货"}
    edit_orders(path, {("A", "WS1001"): {"status": "已取消"}})
    _, data = allocate(path)
    assert data["allocated_orders"] == ["B"]
    rows = {r["order_id"]: r for r in read_orders(path)}
    assert rows["A"]["status"] == "已取消" and rows["A"]["alloc_qty"] is None
    assert stock(path)["WS1001"] == (3, 2, 1)
    ledger_balances(path)


def test_an_order_on_a_slip_is_never_changed_silently(book_with):
    path = prepared(book_with, [line("A", qty=2)], {"WS1001": 5})
    allocate(path)
    run_cli("slips", path)
    edit_orders(path, {("A", "WS1001"): {"qty": 4, "amount": 356.0}})
    code, data = allocate(path)
    assert code == 1
    problem = next(p for p in data["problems"] if p["code"] == "alloc.slip_changed")
    assert "CK20261126-001" in problem["message"]
    row = read_orders(path)[0]
    assert (row["status"], row["alloc_qty"], row["slip_no"]) == ("已开单", 2, "CK20261126-001")
    assert stock(path)["WS1001"] == (5, 2, 3)   # still what the slip holds


def test_cancelled_line_on_a_slip_releases_and_is_reported(book_with):
    path = prepared(book_with, [line("A", qty=2)], {"WS1001": 5})
    allocate(path)
    run_cli("slips", path)
    edit_orders(path, {("A", "WS1001"): {"status": "已取消"}})
    code, data = allocate(path)
    assert code == 0
    assert [p["code"] for p in data["problems"]] == ["alloc.cancelled_on_slip"]
    assert stock(path)["WS1001"] == (5, 0, 5)


def test_shipped_lines_no_longer_count_as_allocated(book_with):
    path = prepared(book_with, [line("A", qty=2)], {"WS1001": 5})
    allocate(path)
    edit_orders(path, {("A", "WS1001"): {"status": "已发货"}})
    allocate(path)
    assert stock(path)["WS1001"][1] == 0


def test_sorting_the_order_sheet_keeps_the_ledger_with_its_lines(book_with):
    path = prepared(book_with, [line("A", qty=1), line("B", paid=5, sku="WS1002", qty=2)],
                    {"WS1001": 5, "WS1002": 5})
    allocate(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=3)]
    for r, values in zip((2, 3), reversed(rows)):   # the user sorts B above A
        for c, v in enumerate(values, 1):
            ws.cell(r, c, v)
    wb.save(path)
    _, data = allocate(path)
    assert data["released_orders"] == [] and data["kept_orders"] == 2
    ledger_balances(path)


# -- the shortage plan ----------------------------------------------------------------------------------
def shortage_rows(path) -> dict[str, dict]:
    rows = read_sheet(path, SHORTAGES.name)
    keys = {c.header: c.key for c in SHORTAGES.columns}
    head = [keys[h] for h in rows[0]]
    return {r[0]: dict(zip(head, r)) for r in rows[1:] if r[0]}


def test_shortage_plan_arithmetic(book_with):
    path = prepared(book_with, [
        line("A", qty=3), line("B", paid=5, qty=4), line("C", paid=6, qty=2),     # WS1001: 5 on hand
        line("D", paid=7, sku="WS1002", qty=1),                                   # WS1002: fine, but low
    ], {"WS1001": 5, "WS1002": 4, "WS1003": 1}, {"WS1001": 10, "WS1002": 5, "WS1003": 2, "WS1004": 0})
    _, data = allocate(path)
    assert data["allocated_orders"] == ["A", "C", "D"] and data["short_orders"] == ["B"]
    plan = shortage_rows(path)
    # WS1001: 5 on hand − 5 allocated = 0 available; B needs 4 -> shortfall 4; + safety 10 -> 14
    assert plan["WS1001"] == {"sku": "WS1001", "name": "玫瑰精华面膜", "demand": 4, "available": 0,
                              "shortfall": 4, "safety_stock": 10, "suggested": 14, "orders": "B", "kind": "缺货"}
    # WS1002: available 3 < safety 5 -> replenish 2; WS1003: available 1 < safety 2 -> 1
    assert (plan["WS1002"]["kind"], plan["WS1002"]["demand"], plan["WS1002"]["shortfall"],
            plan["WS1002"]["suggested"]) == ("补货", 0, 0, 2)
    assert plan["WS1003"]["suggested"] == 1
    assert "WS1004" not in plan                                   # nothing needed
    assert list(plan) == ["WS1001", "WS1002", "WS1003"]           # 缺货 first, then 补货
    short = {s["sku"]: s for s in data["shortages"]}
    assert {k: short["WS1001"][k] for k in ("sku", "demand", "available", "shortfall", "suggested")} == \
        {"sku": "WS1001", "demand": 4, "available": 0, "shortfall": 4, "suggested": 14}


def test_plan_lists_every_waiting_order_and_is_never_appended_twice(book_with):
    path = prepared(book_with, [line("A", qty=5), line("B", paid=5, qty=2), line("C", paid=6, qty=3)],
                    {"WS1001": 4})
    allocate(path)
    allocate(path)
    run_cli("shortages", path)
    rows = read_sheet(path, SHORTAGES.name)
    assert len([r for r in rows[1:] if r[0]]) == 1
    plan = shortage_rows(path)["WS1001"]
    # B (2) was served from 4; A (5) and C (3) wait: demand 8, available 2, shortfall 6
    assert (plan["demand"], plan["available"], plan["shortfall"], plan["orders"]) == (8, 2, 6, "A, C")


def test_shortages_command_rebuilds_the_plan_without_allocating(book_with):
    path = prepared(book_with, [line("A", qty=5), line("B", paid=5, qty=1)], {"WS1001": 3})
    allocate(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHORTAGES.name]
    ws.delete_rows(2, ws.max_row)
    wb.save(path)
    set_stock(path, {"WS1001": 10})          # stock arrives, but nobody pressed 检查库存 yet
    before = read_orders(path)
    code, data = run_cli("shortages", path, "--json")
    assert code == 0
    assert read_orders(path) == before       # nothing allocated
    assert data["shortages"] == [] and shortage_rows(path) == {}
    set_stock(path, {"WS1001": 3})
    code, text = run_cli("shortages", path)
    assert "WS1001" in text and "缺货" in text
    assert shortage_rows(path)["WS1001"]["shortfall"] == 3


def test_json_shape_and_log(book_with):
    path = prepared(book_with, [line("A", qty=2)], {"WS1001": 1})
    code, data = allocate(path, "--as", "王库管")
    assert set(data) >= {"allocated_orders", "short_orders", "shortages"}
    assert data["shortages"][0].keys() >= {"sku", "demand", "available", "shortfall", "suggested"}
    log = read_sheet(path, LOG.name)
    assert log[-1][1:3] == ("王库管", "allocate")


def test_stock_problems_are_reported(book_with):
    path = prepared(book_with, [line("A", qty=1)], {"WS1001": 5})
    wb = openpyxl.load_workbook(path)
    ws = wb[STOCK.name]
    ws.cell(3, STOCK.keys.index("on_hand") + 1, "很多")     # WS1002
    wb.save(path)
    code, data = allocate(path)
    assert code == 1
    assert [p["code"] for p in data["problems"]] == ["stock.on_hand_invalid"]
    assert data["allocated_orders"] == ["A"]


@pytest.mark.parametrize("formula", ["=E2-F2"])
def test_a_formula_in_available_is_kept(book_with, formula):
    path = prepared(book_with, [line("A", qty=1)], {"WS1001": 5})
    wb = openpyxl.load_workbook(path)
    wb[STOCK.name].cell(2, STOCK.keys.index("available") + 1, formula)
    wb.save(path)
    allocate(path)
    ws = openpyxl.load_workbook(path)[STOCK.name]
    assert ws.cell(2, STOCK.keys.index("available") + 1).value == formula
    assert ws.cell(2, STOCK.keys.index("allocated") + 1).value == 1
