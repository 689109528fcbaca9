"""重开出库单 (re-issue): make a slip whose content changed after it was issued signable again.

`reissue(book, ctx, slip_no)` is what `shipbook slips BOOK --reissue SLIP` runs. It first runs the
void check (ops/sign.void_changed_slips: signatures of changed slips become 失效), then, for a slip
whose current lines no longer match its recorded fingerprint:

* the slip keeps its number; its 出库单 row gets the fingerprint of its current lines (what the
  directors will sign), its 订单数 / 件数 / 金额 recomputed, the signer cells cleared, state 待签字;
* its 出库明细 rows are rebuilt from the current lines, in pick order, where the old ones were;
* the stock it holds follows the edit: the ledger (配货编码 / 配货数量) of its unshipped lines is set
  to their current 商品编码 / 数量 and 库存 已分配 / 可用 recomputed from the ledger. When 可用 cannot
  cover the change, the re-issue is refused (reissue.stock_short) and nothing changes;
* its unshipped lines are 已开单 again; the old signatures stay in 签字记录 as history (失效);
* the slip is laid out again on 出库单打印 (ops/print_slip, which logs its own 日志 row).

A slip whose content did not change is left as it is (a no-op). Refusals (exit 1, named with a
reason): no such slip, a void slip, a slip without lines, a line that cannot go on a slip
(unknown SKU, bad quantity, or a state before allocation), not enough stock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..book.interface import Book
from ..book.schema import SLIP_LINES, STOCK
from ..domain import allocation as al
from ..domain import signatures as sg
from ..domain.cells import text
from ..domain.codes import Problem
from ..domain.lifecycle import ON_SLIP_STATUSES, S_ON_SLIP, SHIPPED_ONWARD, SLIP_AWAIT_SIGNATURE
from ..domain.shipping_codes import REISSUE_CODES as CODES  # noqa: F401 (the codes this command reports)
from ..domain.slips import SlipPlan, draft_slips
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation
from .sign import void_changed_slips, voided_text

OPERATION = "reissue"


def _refused(book: Book, ctx: Context, slip_no: str, code: str, detail: str, state, row=None) -> Result:
    p = Problem(code, row, detail=detail, extra={"slip_no": slip_no})
    vz, ve = voided_text(state.voided)
    zh = f"出库单 {slip_no} 未重开: {p.zh}" + vz
    en = f"slip {slip_no} not re-issued: {p.en}" + ve
    data = {"slip_no": slip_no, "outcome": "refused", "code": code, "voided": state.voided,
            "problems": [p.as_dict()]}
    result = Result(OPERATION, EXIT_PROBLEMS, zh, en, data)
    log_operation(book, ctx, result, slip_no)
    return result


def slip_line_frame(draft) -> pd.DataFrame:
    """出库明细 rows of a drafted slip (the columns `shipbook slips` writes)."""
    p = draft.lines
    out = pd.DataFrame({"slip_no": draft.slip_no, "location": p["location"].to_numpy(), "sku": p["sku"].to_numpy(),
                        "name": p["name"].to_numpy(), "spec": p["spec_text"].to_numpy(), "qty": p["qty"].to_numpy(),
                        "order_id": p["order_id"].to_numpy(), "recipient": p["recipient"].to_numpy()}, dtype=object)
    out = out.reindex(columns=SLIP_LINES.keys).astype(object)
    return out.where(out.notna(), None)


def reissue(book: Book, ctx: Context, slip_no: str) -> Result:
    """Re-issue slip `slip_no` from its current lines (see the module docstring)."""
    state = void_changed_slips(book, ctx)
    wanted = text(slip_no) or ""
    rec = state.slip_record(wanted)
    if rec is None:
        return _refused(book, ctx, wanted, "sign.unknown_slip", wanted, state)
    row = state.slip_row(wanted)
    if sg.is_void_slip(rec):
        return _refused(book, ctx, wanted, "sign.slip_void", text(rec.get("state")) or "", state, row)
    lines = state.lines
    mine = state.lines_of(wanted)
    if mine.empty:
        return _refused(book, ctx, wanted, "reissue.no_lines", "", state, row)
    current = state.current.get(wanted)
    recorded = text(rec.get("fingerprint")) or ""
    if current is not None and recorded.casefold() == current.casefold():
        vz, ve = voided_text(state.voided)
        result = Result(OPERATION, EXIT_OK, f"出库单 {wanted} 内容未改动, 无需重开{vz}",
                        f"slip {wanted} has not changed; nothing to re-issue{ve}",
                        {"slip_no": wanted, "outcome": "unchanged", "fingerprint": recorded,
                         "voided": state.voided, "problems": []})
        log_operation(book, ctx, result, wanted)
        return result

    stock_t = book.read_table(STOCK, required=("sku", "on_hand"))
    stock, _ = al.stock_table(stock_t.frame)
    holding = mine["status"].isin(ON_SLIP_STATUSES)
    shipped = mine["status"].isin(SHIPPED_ONWARD)
    bad = []
    for r in mine.index:
        st, q, sku = mine.at[r, "status"], mine.at[r, "qty"], mine.at[r, "sku"]
        if not (holding[r] or shipped[r]):
            bad.append(f"行{r} {st or '空'}")
        elif not (isinstance(q, int) and q > 0):
            bad.append(f"行{r} 数量 {q if q is not None else '空'}")
        elif holding[r] and sku not in stock.index:
            bad.append(f"行{r} {sku or '空'}")
    if bad:
        return _refused(book, ctx, wanted, "reissue.line_invalid", "、".join(bad[:5]), state, row)

    # the stock the slip holds follows its current lines
    hold_rows = list(mine.index[holding.to_numpy(dtype=bool)])
    status = lines["status"].copy()
    alloc_sku, alloc_qty = lines["alloc_sku"].copy(), lines["alloc_qty"].copy()
    status[hold_rows] = S_ON_SLIP
    alloc_sku[hold_rows] = mine.loc[hold_rows, "sku"]
    alloc_qty[hold_rows] = mine.loc[hold_rows, "qty"]
    before = al.stock_position(stock, lines["status"], lines["alloc_sku"], lines["alloc_qty"])
    after = al.stock_position(stock, status, alloc_sku, alloc_qty)
    short = after[(after["available"] < 0) & (after["available"] < before["available"])]
    if len(short):
        detail = "、".join(f"{s} 可用 {int(before.at[s, 'available'])}, 需再占用 "
                          f"{int(before.at[s, 'available'] - after.at[s, 'available'])}" for s in short.index[:5])
        return _refused(book, ctx, wanted, "reissue.stock_short", detail, state, row)

    rank = al.service_rank(mine)
    [draft] = draft_slips(SlipPlan(groups=[list(rank.index)], lines=mine), stock, [wanted])

    # 订单: ledger and state of the unshipped lines
    out = pd.DataFrame({"status": status[hold_rows], "alloc_sku": alloc_sku[hold_rows],
                        "alloc_qty": alloc_qty[hold_rows]}, index=hold_rows, dtype=object)
    changed_rows = [r for r in hold_rows if (lines.at[r, "status"], lines.at[r, "alloc_sku"], lines.at[r, "alloc_qty"])
                    != (out.at[r, "status"], out.at[r, "alloc_sku"], out.at[r, "alloc_qty"])]
    if changed_rows:
        book.write_columns(state.orders, out.loc[changed_rows])
        for key in out.columns:
            lines.loc[changed_rows, key] = out.loc[changed_rows, key]
    # 库存: 已分配 / 可用 from the ledger
    moved = after.index[(after["allocated"] != before["allocated"]).to_numpy()]
    if len(moved):
        pos = pd.DataFrame({"allocated": [int(after.at[s, "allocated"]) for s in moved],
                            "available": [int(after.at[s, "available"]) for s in moved]},
                           index=[int(stock.at[s, "row"]) for s in moved], dtype=object)
        book.write_columns(stock_t, pos)
    # 出库单 row
    old = {k: rec.get(k) for k in ("fingerprint", "orders", "pieces", "amount")}
    state.update_slip(book, wanted, {
        "orders": len(draft.order_ids), "pieces": draft.pieces, "amount": draft.amount,
        "finance_signer": None, "finance_signed_at": None, "logistics_signer": None, "logistics_signed_at": None,
        "fingerprint": draft.fingerprint, "state": SLIP_AWAIT_SIGNATURE})
    # 出库明细: this slip's rows rebuilt in place
    if book.has_sheet(SLIP_LINES):
        body = book.read_table(SLIP_LINES).frame
        numbers = body["slip_no"].map(text)
        ours = (numbers == wanted).to_numpy()
        at = int(np.argmax(ours)) if ours.any() else len(body)
        keep = body[~ours].reset_index(drop=True)
        frame = pd.concat([keep.iloc[:at], slip_line_frame(draft), keep.iloc[at:]], ignore_index=True)
    else:
        frame = slip_line_frame(draft)
    frame = frame.reindex(columns=SLIP_LINES.keys).astype(object)
    book.replace_rows(SLIP_LINES, frame.where(frame.notna(), None))

    printed = None
    try:
        from . import print_slip
        printed = print_slip.run(book, ctx, slip_no=wanted).exit_code == EXIT_OK
    except ShipbookError:
        printed = False
    vz, ve = voided_text([v for v in state.voided if v["slip_no"] != wanted])
    zh = (f"出库单 {wanted} 已按当前订单行重开: {len(draft.order_ids)} 单, {draft.pieces} 件, 待签字"
          f"{'; 已重新排版到「出库单打印」' if printed else ''}{vz}")
    en = (f"slip {wanted} re-issued from its current lines: {len(draft.order_ids)} orders, {draft.pieces} pieces, "
          f"awaiting signatures{'; laid out again on 出库单打印' if printed else ''}{ve}")
    data = {"slip_no": wanted, "outcome": "reissued", "fingerprint": draft.fingerprint, "previous": old,
            "orders": len(draft.order_ids), "order_ids": draft.order_ids, "lines": len(draft.lines),
            "pieces": draft.pieces, "amount": draft.amount, "reprinted": bool(printed),
            "stock_moved": {str(s): int(after.at[s, "allocated"] - before.at[s, "allocated"]) for s in moved},
            "voided": state.voided, "problems": []}
    result = Result(OPERATION, EXIT_OK, zh, en, data, rows=len(draft.lines))
    log_operation(book, ctx, result, wanted)
    return result

