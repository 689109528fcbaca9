"""每日流水 (run): the morning pipeline in one go, on one open workbook.

validate → allocate → slips → close-completed → dashboard. One load, one
safe save: either the whole pipeline's changes land or none do. Each step
logs its own 日志 row as when run alone, and the run logs one more.
"""

from __future__ import annotations

import importlib

from ..book.interface import Book
from .common import EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "run"
HELP = "每日流水 / the morning pipeline: validate, allocate, slips, close completed orders, dashboard"
# (ops module, label); a module not in this version is skipped and said so
STEPS = (("validate", "校验 / validate"), ("allocate", "检查库存 / allocate"), ("slips", "生成出库单 / slips"),
         ("close_completed", "完成订单 / close completed"), ("dashboard", "看板 / dashboard"))


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file")
    parser.add_argument("--max-orders", type=int, default=None,
                        help="每张出库单最多订单数 / at most N orders per slip")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    with open_book(args.book) as book:
        return run(book, ctx, max_orders=args.max_orders)


def run(book: Book, ctx: Context, max_orders: int | None = None) -> Result:
    results: list[Result] = []
    skipped: list[str] = []
    for i, (name, label) in enumerate(STEPS):
        ctx.report(i, len(STEPS), label)
        try:
            mod = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError:
            skipped.append(name)
            continue
        kwargs = {"max_orders": max_orders} if name == "slips" else {}
        results.append(mod.run(book, ctx, **kwargs))
    ctx.report(len(STEPS), len(STEPS), "完成 / done")
    worst = max((r.exit_code for r in results), default=EXIT_OK)
    code = EXIT_PROBLEMS if worst >= EXIT_PROBLEMS else EXIT_OK
    if worst >= EXIT_FAILED:
        code = EXIT_FAILED
    zh = "\n".join(f"[{r.operation}] {r.zh}" for r in results)
    en = "\n".join(f"[{r.operation}] {r.en}" for r in results)
    if skipped:
        zh += "\n本版本没有的步骤: " + ", ".join(skipped)
        en += "\nsteps not in this version: " + ", ".join(skipped)
    result = Result(COMMAND, code, zh, en,
                    {"steps": {r.operation: {"exit_code": r.exit_code, **r.data} for r in results},
                     "skipped": skipped,
                     "problems": next((r.data.get("problems", []) for r in results if r.operation == "validate"),
                                      [])},
                    rows=max((r.rows for r in results), default=0))
    log_operation(book, ctx, result, ",".join(r.operation for r in results))
    return result
