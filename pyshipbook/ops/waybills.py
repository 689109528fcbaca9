"""生成运单 (waybills): one waybill row per order ready to ship, in the chosen courier's batch-order format.

An order gets a waybill when every line of it (not cancelled) is 待发货 on a slip that both directors
signed on its current content (the void check of ops/sign.py runs first), and it has none yet. Any
other order on a slip is refused with the reason (a signature missing or void, content changed).

The courier (`--carrier`, default 设置 默认快递) picks the layout, templates/waybills/CODE.toml
(domain/waybills: sender from 设置, goods, weight from 库存 单件重量kg, COD amounts). The rows are
appended to the 运单 sheet and, with `--out FILE`, written to a file for the courier's upload page
(.xlsx with every cell text, or .csv in GBK; a folder: 运单-CODE-YYYYMMDD-HHMM.xlsx in it): the file
holds this run's rows only, so each upload carries each order once.

The 运单 sheet: a leading 订单号 | 快递公司 pair (the contract's columns; how shipbook knows which
orders have a waybill, whichever courier's layout wrote the row), then the layout's columns (a
layout column whose header is 订单号 or 快递公司 is that pair), then 出库单指纹 | 订单指纹: what the row
was made from (the order's slip fingerprint as signed, and the same fingerprint over the order's own
lines; schema.WAYBILL_FINGERPRINTS). Running again adds nothing for orders already on 运单; switching
courier adds the new layout's missing columns at the end.

An order that already has a row (its last row on 运单) is judged again on every run
(domain/waybills.existing_verdict), so a slip changed and re-issued after its waybill was made never
leaves the courier with the old content:

* slip unchanged since the row: skipped, as before;
* slip changed and not yet re-issued and signed by both on its new content: refused,
  waybill.changed_not_signed (the old row must not be handed over);
* slip signed again and the order's own waybill differs (another address, other goods …): the row
  is replaced in place by a fresh one in this run's courier layout (`replaced` in --json; the upload
  file carries it; the old courier order is to be cancelled). When the fresh row would read exactly
  as the old one (or only another order of the slip changed), the row is kept and its fingerprints
  brought up to date (`reconfirmed`);
* the order shipped (a tracking number logged) and its own content changed since its row was made:
  never replaced, reported as waybill.shipped_before_change until a person deals with it (and
  deletes the row). A change that touches only other orders of its slip is no concern of it;
* every line of the order set to 已取消 since its row was made: never deleted or replaced here, and
  never in an upload file (a person must cancel the courier order first): reported on every run,
  waybill.order_cancelled, or waybill.cancelled_after_shipping when a tracking number was logged
  before (the parcel is out: intercept it or handle the return as after-sales). The row stays as
  it is (`cancelled` in --json) until a person deletes it (or, for a return, sets the order 售后).
  An order cancelled only in part is a change of content like any other (fewer goods: its slip is
  voided, then the row is refused, replaced once re-signed, or reported if it had shipped), the
  message naming the cancelled lines.
* a 运单 row whose order has no line on 订单 any more (deleted instead of set 已取消): the warning
  waybill.order_missing (`missing` in --json), the row left alone until a person deletes it.
Rows made before the fingerprints were recorded get them written when the slip never changed since
it was signed; otherwise they are taken as changed (a shipped one is left alone).

Orders that get a waybill have their blank 快递公司 filled with the courier's code, so a numeric
tracking number logged later is checked against the right courier (a replaced one also when it named
the old row's courier).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import STOCK, TRACKING, WAYBILL_FINGERPRINTS, WAYBILLS, Column, Sheet
from ..domain import signatures as sg
from ..domain.carriers import carrier_code, split_tracking_numbers
from ..domain.cells import normalise_header, text
from ..domain.codes import Problem
from ..domain.lifecycle import (EVENT_EXTRA_PARCEL, EVENT_SHIPPED, ON_SLIP_STATUSES, S_AWAIT_SHIP, S_CANCELLED,
                                SHIPPED_ONWARD)
from ..domain.shipping_codes import WAYBILL_OP_CODES as CODES  # noqa: F401 (the codes this command reports)
from ..domain.slips import FINGERPRINT_FIELDS, fingerprint
from ..domain.waybills import WaybillLayout, existing_verdict, render, waybill_records
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, file_text, log_operation
from .sign import SlipBook, void_changed_slips, voided_text

COMMAND = "waybills"
BUTTON = "waybills"
HELP = "生成运单 / waybill rows in the courier's batch-order format for orders whose slip both directors signed"
MAX_NAMED = 5


FP_KEYS = [c.key for c in WAYBILL_FINGERPRINTS]


def waybill_sheet(layout: WaybillLayout, others=()) -> Sheet:
    """The 运单 sheet for this courier's layout: 订单号 | 快递公司, the layout's own columns, 出库单指纹 | 订单指纹;
    then the columns of the `others` layouts (which earlier runs may have written) not already named."""
    fixed = (*WAYBILLS.columns, *WAYBILL_FINGERPRINTS)
    taken = {normalise_header(c.header) for c in fixed}

    def columns(lay: WaybillLayout) -> list[Column]:
        out = []
        for c in lay.columns:
            h = normalise_header(c.header)
            if h not in taken:
                taken.add(h)
                out.append(Column(f"wb:{c.header}", c.header, "text", max(10.0, min(30.0, len(c.header) * 2.2))))
        return out

    own = columns(layout)
    rest = [c for lay in others if lay is not layout for c in columns(lay)]
    return Sheet(f"{WAYBILLS.key}_{layout.carrier}", WAYBILLS.name, (*WAYBILLS.columns, *own, *WAYBILL_FINGERPRINTS,
                                                                    *rest), owned_by_macros=True)


def layout_keys(sheet: Sheet, layout: WaybillLayout) -> list[str]:
    """The keys of `sheet` a row in this layout fills: the pair, the layout's columns, the fingerprints."""
    lead = {normalise_header(c.header) for c in (*WAYBILLS.columns, *WAYBILL_FINGERPRINTS)}
    own = {f"wb:{c.header}" for c in layout.columns if normalise_header(c.header) not in lead}
    return [k for k in sheet.keys if k in own or k in WAYBILLS.keys or k in FP_KEYS]


def sheet_frame(sheet: Sheet, layout: WaybillLayout, headers: list[str], rows: list[list], carrier: str,
                order_ids: list[str], fingerprints: dict[str, tuple[str, str]] | None = None,
                index=None) -> pd.DataFrame:
    """The 运单 rows of these rendered rows (columns: layout_keys); fingerprints: order -> (slip, order)."""
    keys = layout_keys(sheet, layout)
    by_header = {c.header: c.key for c in sheet.columns if c.key in keys and c.key.startswith("wb:")}
    data = []
    for oid, row in zip(order_ids, rows):
        slip_fp, order_fp = (fingerprints or {}).get(oid, (None, None))
        rec = {"order_id": oid, "carrier": carrier, "slip_fingerprint": slip_fp, "order_fingerprint": order_fp}
        for h, v in zip(headers, row):
            if h in by_header:
                rec[by_header[h]] = v
        data.append(rec)
    return pd.DataFrame(data, columns=keys, index=index, dtype=object)


def load_courier(carrier: str | None, settings: dict) -> tuple[str, WaybillLayout, object]:
    """(code, layout, carriers) for --carrier or 设置 默认快递; ShipbookError when unknown or without a layout."""
    from ..book.templates import load_carriers, load_waybill_layouts
    carriers = load_carriers()
    layouts = load_waybill_layouts()
    asked = (carrier or "").strip() or (settings.get("default_carrier") or "").strip() or "SF"
    code = carrier_code(asked, carriers)
    if code is None or code not in layouts:
        known = " ".join(sorted(layouts))
        raise ShipbookError(f"快递公司「{asked}」没有运单模板 (可用: {known}); 请用 --carrier 或 设置 默认快递 指定",
                            f"no waybill layout for courier '{asked}' (available: {known}); "
                            "use --carrier or 设置 默认快递")
    return code, layouts[code], carriers


def default_out(folder: str | Path, carrier: str, when) -> Path:
    """The upload file's default name in `folder`: 运单-CODE-YYYYMMDD-HHMM.xlsx."""
    return Path(folder) / f"运单-{carrier}-{when:%Y%m%d-%H%M}.xlsx"


def slip_reason(state: SlipBook, slip_no: str | None) -> str:
    """Why a slip does not let its orders ship (for waybill.not_signed)."""
    if not slip_no:
        return "不在出库单上 / not on a slip"
    rec = state.slip_record(slip_no)
    if rec is None:
        return f"{slip_no}: 出库单表中没有此单 / not on 出库单"
    if sg.is_void_slip(rec):
        return f"{slip_no}: 出库单已作废 / void"
    current = state.current.get(slip_no)
    if current is not None and (text(rec.get("fingerprint")) or "").casefold() != current.casefold():
        return f"{slip_no}: 内容已修改, 签字失效, 需重开 / content changed: re-issue it"
    roles = state.valid_roles(slip_no)
    missing_en = [r for r in sg.ROLES if r not in roles]
    missing = [sg.ROLE_LABEL[r] for r in missing_en]
    voids = state.sig_frame[(state.sig_frame["slip_no"].map(text) == slip_no).to_numpy()
                            & (~state.sig_frame["valid"].map(sg.is_valid)).to_numpy(dtype=bool)]
    if missing:
        return (f"{slip_no}: 缺 {'、'.join(missing)} 签字" + (" (原签字已失效)" if len(voids) else "")
                + f" / needs {' and '.join(missing_en)}" + (" (earlier signatures void)" if len(voids) else ""))
    return f"{slip_no}: 订单行尚未待发货 / lines not 待发货"


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--carrier", default=None, metavar="CODE",
                        help="快递公司 SF ZTO YTO YUNDA STO JD EMS JT (默认 设置 默认快递) / courier (default: 设置 默认快递)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="同时写出快递批量下单文件 (.xlsx 全文本, 或 .csv GBK) / also write the courier's upload file")


def cli(args, ctx: Context) -> Result:
    from ..book import exports
    from ..book.xlsx import open_book
    if args.out and not Path(args.out).is_dir():
        exports.check_target(args.out, book=args.book)
    with open_book(args.book) as book:
        return run(book, ctx, carrier=args.carrier, out=args.out)


def _cell(v) -> str:
    """A 运单 cell as the text compared: blank -> ""."""
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def same_row(old: pd.Series, sheet: Sheet, layout: WaybillLayout, headers: list[str], row: list, carrier: str) -> bool:
    """Does the 运单 row `old` (by key) already read exactly as this freshly rendered row of `carrier`?"""
    if (text(old.get("carrier")) or "") != carrier:
        return False
    key_of = {c.header: c.key for c in sheet.columns if c.key.startswith("wb:")}
    return all(_cell(old.get(key_of[h])) == _cell(v) for h, v in zip(headers, row) if h in key_of)


def shipped_orders(book: Book, raw: pd.DataFrame, by_order: dict[str, pd.DataFrame]) -> set[str]:
    """Orders with a tracking number logged: a line 已发货 or later, a 快递单号 on a line (a cancelled line
    keeps the number it shipped with), or a shipping event in 物流跟踪."""
    out = {oid for oid, g in by_order.items()
           if g["status"].isin(SHIPPED_ONWARD).any() or any(text(raw.at[r, "tracking_no"]) for r in g.index)}
    if book.has_sheet(TRACKING):
        events = book.read_table(TRACKING).frame
        out |= {o for o, e in zip(events["order_id"].map(text), events["event"].map(text))
                if o in by_order and e in (EVENT_SHIPPED, EVENT_EXTRA_PARCEL)}
    return out


def run(book: Book, ctx: Context, carrier: str | None = None, out: str | Path | None = None) -> Result:
    from ..book.templates import load_waybill_layouts
    settings = book.read_settings()
    code, layout, carriers = load_courier(carrier, settings)
    state = void_changed_slips(book, ctx)
    table = None
    if book.has_sheet(WAYBILLS):   # the sheet may hold other couriers' columns from earlier runs
        sheet = waybill_sheet(layout, load_waybill_layouts().values())
        table = book.read_table(sheet)
    else:
        sheet = waybill_sheet(layout)
    row_of: dict[str, int] = {}      # order -> its (last) 运单 row
    if table is not None:
        for r, oid in zip(table.frame.index, table.frame["order_id"].map(text)):
            if oid:
                row_of[oid] = r

    lines, raw = state.lines, state.orders.frame
    live = lines[(lines["status"] != S_CANCELLED).to_numpy(dtype=bool) & lines["order_id"].notna().to_numpy(dtype=bool)]
    on_slip = live[live["slip_no"].notna().to_numpy(dtype=bool) & live["status"].isin(ON_SLIP_STATUSES)
                   .to_numpy(dtype=bool)]
    ready = set(state.ready())
    by_order = {oid: g for oid, g in live.groupby("order_id", sort=False)}
    candidates = list(dict.fromkeys(on_slip["order_id"]))
    # cancelled lines by order (only orders on 运单 matter), and the orders on 运单 whose every line is 已取消 now
    dead_by_order: dict[str, pd.DataFrame] = {}
    if row_of:
        dead = lines[(lines["status"] == S_CANCELLED).to_numpy(dtype=bool)
                     & lines["order_id"].isin(row_of.keys()).to_numpy(dtype=bool)]
        dead_by_order = {oid: g for oid, g in dead.groupby("order_id", sort=False)}
    cancelled = {oid: dead_by_order[oid] for oid in row_of if oid in dead_by_order and oid not in by_order}
    # orders on 运单 with no line on 订单 at all (deleted rather than cancelled): reported, the row left alone
    missing = [oid for oid in row_of if oid not in by_order and oid not in dead_by_order]

    # what each order's waybill is made from: its slip's fingerprint(s) and its own lines' fingerprint
    fields = list(FINGERPRINT_FIELDS)
    slip_fps: dict[str, str] = {}

    def slip_fp(oid: str) -> str:
        parts = []
        for s in dict.fromkeys(by_order[oid]["slip_no"]):
            if s:
                if s not in slip_fps:
                    slip_fps[s] = state.current.get(s) or fingerprint(state.lines_of(s)[fields])
                parts.append(slip_fps[s])
        return ",".join(parts)

    def order_fp(oid: str) -> str:
        return fingerprint(by_order[oid][fields])

    shipped: set[str] = set()
    voided_slips: set[str] = set()
    judged = list(candidates)
    if row_of:
        shipped = shipped_orders(book, raw, {**by_order, **cancelled})
        voided_slips = {text(s) for s, v in zip(state.sig_frame["slip_no"], state.sig_frame["valid"])
                        if not sg.is_valid(v)}
        known = set(candidates)
        judged += [oid for oid in row_of if oid in shipped and oid in by_order and oid not in known]
        judged += list(cancelled)

    ok_orders: list[str] = []
    refused: list[dict] = []
    skipped: list[str] = []
    replacing: dict[str, int] = {}     # order -> its 运单 row, replaced by a fresh one
    refresh: dict[str, int] = {}       # order -> its 运单 row, kept; its fingerprints written
    reconfirmed: list[str] = []

    def numbers_of(g: pd.DataFrame) -> list[str]:
        return list(dict.fromkeys(n for x in g.index for n in split_tracking_numbers(raw.at[x, "tracking_no"])))

    def cancelled_lines(oid: str) -> str:
        """"; 已取消的行 / cancelled lines: SKU×qty, …" for an order with cancelled lines ("" without)."""
        g = dead_by_order.get(oid)
        if g is None:
            return ""
        items = "、".join(f"{sku or '-'}×{'-' if qty is None else qty}" for sku, qty in zip(g["sku"], g["qty"]))
        return f"; 已取消的行 / cancelled lines: {items}"

    for oid in judged:
        if oid in cancelled:
            g, r = cancelled[oid], row_of[oid]
            slip_text = ",".join(dict.fromkeys(s for s in g["slip_no"] if s))
            rec_slip, rec_order = (text(table.frame.at[r, k]) for k in FP_KEYS)
            verdict = existing_verdict(rec_slip, rec_order, "", "", ready=False, shipped=oid in shipped,
                                       signatures_voided=False, cancelled=True)
            numbers = numbers_of(g)
            row_carrier = text(table.frame.at[r, "carrier"]) or "-"
            detail = (f"{'、'.join(numbers) + '; ' if numbers else ''}运单第 {int(r)} 行 ({row_carrier}) / "
                      f"运单 row {int(r)} ({row_carrier})")
            refused.append(Problem(f"waybill.{verdict}", int(g.index[0]), oid, detail,
                                   {"slip_no": slip_text or None, "waybill_row": int(r),
                                    "tracking_no": ",".join(numbers) or None}).as_dict())
            continue
        g = by_order[oid]
        slips = list(dict.fromkeys(g["slip_no"]))
        is_ready = bool((g["status"] == S_AWAIT_SHIP).all()) and all(s in ready for s in slips)
        slip_text = ",".join(s for s in slips if s)
        if oid in row_of:
            r = row_of[oid]
            rec_slip, rec_order = (text(table.frame.at[r, k]) for k in FP_KEYS)
            if rec_slip and rec_order and rec_slip.casefold() == slip_fp(oid).casefold():
                verdict = "keep"    # the common case, without hashing the order: its slip is as it was
            else:
                verdict = existing_verdict(rec_slip, rec_order, slip_fp(oid), order_fp(oid), ready=is_ready,
                                           shipped=oid in shipped,
                                           signatures_voided=any(s in voided_slips for s in slips))
            if verdict in ("keep", "record", "reconfirm"):
                if verdict != "keep":
                    refresh[oid] = r
                if verdict == "reconfirm":
                    reconfirmed.append(oid)
                if oid in candidates:
                    skipped.append(oid)
            elif verdict == "replace":
                replacing[oid] = r
                ok_orders.append(oid)
            elif verdict == "changed_not_signed":
                reason = "; ".join(slip_reason(state, s) for s in ([s for s in slips if s not in ready] or slips))
                reason += cancelled_lines(oid)
                refused.append(Problem("waybill.changed_not_signed", int(g.index[0]), oid, reason,
                                       {"slip_no": slip_text, "waybill_row": int(r)}).as_dict())
            else:   # shipped_before_change
                numbers = numbers_of(g)
                detail = f"{'、'.join(numbers) or '-'}; 运单第 {int(r)} 行 / 运单 row {int(r)}" + cancelled_lines(oid)
                refused.append(Problem("waybill.shipped_before_change", int(g.index[0]), oid, detail,
                                       {"slip_no": slip_text, "waybill_row": int(r),
                                        "tracking_no": ",".join(numbers) or None}).as_dict())
            continue
        if is_ready:
            ok_orders.append(oid)
            continue
        bad = [s for s in slips if s not in ready] or slips
        reason = "; ".join(slip_reason(state, s) for s in bad)
        refused.append(Problem("waybill.not_signed", int(g.index[0]), oid, reason, {"slip_no": slip_text}).as_dict())

    stock = book.read_table(STOCK, required=("sku",)).frame
    ok_rows = [r for oid in ok_orders for r in by_order[oid].index]
    records, wproblems = waybill_records(raw.loc[ok_rows], stock, settings, carrier=code)
    warnings: list[dict] = []
    for oid in missing:
        r = row_of[oid]
        warnings.append(Problem("waybill.order_missing", None, oid, f"运单第 {int(r)} 行 / 运单 row {int(r)}",
                                {"waybill_row": int(r)}).as_dict())
    bad_orders: dict[str, list] = {}
    for p in wproblems:
        if p.severity == "error":
            for oid in ([p.order] if p.order else ok_orders):
                bad_orders.setdefault(oid, []).append(p)
        else:
            warnings.append(replace(p, row=int(by_order[p.order].index[0]) if p.order in by_order else None).as_dict())
    for oid, ps in bad_orders.items():
        for p in ps:
            refused.append(replace(p, order=oid, row=int(by_order[oid].index[0])).as_dict())
    records = [r for r in records if r["order_id"] not in bad_orders]
    if replacing and records:   # a fresh row that reads exactly as the old one replaces nothing
        headers, rows = render(layout, records, target="sheet")
        for rec, row in zip(records, rows):
            oid = rec["order_id"]
            if oid in replacing and same_row(table.frame.loc[replacing[oid]], sheet, layout, headers, row, code):
                refresh[oid] = replacing.pop(oid)
                reconfirmed.append(oid)
                skipped.append(oid)
        records = [r for r in records if r["order_id"] not in refresh]
    added = [r["order_id"] for r in records if r["order_id"] not in replacing]
    replaced = [r["order_id"] for r in records if r["order_id"] in replacing]
    old_carrier = {oid: carrier_code(text(table.frame.at[replacing[oid], "carrier"]), carriers) for oid in replaced}

    file_info = None
    if refresh:
        book.write_columns(table, pd.DataFrame({"slip_fingerprint": [slip_fp(o) for o in refresh],
                                                "order_fingerprint": [order_fp(o) for o in refresh]},
                                               index=list(refresh.values()), dtype=object))
    if records:
        headers, rows = render(layout, records, target="sheet")
        fps = {oid: (slip_fp(oid), order_fp(oid)) for oid in (*added, *replaced)}
        if replaced:   # in place; the cells an earlier courier's layout filled are cleared
            pick = [i for i, rec in enumerate(records) if rec["order_id"] in replacing]
            frame = sheet_frame(sheet, layout, headers, [rows[i] for i in pick], code, replaced, fps,
                                index=[replacing[o] for o in replaced])
            for k in sheet.keys:
                if k not in frame.columns and k in table.present:
                    frame[k] = None
            book.write_columns(table, frame)
        if added:
            pick = [i for i, rec in enumerate(records) if rec["order_id"] not in replacing]
            book.append_rows(sheet, sheet_frame(sheet, layout, headers, [rows[i] for i in pick], code, added, fps))
        fill = [r for oid in added for r in by_order[oid].index if text(raw.at[r, "carrier"]) is None]
        # a replaced order named the old row's courier (the earlier run filled it in): now this one
        fill += [r for oid in replaced for r in by_order[oid].index
                 if text(raw.at[r, "carrier"]) is None
                 or (old_carrier[oid] not in (None, code)
                     and carrier_code(text(raw.at[r, "carrier"]), carriers) == old_carrier[oid])]
        if fill:
            book.write_columns(state.orders, pd.DataFrame({"carrier": [code] * len(fill)}, index=fill, dtype=object))
        if out:
            from ..book import exports
            if Path(out).is_dir():
                out = default_out(out, code, ctx.clock)
            target = "csv" if str(out).lower().endswith(".csv") else "sheet"
            headers, rows = render(layout, records, target=target)
            file_info = exports.write_rows(out, headers, rows, sheet_name=layout.name)

    def named(ids: list[str], sep: str) -> str:
        return sep.join(ids[:MAX_NAMED]) + (" …" if len(ids) > MAX_NAMED else "")

    name = carriers[code].name if code in carriers else code
    zh = f"生成运单 {len(added)} 单 ({name} {code})"
    en = f"{len(added)} waybills made ({carriers[code].en if code in carriers else code}, {code})"
    if replaced:
        zh += (f"; 替换 {len(replaced)} 单 ({named(replaced, '、')}): 出库单重开并重新签字后内容已变, "
               "请在快递系统取消原运单, 改用新运单")
        en += (f"; {len(replaced)} replaced ({named(replaced, ', ')}): their slip was re-issued and signed again "
               "with changed content; cancel the old courier orders and use the new rows")
    if skipped:
        zh += f"; 跳过 {len(skipped)} 单 (已有运单)"
        en += f"; {len(skipped)} skipped (already on {WAYBILLS.name})"
        if reconfirmed:
            zh += f", 其中 {len(reconfirmed)} 单出库单重签后运单内容未变, 保留原运单"
            en += f", {len(reconfirmed)} of them kept as they are after their slip was signed again (unchanged)"
    if refused:
        ids = list(dict.fromkeys(p["order_id"] for p in refused))
        zh += f"; 拒绝 {len(ids)} 单 ({named(ids, '、')})"
        en += f"; {len(ids)} refused ({named(ids, ', ')})"
        unsigned = list(dict.fromkeys(p["slip_no"] for p in refused
                                      if p["code"] in ("waybill.not_signed", "waybill.changed_not_signed")))
        if unsigned:
            zh += f", 其中 {len(unsigned)} 张出库单未按当前内容双签: {named(unsigned, '、')}"
            en += f"; {len(unsigned)} slips lack valid signatures: {named(unsigned, ', ')}"
        stale = [p["order_id"] for p in refused if p["code"] == "waybill.changed_not_signed"]
        if stale:
            zh += f"; {len(stale)} 单已有的运单在出库单修改前做出, 已过时, 不要交给快递 ({named(stale, '、')})"
            en += (f"; {len(stale)} orders have a waybill made before their slip changed: out of date, do not "
                   f"hand it to the courier ({named(stale, ', ')})")
        gone = [p["order_id"] for p in refused if p["code"] == "waybill.shipped_before_change"]
        if gone:
            zh += f"; {len(gone)} 单发货后内容被修改, 包裹按旧运单寄出, 请人工处理 ({named(gone, '、')})"
            en += (f"; {len(gone)} orders changed after they shipped on the old waybill: a person must deal "
                   f"with them ({named(gone, ', ')})")
        dropped = [p["order_id"] for p in refused if p["code"] == "waybill.order_cancelled"]
        if dropped:
            zh += (f"; {len(dropped)} 单已全部取消但已有运单: 不要交给快递, 在快递系统取消后删除其运单行 "
                   f"({named(dropped, '、')})")
            en += (f"; {len(dropped)} orders were cancelled but have a waybill row: do not hand it to the courier; "
                   f"cancel the courier order, then delete the row ({named(dropped, ', ')})")
        returns = [p["order_id"] for p in refused if p["code"] == "waybill.cancelled_after_shipping"]
        if returns:
            zh += f"; {len(returns)} 单发货后被取消, 包裹已寄出: 请拦截退回或按售后处理 ({named(returns, '、')})"
            en += (f"; {len(returns)} orders were cancelled after they shipped: the parcel is out, have it "
                   f"intercepted or handle the return as after-sales ({named(returns, ', ')})")
    if missing:
        zh += f"; {len(missing)} 个运单行的订单已不在订单表中, 请核对后删除 ({named(missing, '、')})"
        en += f"; {len(missing)} 运单 rows name orders no longer on 订单: check, then delete them ({named(missing, ', ')})"
    if warnings:
        zh += f"; {len(warnings)} 个警告"
        en += f"; {len(warnings)} warnings"
    if file_info:
        fz, fe = file_text(file_info)
        zh, en = zh + fz, en + fe
    elif out:
        zh += "; 没有新运单, 未写文件"
        en += "; no new waybills, no file written"
    vz, ve = voided_text(state.voided)
    zh, en = zh + vz, en + ve
    data = {"carrier": code, "layout": layout.name, "added": added, "replaced": replaced, "skipped": skipped,
            "reconfirmed": reconfirmed, "cancelled": list(cancelled), "missing": missing, "refused": [p for p in refused],
            "warnings": warnings, "file": file_info, "voided": state.voided, "problems": refused + warnings}
    result = Result(COMMAND, EXIT_PROBLEMS if refused else EXIT_OK, zh, en, data, rows=len(added) + len(replaced))
    log_operation(book, ctx, result, f"--carrier {code}" + (f" --out {Path(file_info['file']).name}" if file_info else ""))
    return result
