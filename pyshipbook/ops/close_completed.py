"""完成订单 (close-completed): orders signed for long enough ago become 已完成.

A line that is 已签收 with a 签收时间 at least N days ago (设置 签收后完成天数, default 7; `--days N`
overrides) becomes 已完成, unless its order has a line in after-sales (状态 售后): an open
after-sales case holds the whole order. A 已签收 line without a readable 签收时间 cannot be judged:
it stays and is reported (warning). Running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..book.interface import Book
from ..book.schema import ORDERS, SETTING_BY_KEY
from ..domain import normalize as nz
from ..domain.cells import text
from ..domain.codes import Problem
from ..domain.lifecycle import S_AFTER_SALES, S_COMPLETED, S_DELIVERED
from ..domain.shipping_codes import COMPLETE_CODES as CODES  # noqa: F401 (the codes this command reports)
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "close-completed"
BUTTON = "close_completed"
HELP = "完成订单 / lines signed for N days ago (设置 签收后完成天数, 7) without after-sales become 已完成"
DEFAULT_DAYS = 7


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--days", type=int, default=None, metavar="N",
                        help="签收后多少天完成 (默认 设置 签收后完成天数) / days after delivery (default: 设置)")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    if args.days is not None and args.days < 0:
        raise ShipbookError("--days 须为非负整数", "--days must be a whole number ≥ 0")
    with open_book(args.book) as book:
        return run(book, ctx, days=args.days)


def run(book: Book, ctx: Context, days: int | None = None) -> Result:
    item = SETTING_BY_KEY["complete_after_days"].item
    if days is None:
        raw = (book.read_settings().get("complete_after_days") or "").strip() or str(DEFAULT_DAYS)
        parsed = nz.parse_int(raw)
        if not (isinstance(parsed, int) and not isinstance(parsed, bool) and parsed >= 0):
            zh = f"设置「{item}」的值「{raw}」无效, 未完成任何订单"
            en = f"设置 / {item} (complete_after_days) holds '{raw}', not a whole number ≥ 0; nothing completed"
            result = Result(COMMAND, EXIT_PROBLEMS, zh, en,
                            {"days": None, "completed_orders": [], "problems": [
                                Problem("complete.days_invalid", detail=raw).as_dict()]})
            log_operation(book, ctx, result)
            return result
        days = parsed
    table = book.read_table(ORDERS, required=("order_id", "status"))
    frame = table.frame
    oid = frame["order_id"].map(text)
    status = frame["status"].map(lambda v: text(v) or "")
    held = set(oid[(status == S_AFTER_SALES).to_numpy()].dropna())
    limit = ctx.clock - dt.timedelta(days=days)
    rows, problems, waiting_after_sales = [], [], []
    for r in frame.index[(status == S_DELIVERED).to_numpy()]:
        o = oid[r]
        when = nz.parse_datetime(frame.at[r, "delivered_at"], ref_year=ctx.clock.year)
        if not isinstance(when, dt.datetime):
            problems.append(Problem("complete.delivered_at_missing", int(r), o).as_dict())
            continue
        if when > limit:
            continue
        if o in held:
            waiting_after_sales.append(o)
            continue
        rows.append(r)
    if rows:
        book.write_columns(table, pd.DataFrame({"status": [S_COMPLETED] * len(rows)}, index=rows, dtype=object))
    done = list(dict.fromkeys(oid.loc[rows].tolist())) if rows else []
    held_orders = list(dict.fromkeys(waiting_after_sales))
    zh = f"完成订单: {len(done)} 单 ({len(rows)} 行) 签收满 {days} 天, 状态改为 已完成"
    en = f"close completed: {len(done)} orders ({len(rows)} lines) signed for {days}+ days ago are now 已完成"
    if held_orders:
        zh += f"; {len(held_orders)} 单有售后, 暂不完成"
        en += f"; {len(held_orders)} held by after-sales"
    if problems:
        zh += f"; {len(problems)} 行缺签收时间"
        en += f"; {len(problems)} lines without 签收时间"
    data = {"days": days, "before": limit.isoformat(sep=" "), "completed_orders": done,
            "lines": [int(r) for r in rows], "held_by_after_sales": held_orders, "problems": problems}
    result = Result(COMMAND, EXIT_OK, zh, en, data, rows=len(rows))
    log_operation(book, ctx, result, f"--days {days}")
    return result
