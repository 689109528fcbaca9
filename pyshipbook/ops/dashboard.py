"""看板 (dashboard): rebuild the 看板 sheet — figures by status, today, shortages, signatures, anomalies, a chart.

Reads 订单 and, when they exist and hold rows, 出库单, 物流跟踪 and 缺货;
writes only 看板 (its whole body and its one chart, rebuilt on every run)
and the 日志 row. The figures are computed in domain/dashboard.py.
"""

from __future__ import annotations

from ..book.interface import Book, ChartSpec
from ..book.schema import DASHBOARD, ORDERS, SHORTAGES, SLIPS, TRACKING, Sheet
from ..domain import dashboard as db
from .common import EXIT_OK, Context, Result, log_operation

COMMAND = "dashboard"
BUTTON = "dashboard"
HELP = "看板 / rebuild the dashboard: orders by status, today's work, shortages, signatures, anomalies, chart"
REQUIRED = ("order_id", "status")


def _optional(book: Book, sheet: Sheet):
    return book.read_table(sheet).frame if book.has_sheet(sheet) else None


def run(book: Book, ctx: Context) -> Result:
    orders = book.read_table(ORDERS, required=REQUIRED)
    ctx.report(0, len(orders.frame), "看板 / dashboard")
    board = db.build(orders.frame, now=ctx.clock, slips=_optional(book, SLIPS), tracking=_optional(book, TRACKING),
                     shortages=_optional(book, SHORTAGES), user=ctx.identity.name)
    book.replace_rows(DASHBOARD, board.frame())
    # the chart draws from the series table just written: find its rows on the sheet
    written = book.read_table(DASHBOARD).frame
    labels = board.series_items
    tail = written.iloc[-len(labels):]
    if [str(v) for v in tail["item"]] != labels:  # an adapter bug, not bad input
        raise RuntimeError("看板: the 14-day table is not where it was written")
    first, last = int(tail.index[0]), int(tail.index[-1])
    book.set_charts(DASHBOARD, [ChartSpec(
        title=db.SERIES_TITLE, category_key="item", value_key="value", first_row=first, last_row=last,
        kind="bar", series_title="发货订单数", x_title="发货日期", y_title="订单数")])
    ctx.report(len(orders.frame), len(orders.frame), "看板 / dashboard")

    data = board.data
    lines = sum(data["lines_by_status"].values())
    n_orders = sum(data["orders_by_status"].values())
    t = data["today"]
    zh = (f"看板已更新: {lines} 行 {n_orders} 单; 今日付款 {t['paid']['orders']} 单, 发货 {t['shipped']['orders']} 单, "
          f"签收 {t['delivered']['orders']} 单; 缺货 {len(data['shortages'])} 个商品, "
          f"待签字出库单 {len(data['awaiting_signature'])} 张, 发货超 {db.STALE_DAYS} 天无跟踪 "
          f"{len(data['stale_shipments'])} 单")
    en = (f"dashboard rebuilt: {lines} lines, {n_orders} orders; today paid {t['paid']['orders']}, shipped "
          f"{t['shipped']['orders']}, delivered {t['delivered']['orders']} orders; {len(data['shortages'])} SKUs "
          f"short, {len(data['awaiting_signature'])} slips awaiting a signature, "
          f"{len(data['stale_shipments'])} orders shipped over {db.STALE_DAYS} days ago without tracking")
    data = {**data, "chart": {"title": db.SERIES_TITLE, "rows": [first, last]}}
    result = Result(COMMAND, EXIT_OK, zh, en, data, rows=len(board.rows))
    log_operation(book, ctx, result)
    return result
