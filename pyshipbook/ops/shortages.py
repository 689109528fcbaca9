"""缺货 (shortages): rebuild and print the shortage / production-purchase plan without allocating.

Demand comes from lines that are 缺货 now; 可用 is recomputed from the stock
ledger (库存数量 − 已分配 over lines holding stock), exactly as 检查库存 would
leave it. Nothing but the 缺货 sheet (and 日志) is written.
"""

from __future__ import annotations

from ..book.interface import Book
from ..domain import allocation as al
from ..domain.lifecycle import SHORT_KIND
from .allocate import plan_data, plan_summary, read_state, write_plan
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "shortages"
BUTTON = "shortages"
HELP = "缺货 / rebuild and show the shortage plan (demand, available, shortfall, suggested production/purchase)"


def run(book: Book, ctx: Context) -> Result:
    _, _, lines, stock, issues = read_state(book, ctx)
    position = al.stock_position(stock, lines["status"], lines["alloc_sku"], lines["alloc_qty"])
    plan = al.shortage_plan(lines, lines["status"], stock, position)
    rewritten = write_plan(book, plan)
    zh, en = plan_summary(plan, limit=20)
    short = plan[plan["kind"] == SHORT_KIND]
    errors = sum(i.severity == "error" for i in issues)
    data = {"shortages": plan_data(plan), "short_skus": len(short), "below_safety": len(plan) - len(short),
            "suggested_total": int(plan["suggested"].sum()) if len(plan) else 0, "rewritten": rewritten,
            "problems": [i.as_dict() for i in issues]}
    result = Result(COMMAND, EXIT_PROBLEMS if errors else EXIT_OK, zh, en, data, rows=len(plan))
    log_operation(book, ctx, result)
    return result
