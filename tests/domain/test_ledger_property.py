"""The stock ledger always balances, over random order books and random edits between runs.

For every SKU, 已分配 = the sum of 配货数量 over lines holding stock (已配货, 已开单,
待发货), and 可用 = 库存数量 − 已分配. Checked on the pure functions over many random
frames (hypothesis), and on fewer examples through real workbook files and the CLI.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import read_orders, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.book.schema import HOLDING_STATUSES, ORDERS, STOCK
from pyshipbook.domain import allocation as al
from pyshipbook.domain import slips as sl

T = dt.datetime(2026, 11, 26, 8, 0)
SKUS = ["X", "Y", "Z", "W"]

line_st = st.fixed_dictionaries({
    "sku": st.sampled_from(SKUS),
    "qty": st.integers(1, 4),
})
order_st = st.fixed_dictionaries({
    "lines": st.lists(line_st, min_size=1, max_size=3),
    "pay": st.sampled_from(["已付款", "已付款", "货到付款", "未付款"]),
    "paid": st.integers(0, 120),
    "ordered": st.integers(0, 120),
    "status": st.sampled_from(["待配货", "待配货", "待配货", "缺货", "待付款", "校验失败"]),
})
book_st = st.fixed_dictionaries({
    "orders": st.lists(order_st, min_size=0, max_size=10),
    "on_hand": st.fixed_dictionaries({s: st.integers(0, 12) for s in SKUS}),
    "safety": st.fixed_dictionaries({s: st.integers(0, 4) for s in SKUS}),
})
event_st = st.tuples(st.sampled_from(["qty", "sku", "cancel", "stock", "slip", "ship", "add", "status"]),
                     st.integers(0, 10 ** 6), st.integers(0, 10 ** 6))


def raw_orders(book: dict) -> pd.DataFrame:
    data = []
    for i, o in enumerate(book["orders"]):
        paid = o["pay"] == "已付款"
        status = "待付款" if o["pay"] == "未付款" and o["status"] in ("待配货", "缺货") else o["status"]
        for ln in o["lines"]:
            rec = {"order_id": f"O{i}", "sku": ln["sku"], "qty": ln["qty"], "payment_status": o["pay"],
                   "paid_at": T + dt.timedelta(minutes=o["paid"]) if paid else None,
                   "ordered_at": T + dt.timedelta(minutes=o["ordered"]), "status": status,
                   "check": "OK", "recipient": f"R{i}", "phone": "13812345678", "address": "地址"}
            data.append([rec.get(k) for k in ORDERS.keys])
    return pd.DataFrame(data, columns=ORDERS.keys, index=pd.Index(range(2, 2 + len(data)), name="row"),
                        dtype=object)


def raw_stock(on_hand: dict, safety: dict) -> pd.DataFrame:
    data = [[{"sku": s, "on_hand": on_hand[s], "safety_stock": safety[s], "name": s}.get(k) for k in STOCK.keys]
            for s in SKUS]
    return pd.DataFrame(data, columns=STOCK.keys, index=pd.Index(range(2, 2 + len(SKUS)), name="row"), dtype=object)


def apply(raw: pd.DataFrame, a: al.Allocation) -> pd.DataFrame:
    out = raw.copy()
    out["status"] = a.status
    out["alloc_sku"] = a.alloc_sku
    out["alloc_qty"] = a.alloc_qty
    return out


def check_invariants(lines: pd.DataFrame, stock: pd.DataFrame, a: al.Allocation) -> None:
    status, asku, aqty = a.status, a.alloc_sku, a.alloc_qty
    hold = status.isin(HOLDING_STATUSES)
    # the ledger balances
    for sku in stock.index:
        held = sum(int(q) for s, q, h in zip(asku, aqty, hold) if h and s == sku and q is not None)
        assert a.position.loc[sku, "allocated"] == held, sku
        assert a.position.loc[sku, "available"] == stock.loc[sku, "on_hand"] - held, sku
    # every holding line says what it holds; lines in play that hold nothing carry no ledger
    assert all(q is not None for q in aqty[hold])
    idle = status.isin(al.OPEN_STATUSES | al.WAITING_STATUSES | {"已取消"})
    assert all(q is None for q in aqty[idle])
    # an allocated (not yet slipped) line holds exactly its SKU and quantity
    mine = status == "已配货"
    assert ((asku[mine] == lines["sku"][mine]) & (aqty[mine] == lines["qty"][mine])).all()
    # lines on a slip whose content moved away from their reservation are reported, never silently changed
    moved = status.isin(al.ON_SLIP_STATUSES) & ((asku != lines["sku"]) | (aqty != lines["qty"]))
    reported = {i.row for i in a.issues if i.code == "alloc.slip_changed"}
    assert set(moved[moved].index) <= reported
    # whole orders: no order is partly allocated and partly waiting
    key = al.order_keys(lines)
    for k in pd.unique(key):
        states = set(status[key == k])
        assert not ("已配货" in states and states & {"缺货", "待配货"}), (k, states)
    # a short order could not have been served from what is left
    for k in a.short_orders:
        need = lines[(key == k).to_numpy()].groupby("sku")["qty"].sum()
        assert any(q > a.position.loc[s, "available"] for s, q in need.items()), k
    # whatever this run allocated came out of stock that was there
    new = [k for k in a.allocated_orders]
    for k in new:
        for s in lines.loc[(key == k).to_numpy(), "sku"]:
            assert a.position.loc[s, "available"] >= 0, (k, s)


def simulate_event(raw: pd.DataFrame, on_hand: dict, event, slip_counter: list[int]) -> pd.DataFrame:
    """One thing people do between two runs of 检查库存."""
    kind, x, y = event
    raw = raw.copy()
    if raw.empty and kind != "stock":
        return raw
    r = raw.index[x % len(raw)] if len(raw) else None
    if kind == "qty":
        raw.at[r, "qty"] = 1 + y % 5
    elif kind == "sku":
        raw.at[r, "sku"] = SKUS[y % len(SKUS)]
    elif kind == "cancel":
        raw.at[r, "status"] = "已取消"
    elif kind == "stock":
        s = SKUS[x % len(SKUS)]
        on_hand[s] = max(0, on_hand[s] + (y % 9) - 3)
    elif kind == "status":   # validate moved a waiting line forward
        if raw.at[r, "status"] in ("待付款", "校验失败"):
            raw.at[r, "status"] = "待配货"
            raw.at[r, "payment_status"] = "货到付款"
    elif kind == "slip":     # 生成出库单 through the real planner
        lines = al.order_lines(raw)
        stock, _ = al.stock_table(raw_stock(on_hand, dict.fromkeys(SKUS, 0)))
        plan = sl.plan_slips(lines, stock, max_orders=1 + y % 3)
        if plan.groups:
            slip_counter[0] += 1
            numbers = [f"CK20261126-{slip_counter[0]:03d}-{i}" for i in range(len(plan.groups))]
            for d in sl.draft_slips(plan, stock, numbers):
                raw.loc[d.lines.index, "status"] = "已开单"
                raw.loc[d.lines.index, "slip_no"] = d.slip_no
    elif kind == "ship":     # a signed slip ships: the goods leave the shelf
        on_slip = raw.index[raw["status"].isin(["已开单", "待发货"]).to_numpy()]
        if len(on_slip):
            slip = raw.at[on_slip[x % len(on_slip)], "slip_no"]
            for row in raw.index[(raw["slip_no"] == slip).to_numpy()]:
                if raw.at[row, "status"] in ("已开单", "待发货"):
                    raw.at[row, "status"] = "已发货"
                    s = raw.at[row, "alloc_sku"]
                    on_hand[s] -= int(raw.at[row, "alloc_qty"])
    elif kind == "add":      # a new line on an existing order
        new = raw.loc[r].copy()
        new["sku"], new["qty"] = SKUS[y % len(SKUS)], 1 + y % 3
        new["status"] = "待配货" if new["payment_status"] != "未付款" else "待付款"
        new["alloc_sku"] = new["alloc_qty"] = new["slip_no"] = None
        raw.loc[raw.index.max() + 1] = new
    return raw


@settings(max_examples=100, deadline=None)
@given(book=book_st, events=st.lists(event_st, max_size=6))
def test_ledger_balances_over_random_books_and_edits(book, events):
    raw = raw_orders(book)
    on_hand = dict(book["on_hand"])
    counter = [0]
    for step in range(len(events) + 1):
        stock, _ = al.stock_table(raw_stock(on_hand, book["safety"]))
        lines = al.order_lines(raw)
        a = al.allocate(lines, stock)
        check_invariants(lines, stock, a)
        raw = apply(raw, a)
        # running it again changes nothing
        again = al.allocate(al.order_lines(raw), stock)
        assert again.status.tolist() == a.status.tolist()
        assert again.alloc_sku.tolist() == a.alloc_sku.tolist() and again.alloc_qty.tolist() == a.alloc_qty.tolist()
        assert again.allocated_orders == [] and again.released_orders == []
        plan = al.shortage_plan(lines, a.status, stock, a.position)
        assert (plan["suggested"] >= plan["shortfall"]).all()
        assert ((plan["kind"] == "缺货") == (plan["shortfall"] > 0)).all()
        if step < len(events):
            raw = simulate_event(raw, on_hand, events[step], counter)


# -- through real files ------------------------------------------------------------------------------------------
def file_ledger_balances(path: Path) -> None:
    held: dict[str, int] = {}
    for r in read_orders(path):
        if r["status"] in HOLDING_STATUSES:
            held[r["alloc_sku"]] = held.get(r["alloc_sku"], 0) + r["alloc_qty"]
            if r["status"] == "已配货":
                assert (r["alloc_sku"], r["alloc_qty"]) == (r["sku"], r["qty"])
    ws = openpyxl.load_workbook(path)[STOCK.name]
    cols = [STOCK.keys.index(k) for k in ("sku", "on_hand", "allocated", "available")]
    for row in ws.iter_rows(min_row=2, values_only=True):
        sku, on_hand, allocated, available = (row[c] for c in cols)
        if sku:
            assert allocated == held.get(sku, 0), sku
            assert available == (on_hand or 0) - allocated, sku


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=book_st.filter(lambda b: b["orders"]), edits=st.lists(st.tuples(st.integers(0, 99), st.integers(1, 5)),
                                                                  max_size=3))
def test_ledger_balances_in_real_files(book, edits):
    from pyshipbook.sample import make_book, stock_rows
    from conftest import good_line
    names = [r["sku"] for r in stock_rows()][:len(SKUS)]
    rename = dict(zip(SKUS, names))
    prices = {r["sku"]: r["list_price"] for r in stock_rows()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        make_book(path)
        wb = openpyxl.load_workbook(path)
        ws = wb[ORDERS.name]
        col = {k: ORDERS.keys.index(k) + 1 for k in ORDERS.keys}
        r = 2
        for i, o in enumerate(book["orders"]):
            for j, ln in enumerate(o["lines"]):
                sku = rename[ln["sku"]]
                rec = good_line(order_id=f"O{i}", sku=sku, spec=f"s{j}", product_name=None, qty=ln["qty"],
                                unit_price=prices[sku], amount=round(prices[sku] * ln["qty"], 2),
                                payment_status=o["pay"], phone=f"1381234{i:04d}",
                                paid_at=T + dt.timedelta(minutes=o["paid"]) if o["pay"] == "已付款" else None,
                                ordered_at=T + dt.timedelta(minutes=o["ordered"]))
                for k, v in rec.items():
                    ws.cell(r, col[k], v)
                r += 1
        s = wb[STOCK.name]
        for row in range(2, s.max_row + 1):
            sku = s.cell(row, 1).value
            s.cell(row, STOCK.keys.index("on_hand") + 1,
                   book["on_hand"].get(dict(zip(names, SKUS)).get(sku), 0))
        wb.save(path)
        run_cli("validate", path)
        code, data = run_cli("allocate", path, "--json")
        assert code == 0, data
        file_ledger_balances(path)
        run_cli("slips", path, "--max-orders", "2")
        for row, qty in edits:       # people edit quantities of any line, slipped or not
            wb = openpyxl.load_workbook(path)
            ws = wb[ORDERS.name]
            target = 2 + row % (ws.max_row - 1)
            ws.cell(target, col["qty"], qty)
            wb.save(path)
        run_cli("allocate", path)
        file_ledger_balances(path)   # slipped lines keep what their slip reserved

