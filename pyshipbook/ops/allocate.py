"""检查库存 (allocate): allocate 库存 to paid, validated orders, whole orders first come first served.

Writes 订单 状态 / 配货编码 / 配货数量, 库存 已分配 / 可用 (recomputed from the
ledger, see domain/allocation.py) and rebuilds 缺货.
"""

from __future__ import annotations

import pandas as pd

from ..book.interface import Book, Table
from ..book.schema import ORDERS, SHORTAGES, STOCK
from ..domain import allocation as al
from ..domain.codes import Problem
from ..domain.lifecycle import SHORT_KIND
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "allocate"
BUTTON = "allocate"
HELP = "检查库存 / check stock and allocate it to paid, validated orders (whole orders, first paid first served)"
REQUIRED = ("order_id", "sku", "qty")
STOCK_REQUIRED = ("sku", "on_hand")


def read_state(book: Book, ctx: Context) -> tuple[Table, Table, pd.DataFrame, pd.DataFrame, list[Problem]]:
    """订单 and 库存 as read, and their cleaned forms for the domain."""
    orders = book.read_table(ORDERS, required=REQUIRED)
    stock_t = book.read_table(STOCK, required=STOCK_REQUIRED)
    stock, issues = al.stock_table(stock_t.frame)
    lines = al.order_lines(orders.frame, ref_year=ctx.clock.year)
    return orders, stock_t, lines, stock, issues


def write_stock_position(book: Book, stock_t: Table, stock: pd.DataFrame, position: pd.DataFrame) -> int:
    """已分配 and 可用 on the 库存 row of each SKU (the first row when a SKU is listed twice)."""
    rows = stock["row"].to_numpy()
    out = pd.DataFrame({"allocated": position["allocated"].astype(object).to_numpy(),
                        "available": position["available"].astype(object).to_numpy()},
                       index=pd.Index(rows, name="row"), dtype=object)
    out = out.map(int)
    return book.write_columns(stock_t, out.astype(object)) if len(out) else 0


def plan_frame(plan: pd.DataFrame) -> pd.DataFrame:
    """The shortage plan as 缺货 rows (contract keys)."""
    out = plan[["sku", "name", "demand", "available", "shortfall", "safety_stock", "suggested"]].copy()
    out["orders"] = plan["orders"].map(al.orders_text)
    out["kind"] = plan["kind"]
    out = out.astype(object)
    for key in ("demand", "available", "shortfall", "safety_stock", "suggested"):
        out[key] = out[key].map(int)
    return out.reindex(columns=[c.key for c in SHORTAGES.columns])


def write_plan(book: Book, plan: pd.DataFrame) -> bool:
    """Rebuild 缺货 from the plan; left alone when it already says exactly this. True if rewritten."""
    frame = plan_frame(plan)
    if book.has_sheet(SHORTAGES):
        current = book.read_table(SHORTAGES).frame
        if _same_rows(current, frame):
            return False
    book.replace_rows(SHORTAGES, frame)
    return True


def _same_rows(current: pd.DataFrame, frame: pd.DataFrame) -> bool:
    if len(current) != len(frame):
        return False
    a = current.reset_index(drop=True).astype(object).where(current.reset_index(drop=True).notna(), None)
    b = frame.reset_index(drop=True).astype(object)
    for key in frame.columns:
        for x, y in zip(a[key].tolist(), b[key].tolist()):
            if (x in (None, "")) and (y in (None, "")):
                continue
            if isinstance(x, float) and isinstance(y, int) and x == y:
                continue
            if x != y:
                return False
    return True


def plan_data(plan: pd.DataFrame) -> list[dict]:
    return [{"sku": r.sku, "name": r.name, "kind": r.kind, "demand": int(r.demand), "available": int(r.available),
             "shortfall": int(r.shortfall), "safety_stock": int(r.safety_stock), "suggested": int(r.suggested),
             "orders": list(r.orders)} for r in plan.itertuples(index=False)]


def plan_summary(plan: pd.DataFrame, limit: int = 5) -> tuple[str, str]:
    short = plan[plan["kind"] == SHORT_KIND]
    low = plan[plan["kind"] != SHORT_KIND]
    zh = f"缺货 {len(short)} 种商品, 低于安全库存 {len(low)} 种"
    en = f"{len(short)} SKUs short, {len(low)} below safety stock"
    for r in plan.head(limit).itertuples(index=False):
        zh += f"\n  {r.sku} {r.name or ''}: {r.kind} 需求 {r.demand} 可用 {r.available} 缺口 {r.shortfall} " \
              f"建议生产/采购 {r.suggested}"
    if len(plan) > limit:
        zh += f"\n  … 另有 {len(plan) - limit} 种 (见「{SHORTAGES.name}」表)"
    return zh, en


def run(book: Book, ctx: Context) -> Result:
    orders, stock_t, lines, stock, stock_issues = read_state(book, ctx)
    ctx.report(0, len(lines), "检查库存 / allocating")
    a = al.allocate(lines, stock)

    raw_status = orders.frame["status"]
    status = raw_status.where(a.status == lines["status"], a.status)   # untouched cells keep their text
    out = pd.DataFrame({"status": status, "alloc_sku": a.alloc_sku, "alloc_qty": a.alloc_qty},
                       index=orders.frame.index, dtype=object)
    same_ledger = (a.alloc_sku.fillna("") == lines["alloc_sku"].fillna("")) & \
        (a.alloc_qty.astype(object).fillna(-1) == lines["alloc_qty"].astype(object).fillna(-1))
    out["alloc_sku"] = orders.frame["alloc_sku"].where(same_ledger, a.alloc_sku)
    out["alloc_qty"] = orders.frame["alloc_qty"].where(same_ledger, a.alloc_qty)
    out = out[[k for k in out.columns if k in orders.present or out[k].notna().any()]]
    changed = book.write_columns(orders, out) if len(out.columns) else 0
    changed += write_stock_position(book, stock_t, stock, a.position)
    plan = al.shortage_plan(lines, a.status, stock, a.position)
    write_plan(book, plan)
    ctx.report(len(lines), len(lines), "检查库存 / allocating")

    issues = stock_issues + a.issues
    errors = sum(i.severity == "error" for i in issues)
    n_short = len(a.short_orders)
    zh = (f"配货 {len(a.allocated_orders)} 单, 缺货 {n_short} 单, 保持 {a.kept_orders} 单"
          + (f", 重新检查 {len(a.released_orders)} 单" if a.released_orders else "")
          + (f"; {errors} 个问题" if errors else ""))
    en = (f"allocated {len(a.allocated_orders)} orders, {n_short} short, {a.kept_orders} kept"
          + (f", {len(a.released_orders)} re-checked" if a.released_orders else "")
          + (f"; {errors} problems" if errors else ""))
    if len(plan):
        pz, pe = plan_summary(plan)
        zh += "; " + pz
        en += "; " + pe
    data = {"allocated_orders": a.allocated_orders, "short_orders": a.short_orders,
            "shortages": plan_data(plan), "released_orders": a.released_orders, "kept_orders": a.kept_orders,
            "cells_changed": changed, "problems": [i.as_dict() for i in issues]}
    result = Result(COMMAND, EXIT_PROBLEMS if errors else EXIT_OK, zh, en, data,
                    rows=int((a.status != lines["status"]).sum()))
    log_operation(book, ctx, result)
    return result
