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
layout column whose header is 订单号 or 快递公司 is that pair). Running again adds nothing for
orders already on 运单; switching courier adds the new layout's missing columns at the end.

Orders that get a waybill have their blank 快递公司 filled with the courier's code, so a numeric
tracking number logged later is checked against the right courier.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import (S_AWAIT_SHIP, S_CANCELLED, S_ON_SLIP, STOCK, WAYBILLS, Column, Sheet, normalise_header)
from ..domain import signatures as sg
from ..domain.carriers import carrier_code
from ..domain.problems import Code
from ..domain.waybills import WaybillLayout, render, waybill_records
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation
from .sign import SlipBook, problem, text, void_changed_slips, voided_text

COMMAND = "waybills"
BUTTON = "waybills"
HELP = "生成运单 / waybill rows in the courier's batch-order format for orders whose slip both directors signed"
MAX_NAMED = 5

# -- codes (move to domain/problems.py and the contract) -------------------------------------------------
from ..domain.shipping_codes import WAYBILL_OP_CODES as CODES  # noqa: E402


def waybill_sheet(layout: WaybillLayout) -> Sheet:
    """The 运单 sheet for this courier's layout: 订单号 | 快递公司, then the layout's own columns."""
    lead = WAYBILLS.columns
    taken = {normalise_header(c.header) for c in lead}
    cols = [Column(f"wb:{c.header}", c.header, "text", max(10.0, min(30.0, len(c.header) * 2.2)))
            for c in layout.columns if normalise_header(c.header) not in taken]
    return Sheet(f"{WAYBILLS.key}_{layout.carrier}", WAYBILLS.name, (*lead, *cols), owned_by_macros=True)


def sheet_frame(sheet: Sheet, layout: WaybillLayout, headers: list[str], rows: list[list], carrier: str,
                order_ids: list[str]) -> pd.DataFrame:
    by_header = {c.header: c.key for c in sheet.columns[2:]}
    data = []
    for oid, row in zip(order_ids, rows):
        rec = {"order_id": oid, "carrier": carrier}
        for h, v in zip(headers, row):
            if h in by_header:
                rec[by_header[h]] = v
        data.append(rec)
    return pd.DataFrame(data, columns=sheet.keys, dtype=object)


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


def run(book: Book, ctx: Context, carrier: str | None = None, out: str | Path | None = None) -> Result:
    settings = book.read_settings()
    code, layout, carriers = load_courier(carrier, settings)
    state = void_changed_slips(book, ctx)
    sheet = waybill_sheet(layout)
    have: set[str] = set()
    if book.has_sheet(WAYBILLS):
        have = {t for t in book.read_table(sheet).frame["order_id"].map(text) if t}

    lines, raw = state.lines, state.orders.frame
    live = lines[(lines["status"] != S_CANCELLED).to_numpy(dtype=bool) & lines["order_id"].notna().to_numpy(dtype=bool)]
    on_slip = live[live["slip_no"].notna().to_numpy(dtype=bool) & live["status"].isin({S_ON_SLIP, S_AWAIT_SHIP})
                   .to_numpy(dtype=bool)]
    ready = set(state.ready())
    by_order = {oid: g for oid, g in live.groupby("order_id", sort=False)}
    candidates = list(dict.fromkeys(on_slip["order_id"]))
    ok_orders: list[str] = []
    refused: list[dict] = []
    skipped: list[str] = []
    for oid in candidates:
        if oid in have:
            skipped.append(oid)
            continue
        g = by_order[oid]
        slips = list(dict.fromkeys(g["slip_no"]))
        if (g["status"] == S_AWAIT_SHIP).all() and all(s in ready for s in slips):
            ok_orders.append(oid)
            continue
        bad = [s for s in slips if s not in ready] or slips
        reason = "; ".join(slip_reason(state, s) for s in bad)
        c = CODES["waybill.not_signed"]
        refused.append(problem("waybill.not_signed", f"{c.zh} / {c.en}: {reason}", row=int(g.index[0]),
                               order_id=oid, slip_no=",".join(s for s in slips if s)))

    stock = book.read_table(STOCK, required=("sku",)).frame
    ok_rows = [r for oid in ok_orders for r in by_order[oid].index]
    records, wproblems = waybill_records(raw.loc[ok_rows], stock, settings, carrier=code)
    warnings: list[dict] = []
    bad_orders: dict[str, list] = {}
    for p in wproblems:
        if p.severity == "error":
            for oid in ([p.order_id] if p.order_id else ok_orders):
                bad_orders.setdefault(oid, []).append(p)
        else:
            warnings.append(problem(p.code, p.message, order_id=p.order_id, severity="warning",
                                    row=int(by_order[p.order_id].index[0]) if p.order_id in by_order else None))
    for oid, ps in bad_orders.items():
        for p in ps:
            refused.append(problem(p.code, p.message, order_id=oid, row=int(by_order[oid].index[0])))
    records = [r for r in records if r["order_id"] not in bad_orders]
    added = [r["order_id"] for r in records]

    file_info = None
    if records:
        headers, rows = render(layout, records, target="sheet")
        book.append_rows(sheet, sheet_frame(sheet, layout, headers, rows, code, added))
        fill = [r for oid in added for r in by_order[oid].index if text(raw.at[r, "carrier"]) is None]
        if fill:
            book.write_columns(state.orders, pd.DataFrame({"carrier": [code] * len(fill)}, index=fill, dtype=object))
        if out:
            from ..book import exports
            if Path(out).is_dir():
                out = default_out(out, code, ctx.clock)
            target = "csv" if str(out).lower().endswith(".csv") else "sheet"
            headers, rows = render(layout, records, target=target)
            file_info = exports.write_rows(out, headers, rows, sheet_name=layout.name)

    name = carriers[code].name if code in carriers else code
    zh = f"生成运单 {len(added)} 单 ({name} {code})"
    en = f"{len(added)} waybills made ({carriers[code].en if code in carriers else code}, {code})"
    if skipped:
        zh += f"; 跳过 {len(skipped)} 单 (已有运单)"
        en += f"; {len(skipped)} skipped (already on {WAYBILLS.name})"
    if refused:
        ids = list(dict.fromkeys(p["order_id"] for p in refused))
        named = "、".join(ids[:MAX_NAMED]) + (" …" if len(ids) > MAX_NAMED else "")
        zh += f"; 拒绝 {len(ids)} 单 ({named})"
        en += f"; {len(ids)} refused ({', '.join(ids[:MAX_NAMED])}{' …' if len(ids) > MAX_NAMED else ''})"
        unsigned = list(dict.fromkeys(p["slip_no"] for p in refused if p["code"] == "waybill.not_signed"))
        if unsigned:
            more = " …" if len(unsigned) > MAX_NAMED else ""
            zh += f", 其中 {len(unsigned)} 张出库单未按当前内容双签: {'、'.join(unsigned[:MAX_NAMED])}{more}"
            en += f"; {len(unsigned)} slips lack valid signatures: {', '.join(unsigned[:MAX_NAMED])}{more}"
    if warnings:
        zh += f"; {len(warnings)} 个警告"
        en += f"; {len(warnings)} warnings"
    if file_info:
        zh += f"; 文件 {Path(file_info['file']).name}"
        en += f"; file {Path(file_info['file']).name}"
        if file_info["replaced_chars"]:
            zh += f" ({file_info['replaced_chars']} 个 GBK 无法表示的字符已替换为 ?)"
            en += f" ({file_info['replaced_chars']} characters GBK cannot hold replaced by ?)"
    elif out:
        zh += "; 没有新运单, 未写文件"
        en += "; no new waybills, no file written"
    vz, ve = voided_text(state.voided)
    zh, en = zh + vz, en + ve
    data = {"carrier": code, "layout": layout.name, "added": added, "skipped": skipped,
            "refused": [p for p in refused], "warnings": warnings, "file": file_info,
            "voided": state.voided, "problems": refused + warnings}
    result = Result(COMMAND, EXIT_PROBLEMS if refused else EXIT_OK, zh, en, data, rows=len(added))
    log_operation(book, ctx, result, f"--carrier {code}" + (f" --out {Path(file_info['file']).name}" if file_info else ""))
    return result
