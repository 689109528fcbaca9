"""导出批量发货 (export-shipped): the shop's batch-ship file for parcels shipped and not yet exported.

One row per parcel (order, courier code, tracking number) in the platform's layout,
templates/platforms/NAME.toml (wechat, taobao, youzan, generic): courier codes mapped through the
platform's table (domain/carriers.batch_ship_rows). A platform taking one number per order
(one_row_per_order) gets the order's first parcel only.

The parcels are those in 物流跟踪 (已发货 / 追加包裹 rows), plus numbers typed straight into 订单
快递单号 of lines marked 已发货 by hand, of orders shipped (已发货, 已签收, 已完成, 售后).

What was exported is remembered in 物流跟踪: one row per parcel with the event
"已导出批量发货 PLATFORM" (time = the export), so the next run exports only what is new, per
platform (exporting to another platform, e.g. after choosing the wrong one, is possible). A parcel
whose courier the platform has no code for is left out, named (tracking.platform_code_missing),
and not marked: it is offered again once the platform file has a code for it.

The file: .xlsx (every cell text) or .csv (GBK); default beside the book,
批量发货-PLATFORM-YYYYMMDD-HHMM.xlsx. No new parcel: no file, nothing marked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import ORDERS, TRACKING
from ..domain.carriers import batch_ship_rows, carrier_code, detect_carrier, split_tracking_numbers
from ..domain.cells import text
from ..domain.codes import Problem
from ..domain.lifecycle import EVENT_EXTRA_PARCEL, EVENT_SHIPPED, EXPORTED_EVENT, SHIPPED_ONWARD
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, file_text, log_operation

COMMAND = "export-shipped"
BUTTON = "export_shipped"
HELP = "导出批量发货 / the shop's batch-ship file (order, courier code, tracking number) for parcels not yet exported"
SHIPPING_EVENTS = frozenset({EVENT_SHIPPED, EVENT_EXTRA_PARCEL})
DEFAULT_PLATFORM = "wechat"


def exported_event(platform: str) -> str:
    return f"{EXPORTED_EVENT} {platform}"


def default_out(folder: str | Path, platform: str, when) -> Path:
    """The file's default name in `folder` (the book's folder unless told): 批量发货-PLATFORM-YYYYMMDD-HHMM.xlsx."""
    return Path(folder) / f"批量发货-{platform}-{when:%Y%m%d-%H%M}.xlsx"


def find_platform(name: str | None):
    """(key, Platform) for a platform key (wechat …) or its Chinese name (微信小店 …)."""
    from ..book.templates import load_platforms
    platforms = load_platforms()
    asked = (name or DEFAULT_PLATFORM).strip()
    for key, p in platforms.items():
        if asked.casefold() in (key.casefold(), p.name.casefold()):
            return key, p
    raise ShipbookError(f"未知的平台「{asked}」(可用: {' '.join(platforms)})",
                        f"unknown platform '{asked}' (available: {' '.join(platforms)})")


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--platform", default=DEFAULT_PLATFORM,
                        help="wechat | taobao | youzan | generic (默认 wechat) / the shop platform (default: wechat)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="输出文件 .xlsx 或 .csv (GBK); 默认在工作簿旁 / output file; default: beside the book, "
                             "批量发货-PLATFORM-YYYYMMDD-HHMM.xlsx")


def cli(args, ctx: Context) -> Result:
    from ..book import exports
    from ..book.xlsx import open_book
    key, _ = find_platform(args.platform)
    out = Path(args.out) if args.out else Path(args.book).resolve().parent
    if out.is_dir():
        out = default_out(out, key, ctx.clock)
    exports.check_target(out, book=args.book)
    with open_book(args.book) as book:
        return run(book, ctx, platform=key, out=out)


def parcels(orders: pd.DataFrame, events: pd.DataFrame, carriers) -> list[dict]:
    """Every parcel of a shipped order: (order_id, carrier code, tracking_no), in the order logged."""
    status = orders["status"].map(lambda v: text(v) or "")
    oid = orders["order_id"].map(text)
    shipped = set(oid[status.isin(SHIPPED_ONWARD).to_numpy()].dropna())
    out: dict[tuple[str, str], dict] = {}
    for o, c, n, e in zip(events["order_id"].map(text), events["carrier"].map(text), events["tracking_no"],
                          events["event"].map(lambda v: text(v) or "")):
        if o in shipped and e in SHIPPING_EVENTS:
            for number in split_tracking_numbers(n):
                out.setdefault((o, number), {"order_id": o, "carrier": carrier_code(c, carriers) or c,
                                             "tracking_no": number})
    for r in orders.index[status.isin(SHIPPED_ONWARD).to_numpy()]:   # numbers typed into 订单 by hand
        o = oid[r]
        numbers = split_tracking_numbers(orders.at[r, "tracking_no"])
        if not o or not numbers:
            continue
        cell = [p.strip() for p in (text(orders.at[r, "carrier"]) or "").replace("，", ",").split(",") if p.strip()]
        codes = [carrier_code(p, carriers) or p for p in cell]
        for i, number in enumerate(numbers):
            if (o, number) in out:
                continue
            c = codes[i] if len(codes) == len(numbers) else codes[0] if len(codes) == 1 else \
                detect_carrier(number, carriers) or ""
            out[(o, number)] = {"order_id": o, "carrier": c, "tracking_no": number}
    return list(out.values())


def run(book: Book, ctx: Context, platform: str = DEFAULT_PLATFORM, out: str | Path | None = None) -> Result:
    from ..book import exports
    from ..book.templates import load_carriers
    key, plat = find_platform(platform)
    if not out:
        raise ShipbookError("请指定输出文件 (--out)", "name the output file (--out)")
    if Path(out).is_dir():
        out = default_out(out, key, ctx.clock)
    carriers = load_carriers()
    orders = book.read_table(ORDERS, required=("order_id", "status"))
    events = book.read_table(TRACKING).frame if book.has_sheet(TRACKING) else \
        pd.DataFrame(columns=TRACKING.keys, dtype=object)
    marker = exported_event(key)
    done = events["event"].map(lambda v: text(v) or "") == marker
    exported = {(o, n) for o, cell in zip(events["order_id"][done].map(text), events["tracking_no"][done])
                for n in split_tracking_numbers(cell)}
    exported_orders = {o for o, _ in exported}
    todo = [p for p in parcels(orders.frame, events, carriers)
            if (p["order_id"], p["tracking_no"]) not in exported
            and not (plat.one_row_per_order and p["order_id"] in exported_orders)]
    target = "csv" if str(out).lower().endswith(".csv") else "sheet"
    headers, rows, problems = batch_ship_rows(plat, todo, carriers, target=target)
    left_out = {(p["order_id"], p["tracking_no"]) for p in problems}
    sent = [p for p in todo if (p["order_id"], p["tracking_no"]) not in left_out]
    if plat.one_row_per_order:   # the first parcel stands for the order: its others count as exported too
        sent_orders = {p["order_id"] for p in sent}
        sent = [p for p in todo if p["order_id"] in sent_orders and (p["order_id"], p["tracking_no"]) not in left_out]
    file_info = None
    if rows:
        file_info = exports.write_rows(out, headers, rows, sheet_name=plat.name)
        marks = pd.DataFrame([{"order_id": p["order_id"], "carrier": p["carrier"], "tracking_no": p["tracking_no"],
                               "event_at": ctx.clock, "event": marker} for p in sent],
                             columns=TRACKING.keys, dtype=object)
        book.append_rows(TRACKING, marks)
    refused = [Problem(p["code"], order=p["order_id"], detail=p["detail"],
                       extra={"tracking_no": p["tracking_no"]}).as_dict() for p in problems]
    n_orders = len({p["order_id"] for p in sent})
    zh = f"导出批量发货 ({plat.name}): {len(rows)} 行, {n_orders} 单"
    en = f"batch-ship file ({key}): {len(rows)} rows, {n_orders} orders"
    if file_info:
        fz, fe = file_text(file_info)
        zh, en = zh + fz, en + fe
    else:
        zh += "; 没有新的已发货包裹, 未写文件"
        en += "; no new shipped parcels, no file written"
    if refused:
        zh += f"; {len(refused)} 个包裹未导出 (平台没有该快递公司的代码)"
        en += f"; {len(refused)} parcels left out (no platform code for the courier)"
    data = {"platform": key, "platform_name": plat.name, "rows": len(rows), "orders": n_orders,
            "exported": sent, "file": file_info, "refused": refused, "problems": refused}
    result = Result(COMMAND, EXIT_PROBLEMS if refused else EXIT_OK, zh, en, data, rows=len(rows))
    log_operation(book, ctx, result, f"--platform {key}" + (f" --out {Path(out).name}" if file_info else ""))
    return result
