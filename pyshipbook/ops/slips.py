"""生成出库单 (slips): put every allocated order not yet on a slip onto a new outbound slip.

One 出库单 row per slip (number CKyyyymmdd-NNN, never reused; maker = who runs
it; content fingerprint; state 待签字), its lines in 出库明细 in pick order
(库位, then SKU); the order lines become 已开单 and carry the slip number.
"""

from __future__ import annotations

import pandas as pd

from ..book.interface import Book
from ..book.schema import LOG, SIGNATURES, SLIP_LINES, SLIPS
from ..domain import slips as sl
from ..domain.lifecycle import S_ON_SLIP, SLIP_AWAIT_SIGNATURE
from .allocate import read_state
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "slips"
BUTTON = "slips"
HELP = "生成出库单 / make outbound slips (出库单) for allocated orders not yet on one"


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--max-orders", type=int, default=None, metavar="N",
                        help="每张出库单最多 N 单 / at most N orders per slip (split a large batch)")
    parser.add_argument("--reissue", metavar="SLIP", default=None,
                        help="重新开出内容已改动的出库单 (同号, 新指纹, 需重新签字) / "
                             "re-issue a changed slip: same number, new fingerprint, to be signed again")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    if args.max_orders is not None and args.max_orders < 1:
        from ..errors import ShipbookError
        raise ShipbookError("--max-orders 须为正整数", "--max-orders must be a positive whole number")
    with open_book(args.book) as book:
        if args.reissue:
            from .reissue import reissue
            return reissue(book, ctx, args.reissue)
        return run(book, ctx, max_orders=args.max_orders)


def numbers_seen(book: Book, lines: pd.DataFrame) -> list[object]:
    """Every text that may hold a slip number already issued (slip sheets, 订单, 日志, 设置)."""
    seen: list[object] = list(lines["slip_no"].dropna())
    for sheet in (SLIPS, SLIP_LINES, SIGNATURES):
        if book.has_sheet(sheet):
            seen += book.read_table(sheet).frame["slip_no"].dropna().map(str).tolist()
    if book.has_sheet(LOG):
        log = book.read_table(LOG).frame
        seen += log["message"].dropna().map(str).tolist() + log["arguments"].dropna().map(str).tolist()
    seen.append(book.read_settings().get("last_slip_no", ""))
    return seen


def slip_rows(drafts: list[sl.SlipDraft], ctx: Context) -> pd.DataFrame:
    rows = [{"slip_no": d.slip_no, "date": ctx.clock, "orders": len(d.order_ids), "pieces": d.pieces,
             "amount": d.amount, "maker": ctx.identity.name, "fingerprint": d.fingerprint,
             "state": SLIP_AWAIT_SIGNATURE} for d in drafts]
    return pd.DataFrame(rows, columns=[c.key for c in SLIPS.columns], dtype=object)


def slip_line_rows(drafts: list[sl.SlipDraft]) -> pd.DataFrame:
    parts = []
    for d in drafts:
        p = d.lines
        parts.append(pd.DataFrame({"slip_no": d.slip_no, "location": p["location"].to_numpy(),
                                   "sku": p["sku"].to_numpy(), "name": p["name"].to_numpy(),
                                   "spec": p["spec_text"].to_numpy(), "qty": p["qty"].to_numpy(),
                                   "order_id": p["order_id"].to_numpy(), "recipient": p["recipient"].to_numpy()},
                                  dtype=object))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SLIP_LINES.keys)
    out = out.reindex(columns=SLIP_LINES.keys).astype(object)
    return out.where(out.notna(), None)


def run(book: Book, ctx: Context, max_orders: int | None = None) -> Result:
    orders, _, lines, stock, _ = read_state(book, ctx)   # 库存 problems are allocate's to report
    plan = sl.plan_slips(lines, stock, max_orders)
    issues = plan.issues
    errors = sum(i.severity == "error" for i in issues)
    drafts: list[sl.SlipDraft] = []
    if plan.groups:
        numbers = sl.next_slip_numbers(numbers_seen(book, lines), ctx.clock.date(), len(plan.groups))
        drafts = sl.draft_slips(plan, stock, numbers)
        book.append_rows(SLIPS, slip_rows(drafts, ctx))
        book.append_rows(SLIP_LINES, slip_line_rows(drafts))
        new_status = orders.frame["status"].copy().astype(object)
        new_slip = orders.frame["slip_no"].copy().astype(object)
        for d in drafts:
            new_status[d.lines.index] = S_ON_SLIP
            new_slip[d.lines.index] = d.slip_no
        out = pd.DataFrame({"status": new_status, "slip_no": new_slip}, index=orders.frame.index, dtype=object)
        book.write_columns(orders, out)
        book.write_setting("last_slip_no", drafts[-1].slip_no)
    data = {"slips": [{"slip_no": d.slip_no, "orders": len(d.order_ids), "order_ids": d.order_ids,
                       "lines": len(d.lines), "pieces": d.pieces, "amount": d.amount, "fingerprint": d.fingerprint}
                      for d in drafts],
            "problems": [i.as_dict() for i in issues]}
    if drafts:
        span = drafts[0].slip_no if len(drafts) == 1 else f"{drafts[0].slip_no} … {drafts[-1].slip_no}"
        n_orders = sum(len(d.order_ids) for d in drafts)
        pieces = sum(d.pieces for d in drafts)
        zh = f"生成出库单 {len(drafts)} 张 ({span}): {n_orders} 单, {pieces} 件"
        en = f"made {len(drafts)} slip(s) ({span}): {n_orders} orders, {pieces} pieces"
    else:
        zh, en = "没有新的已配货订单, 未生成出库单", "no allocated orders waiting for a slip; no slip made"
    if errors:
        zh += f"; {errors} 个订单未能开单"
        en += f"; {errors} orders refused"
    result = Result(COMMAND, EXIT_PROBLEMS if errors else EXIT_OK, zh, en, data,
                    rows=sum(len(d.lines) for d in drafts))
    log_operation(book, ctx, result, f"--max-orders {max_orders}" if max_orders else "")
    return result
