"""签字 (sign): a director signs an outbound slip (出库单) as 财务总监 (finance) or 物流总监 (logistics).

The signer is who runs the command (ctx.identity: the user's config, or `--as NAME`). A signature
signs the slip's *current content*: its fingerprint is recomputed from the order lines carrying the
slip number (domain/slips.fingerprint over order, SKU, qty, recipient, phone, address; 已取消 lines
are no longer part of the slip) and must equal the one recorded on 出库单 when the slip was issued.
The rules are domain/signatures.py: the person 设置 names for the role (when named), one person
never both roles, signing twice is a no-op, a changed slip cannot be signed until re-issued
(ops/reissue.py).

An accepted signature is appended to 签字记录 (slip, role, signer, time, fingerprint, 有效) and
shown on the 出库单 row (signer, time, state 待签字 → 已签字 when both signed). The lines of a slip
with both valid signatures become 待发货.

`void_changed_slips(book, ctx)` is the check every shipping step runs first (sign, waybills,
slips --reissue): a slip whose content no longer matches its fingerprint gets its signatures
marked 失效 in 签字记录, its signer cells on 出库单 cleared and its state back to 待签字; the
待发货 lines of a slip that was fully signed go back to 已开单 (WORKBOOK.md sanctions this one
backward move: the signatures they shipped on are gone). It also moves the 已开单 lines of every
fully and validly signed slip to 待发货. Slips whose lines have all shipped are not judged any more
(a later correction of a shipped line voids nothing), nor are void slips (状态 作废/取消).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from ..book.interface import Book, Table
from ..book.schema import ORDERS, SIGNATURES, SLIPS
from ..domain import allocation as al
from ..domain import signatures as sg
from ..domain.cells import text
from ..domain.lifecycle import S_AWAIT_SHIP, S_CANCELLED, S_ON_SLIP, SHIPPED_ONWARD
from ..domain.slips import FINGERPRINT_FIELDS, fingerprint
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "sign"
BUTTON = "sign"
HELP = "签字 / sign an outbound slip (出库单) as finance (财务总监) or logistics (物流总监)"

ORDER_REQUIRED = ("order_id", "sku", "qty")


# -- the slips and their signatures, kept in step with the order lines ---------------------------------
@dataclass
class SlipBook:
    """订单, 出库单 and 签字记录 as read, kept up to date in memory with what this run wrote."""

    orders: Table
    lines: pd.DataFrame                 # al.order_lines(orders): cleaned values, index = 订单 rows
    slips: Table | None
    signatures: Table | None
    sig_frame: pd.DataFrame             # 签字记录 rows (index = sheet rows; appended rows get new indexes)
    current: dict[str, str] = field(default_factory=dict)   # slip_no -> fingerprint of its current lines
    voided: list[dict] = field(default_factory=list)        # slips whose signatures were voided by this run
    held_rows: list = field(default_factory=list)           # 订单 rows 待发货 -> 已开单
    ready_rows: list = field(default_factory=list)          # 订单 rows 已开单 -> 待发货

    @property
    def slip_frame(self) -> pd.DataFrame:
        if self.slips is None:
            return pd.DataFrame(columns=SLIPS.keys, dtype=object)
        return self.slips.frame

    def slip_row(self, slip_no: object):
        """The 出库单 row number of a slip (its last row when listed twice), or None."""
        want = text(slip_no)
        if not want or self.slips is None:
            return None
        numbers = self.slip_frame["slip_no"].map(text)
        rows = numbers.index[(numbers == want).to_numpy()]
        return rows[-1] if len(rows) else None

    def slip_record(self, slip_no: object) -> dict | None:
        row = self.slip_row(slip_no)
        if row is None:
            return None
        rec = self.slip_frame.loc[row].to_dict()
        rec["slip_no"] = text(rec.get("slip_no"))
        return rec

    def lines_of(self, slip_no: str, *, with_cancelled: bool = False) -> pd.DataFrame:
        mask = self.lines["slip_no"] == slip_no
        if not with_cancelled:
            mask &= self.lines["status"] != S_CANCELLED
        return self.lines[mask.to_numpy(dtype=bool)]

    def valid_roles(self, slip_no: str) -> dict[str, str]:
        fp = text(self.slip_frame.at[self.slip_row(slip_no), "fingerprint"]) if self.slip_row(slip_no) is not None \
            else None
        return sg.valid_signatures(self.sig_frame, slip_no, fp or "")

    def ready(self) -> list[str]:
        return sg.ready_slips(self.slip_frame, self.sig_frame, self.current)

    # -- writing ---------------------------------------------------------------------------------------
    def set_status(self, book: Book, rows, status: str) -> list:
        """Write 状态 of these 订单 rows (only those that change); returns the rows changed."""
        rows = [r for r in rows if self.lines.at[r, "status"] != status]
        if rows:
            book.write_columns(self.orders, pd.DataFrame({"status": [status] * len(rows)}, index=rows, dtype=object))
            self.lines.loc[rows, "status"] = status
            self.orders.frame.loc[rows, "status"] = status
        return rows

    def update_slip(self, book: Book, slip_no: str, update: dict) -> None:
        """Write these 出库单 columns on the slip's row."""
        row = self.slip_row(slip_no)
        if row is None or not update:
            return
        frame = pd.DataFrame({k: [v] for k, v in update.items()}, index=[row], dtype=object)
        book.write_columns(self.slips, frame)
        for k, v in update.items():
            self.slips.frame.at[row, k] = v

    def add_signature(self, book: Book, record: dict) -> None:
        frame = pd.DataFrame([record], columns=SIGNATURES.keys, dtype=object)
        book.append_rows(SIGNATURES, frame)
        nxt = (max(self.sig_frame.index) + 1) if len(self.sig_frame) else 2
        self.sig_frame = pd.concat([self.sig_frame, frame.set_axis([nxt])]).astype(object)

    def promote_ready(self, book: Book, only: str | None = None) -> list:
        """已开单 lines of fully and validly signed slips -> 待发货 (all such slips, or only `only`)."""
        ready = set(self.ready())
        if only is not None:
            ready &= {only}
        if not ready:
            return []
        mask = self.lines["slip_no"].isin(ready) & (self.lines["status"] == S_ON_SLIP)
        rows = self.set_status(book, list(self.lines.index[mask.to_numpy(dtype=bool)]), S_AWAIT_SHIP)
        self.ready_rows += rows
        return rows


def current_fingerprints(lines: pd.DataFrame, slips: pd.DataFrame) -> dict[str, str]:
    """slip_no -> the fingerprint of its current lines, for every slip on 出库单 still to be judged:
    not void, and not every one of its (non-cancelled) lines shipped already."""
    out: dict[str, str] = {}
    live = lines[(lines["status"] != S_CANCELLED).to_numpy(dtype=bool) & lines["slip_no"].notna().to_numpy(dtype=bool)]
    groups = {k: g for k, g in live.groupby("slip_no", sort=False)}
    empty = lines.iloc[0:0]
    for rec in slips.to_dict("records"):
        slip_no = text(rec.get("slip_no"))
        if not slip_no or sg.is_void_slip(rec) or slip_no in out:
            continue
        mine = groups.get(slip_no, empty)
        if len(mine) and mine["status"].isin(SHIPPED_ONWARD).all():
            continue
        out[slip_no] = fingerprint(mine[list(FINGERPRINT_FIELDS)])
    return out


def void_changed_slips(book: Book, ctx: Context) -> SlipBook:
    """Void the signatures of slips whose content changed; keep line states in step with signatures.

    Writes 签字记录 有效 -> 失效, 出库单 signer cells / state, 订单 状态 (待发货 -> 已开单 for slips that lost
    their signatures, 已开单 -> 待发货 for fully signed ones). Returns the SlipBook for the caller to go on with.
    """
    orders = book.read_table(ORDERS, required=ORDER_REQUIRED)
    lines = al.order_lines(orders.frame, ref_year=ctx.clock.year)
    slips = book.read_table(SLIPS, required=("slip_no",)) if book.has_sheet(SLIPS) else None
    sigs = book.read_table(SIGNATURES) if book.has_sheet(SIGNATURES) else None
    sig_frame = sigs.frame.copy() if sigs is not None else pd.DataFrame(columns=SIGNATURES.keys, dtype=object)
    state = SlipBook(orders, lines, slips, sigs, sig_frame)
    if slips is None or slips.frame.empty:
        return state
    state.current = current_fingerprints(lines, slips.frame)
    upd = sg.void_changed(slips.frame, sig_frame, state.current)
    if upd.signature_rows and sigs is not None:
        rows = list(dict.fromkeys(upd.signature_rows))
        book.write_columns(sigs, pd.DataFrame({"valid": [sg.VOID] * len(rows)}, index=rows, dtype=object))
        state.sig_frame.loc[rows, "valid"] = sg.VOID
    changed = {c["slip_no"]: c for c in upd.changed}
    for slip_no, update in upd.slip_updates.items():
        state.update_slip(book, slip_no, update)
    for slip_no in upd.hold_slips:
        mask = (lines["slip_no"] == slip_no) & (lines["status"] == S_AWAIT_SHIP)
        state.held_rows += state.set_status(book, list(lines.index[mask.to_numpy(dtype=bool)]), S_ON_SLIP)
    voided_by_slip: dict[str, int] = {}
    for r in upd.signature_rows:
        s = text(sig_frame.at[r, "slip_no"])
        voided_by_slip[s] = voided_by_slip.get(s, 0) + 1
    for slip_no in dict.fromkeys([*voided_by_slip, *upd.hold_slips]):
        held = [r for r in state.held_rows if lines.at[r, "slip_no"] == slip_no]
        state.voided.append({"slip_no": slip_no, "signatures_voided": voided_by_slip.get(slip_no, 0),
                             "lines_back_to_on_slip": len(held), "content_changed": slip_no in changed})
    state.promote_ready(book)
    return state


def voided_text(voided: list[dict]) -> tuple[str, str]:
    """The summary's words on slips whose signatures this run voided ("" when none)."""
    if not voided:
        return "", ""
    names = "、".join(v["slip_no"] for v in voided)
    return (f"; 出库单 {names} 的内容在签字后被修改, 签字已失效, 需重开 (重开出库单 按钮 / shipbook slips --reissue) "
            "并重新签字",
            f"; slip(s) {', '.join(v['slip_no'] for v in voided)} changed after signing: signatures voided, "
            "re-issue (button 重开出库单 / shipbook slips --reissue) and sign again")


# -- the command -----------------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("slip", nargs="?", default=None, help="出库单号 / slip number (CKyyyymmdd-NNN)")
    parser.add_argument("--role", default=None,
                        help="finance (财务总监) | logistics (物流总监); 默认取配置中的角色 / default: your configured role")


def role_for(role: str | None, ctx: Context) -> str:
    """The role asked for, else the user's configured role when it is a signing role."""
    if role and role.strip():
        return role.strip()
    own = sg.role_of(ctx.identity.role)
    if own:
        return own
    raise ShipbookError("请用 --role finance (财务总监) 或 --role logistics (物流总监) 指定签字角色",
                        "give the role to sign as: --role finance (财务总监) or --role logistics (物流总监)")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    if not args.slip or not args.slip.strip():
        raise ShipbookError("请指定出库单号: shipbook sign BOOK CKyyyymmdd-NNN --role finance|logistics",
                            "name the slip: shipbook sign BOOK CKyyyymmdd-NNN --role finance|logistics")
    role = role_for(args.role, ctx)
    with open_book(args.book) as book:
        return run(book, ctx, slip_no=args.slip, role=role)


def run(book: Book, ctx: Context, slip_no: str, role: str) -> Result:
    """Sign slip `slip_no` as `role` (finance/logistics, 财务总监/物流总监) in the name of ctx.identity."""
    state = void_changed_slips(book, ctx)
    settings = book.read_settings()
    rec = state.slip_record(slip_no)
    if rec is not None:
        current = state.current.get(rec["slip_no"])
        if current is None:  # not judged (void or shipped): sign against its lines all the same
            current = fingerprint(state.lines_of(rec["slip_no"])[list(FINGERPRINT_FIELDS)])
    else:
        current = ""
    signer = ctx.identity.name
    d = sg.decide_signature(rec, state.sig_frame, role, signer, settings, current, ctx.clock)
    label = sg.ROLE_LABEL.get(d.role or "", str(role))
    ready_rows: list = []
    if d.outcome == "accepted":
        state.add_signature(book, d.signature)
        state.update_slip(book, d.slip_no, d.slip_update)
        ready_rows = state.promote_ready(book, only=d.slip_no)
    elif d.outcome == "noop" and d.both_signed:
        ready_rows = state.promote_ready(book, only=d.slip_no)
    roles = state.valid_roles(d.slip_no) if rec is not None else {}
    missing = [sg.ROLE_LABEL[r] for r in sg.ROLES if r not in roles]
    shown = text(slip_no) or "-"
    if d.outcome == "refused":
        zh = f"出库单 {shown}: {label} 签字被拒绝 ({signer}): {d.zh}"
        en = f"slip {shown}: {d.role or role} signature by {signer} refused: {d.en}"
    elif d.outcome == "noop":
        zh = f"出库单 {shown}: {signer} 已以{label}签过字, 未改动"
        en = f"slip {shown}: {signer} already signed as {d.role}; nothing changed"
    else:
        zh = f"出库单 {shown}: {signer} 已以{label}签字"
        en = f"slip {shown}: signed by {signer} as {d.role}"
    if d.outcome != "refused":
        if missing:
            zh += f"; 还需 {'、'.join(missing)} 签字"
            en += f"; still needs {' and '.join(missing)}"
        else:
            n = len(state.lines_of(d.slip_no))
            zh += f"; 双方已签字, {n} 行订单可发货"
            en += f"; both signed: its {n} lines may ship"
    vz, ve = voided_text(state.voided)
    zh, en = zh + vz, en + ve
    problems = []
    if d.outcome == "refused":
        problems.append(replace(d.problem, row=state.slip_row(slip_no), extra={"slip_no": text(slip_no)}).as_dict())
    data = {**d.as_dict(), "role_label": label, "signed_roles": roles, "missing_roles": missing,
            "lines_ready": len(ready_rows), "voided": state.voided, "problems": problems}
    result = Result(COMMAND, EXIT_PROBLEMS if d.outcome == "refused" else EXIT_OK, zh, en, data,
                    rows=len(ready_rows) + (1 if d.outcome == "accepted" else 0))
    log_operation(book, ctx, result, f"{shown} {d.role or role}")
    return result
