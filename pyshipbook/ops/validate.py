"""校验 (validate): check every order line, normalise, write 校验结果 and 状态."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..book.interface import Book, Highlight
from ..book.schema import ORDERS, STOCK
from ..domain.problems import CODES
from ..domain.validate import FORMULA_CHECKED, stock_index, validate_lines
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "validate"
BUTTON = "validate"
HELP = "校验订单 / check every order line and write 校验结果 and 状态"
REQUIRED = ("order_id", "ordered_at", "recipient", "phone", "address", "sku", "qty", "unit_price")
HEADER = {c.key: c.header for c in ORDERS.columns}
# columns validate writes back (normalised values, fills, results)
WRITTEN = ("order_id", "ordered_at", "channel", "customer", "recipient", "phone", "province", "city", "district",
           "address", "sku", "product_name", "spec", "qty", "unit_price", "amount", "payment_status", "paid_at",
           "remark", "status", "check")


def highlights() -> list[Highlight]:
    """One rule per highlighted column; column-specific codes search '(表头) [code]'."""
    out: list[Highlight] = []
    by_col: dict[tuple[str, str], list[str]] = {}
    for code in CODES.values():
        if code.code in ("date.invalid", "cell.formula"):
            continue
        by_col.setdefault((code.column, code.severity), []).append(f"[{code.code}]")
    for key in ("ordered_at", "paid_at"):
        by_col.setdefault((key, "error"), []).append(f"({HEADER[key]}) [date.invalid]")
    for key in FORMULA_CHECKED:
        by_col.setdefault((key, "warning"), []).append(f"({HEADER[key]}) [cell.formula]")
    for (col, severity), tokens in by_col.items():
        out.append(Highlight(col, tuple(tokens), severity))
    return out


def run(book: Book, ctx: Context) -> Result:
    orders = book.read_table(ORDERS, required=REQUIRED)
    stock = book.read_table(STOCK, required=("sku",))
    big = len(orders.frame) >= 2000  # a progress bar only where one helps
    if big:
        ctx.report(0, len(orders.frame), "校验 / validating")
    from ..book import region_cache  # regions parsed by earlier runs (the user's cache folder)
    regions = region_cache.load()
    known = len(regions)
    v = validate_lines(orders.frame, stock_index(stock.frame), today=ctx.clock.date(),
                       formula_cells=orders.formula_cells, region_cache=regions, headers=HEADER)
    if len(regions) > known:
        region_cache.save(regions)
    out = v.lines.norm.reindex(columns=[k for k in WRITTEN if k in v.lines.norm.columns]).copy()
    out["status"] = v.status
    out["check"] = v.check
    # columns the user never had are only added when they carry something
    out = out[[k for k in out.columns if k in orders.present or out[k].notna().any()]]
    changed = book.write_columns(orders, out)
    if len(orders.frame):
        book.set_highlights(orders, "check", highlights())
    if big:
        ctx.report(len(orders.frame), len(orders.frame), "校验 / validating")
    problems = [replace(p, order=_text(orders.frame.at[p.row, "order_id"])).as_dict() for p in v.problems]
    n = len(orders.frame)
    by_status = v.status.value_counts().to_dict()
    zh = (f"校验 {n} 行: {v.errors} 个错误, {v.warnings} 个警告; "
          + ", ".join(f"{k} {c}" for k, c in by_status.items()))
    en = f"validated {n} lines: {v.errors} errors, {v.warnings} warnings; {changed} cells updated"
    result = Result(COMMAND, EXIT_PROBLEMS if v.errors else EXIT_OK, zh, en,
                    {"lines": n, "errors": v.errors, "warnings": v.warnings, "cells_changed": changed,
                     "statuses": {str(k): int(c) for k, c in by_status.items()}, "problems": problems},
                    rows=n)
    log_operation(book, ctx, result)
    return result


def _text(v):
    """The order id as the cell holds it (not cleaned: --json names the order as the user typed it)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
