"""签收 (delivered): mark shipped orders 已签收 with their 签收时间.

From a courier's tracking export (`--import FILE`: a 运单号 / 快递单号 column, or an order id
column, and 签收时间) or by hand (`--order ID [--at TIME]`, default now; --order may be repeated).

Each parcel's delivery is logged in 物流跟踪 (event 已签收, time = when it was signed for). An order
becomes 已签收 when every one of its parcels (the numbers in 物流跟踪 and 订单 快递单号) is signed
for; its 已发货 lines then get 状态 已签收 and 签收时间 = the last parcel's time. `--order` signs
for every parcel of the order at once. A file row with a blank 签收时间 is a parcel not delivered yet:
skipped and counted, not an error.

Refused, named with the reason (exit 1): a number no order has (delivered.tracking_unknown), an
unknown order (tracking.order_unknown), an order not shipped yet (delivered.not_shipped), a time
that cannot be read (delivered.time_invalid). Re-importing the same file changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import ORDERS, TRACKING
from ..domain import normalize as nz
from ..domain.carriers import normalise_tracking_number, split_tracking_numbers
from ..domain.cells import normalise_header, text
from ..domain.codes import Problem
from ..domain.lifecycle import (EVENT_DELIVERED, EVENT_EXTRA_PARCEL, EVENT_SHIPPED, S_CANCELLED, S_DELIVERED,
                                S_SHIPPED, SHIPPED_ONWARD)
from ..domain.shipping_codes import DELIVERED_CODES as CODES  # noqa: F401 (the codes this command reports)
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "delivered"
BUTTON = "delivered"
HELP = "签收 / mark shipped orders delivered (已签收, 签收时间) from a courier's tracking export or by hand"
DELIVERED_AT_HEADERS = ("签收时间", "签收日期", "妥投时间", "签收时刻", "派送成功时间", "delivered_at")
MAX_NAMED = 5


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--import", dest="file", metavar="FILE", default=None,
                        help="快递公司的物流/签收导出 (运单号, 签收时间) / the courier's tracking export")
    parser.add_argument("--sheet", default=None, help="Excel 文件中的工作表 / the sheet of an Excel file")
    parser.add_argument("--order", action="append", default=None, metavar="ID",
                        help="订单号 (可重复) / order id (repeatable)")
    parser.add_argument("--at", default=None, metavar="TIME",
                        help="签收时间 (默认现在), 如 2026-11-28 10:30 / when it was signed for (default: now)")


def cli(args, ctx: Context) -> Result:
    from ..book import sources
    from ..book.xlsx import open_book
    if args.file and args.order:
        raise ShipbookError("--import 与 --order 只能选一种", "use either --import or --order")
    if not args.file and not args.order:
        raise ShipbookError("请用 --import 文件, 或 --order 订单号", "give --import FILE or --order ID")
    at = None
    if args.at:
        at = nz.parse_datetime(args.at, ref_year=ctx.clock.year)
        if not isinstance(at, dt.datetime):
            raise ShipbookError(f"--at「{args.at}」不是有效的时间 (应写作 2026-11-28 10:30)",
                                f"--at '{args.at}' is not a valid time (write it as 2026-11-28 10:30)")
    if args.file:
        sources.check_file(args.file)
    with open_book(args.book) as book:
        return run(book, ctx, file_path=args.file, orders=args.order, at=at, sheet=args.sheet)


def read_records(path, carriers, sheet=None) -> tuple[pd.DataFrame, dict]:
    """A courier tracking export as records (order_id, tracking_no, delivered_at; index = source rows)."""
    from ..book import sources
    from ..domain.carriers import tracking_import_key_of
    extra = {h: "delivered_at" for h in DELIVERED_AT_HEADERS}
    base = tracking_import_key_of(carriers)
    table = {normalise_header(h): k for h, k in extra.items()}

    def key_of(header):
        return table.get(normalise_header(header)) or base(header)

    src = sources.read_source(path, key_of, sheet=sheet)
    cols = src.columns(key_of)
    if "delivered_at" not in cols or not ({"order_id", "tracking_no"} & set(cols)):
        raise ShipbookError(f"{Path(path).name} 须有 运单号/快递单号 (或订单号) 和 签收时间 两列",
                            f"{Path(path).name} needs a tracking-number (or order id) column and 签收时间")
    frame = pd.DataFrame({k: (src.frame[cols[k]] if k in cols else None)
                          for k in ("order_id", "tracking_no", "delivered_at")}, index=src.frame.index, dtype=object)
    return frame, {"file": Path(path).name, "rows": len(frame), "header_row": src.header_row, "sheet": src.sheet}


def run(book: Book, ctx: Context, file_path: str | Path | None = None, orders: list[str] | str | None = None,
        at: dt.datetime | str | None = None, sheet: str | None = None) -> Result:
    """Mark orders delivered from `file_path`, or the `orders` given (at `at`, default now)."""
    from ..book.templates import load_carriers
    carriers = load_carriers()
    if isinstance(orders, str):
        orders = [orders]
    if file_path:
        records, info = read_records(file_path, carriers, sheet)
        source = "file"
    elif orders:
        when = at if at is not None else ctx.clock
        records = pd.DataFrame({"order_id": list(orders), "tracking_no": None, "delivered_at": [when] * len(orders)},
                               index=range(1, len(orders) + 1), dtype=object)
        info = {"orders": list(orders)}
        source = "manual"
    else:
        raise ShipbookError("请选择签收文件, 或给出订单号", "give a tracking export, or order ids")

    table = book.read_table(ORDERS, required=("order_id", "status"))
    frame = table.frame
    events = book.read_table(TRACKING).frame if book.has_sheet(TRACKING) else \
        pd.DataFrame(columns=TRACKING.keys, dtype=object)
    oid = frame["order_id"].map(text)
    status = frame["status"].map(lambda v: text(v) or "")
    live = status != S_CANCELLED
    rows_of: dict[str, list] = {}
    for r, o, ok in zip(frame.index, oid, live):
        if o and ok:
            rows_of.setdefault(o, []).append(r)
    # parcels per order, and who owns each number
    parcels: dict[str, dict[str, str | None]] = {}   # order -> number -> carrier
    owner: dict[str, str] = {}
    ev_o, ev_c, ev_e = events["order_id"].map(text), events["carrier"].map(text), events["event"].map(
        lambda v: text(v) or "")
    for o, c, n, e in zip(ev_o, ev_c, events["tracking_no"], ev_e):
        if o and e in (EVENT_SHIPPED, EVENT_EXTRA_PARCEL):
            for number in split_tracking_numbers(n):
                parcels.setdefault(o, {}).setdefault(number, c)
                owner.setdefault(number, o)
    for o, rs in rows_of.items():
        for r in rs:
            for number in split_tracking_numbers(frame.at[r, "tracking_no"]):
                parcels.setdefault(o, {}).setdefault(number, None)
                owner.setdefault(number, o)
    delivered: dict[tuple[str, str | None], dt.datetime] = {}
    for o, n, t, e in zip(ev_o, events["tracking_no"], events["event_at"], ev_e):
        if o and e == EVENT_DELIVERED:
            numbers = split_tracking_numbers(n) or [None]
            for number in numbers:
                delivered[(o, number)] = t

    refused: list[dict] = []
    skipped: list[dict] = []
    new_events: list[dict] = []
    duplicates = 0
    touched: list[str] = []
    year = ctx.clock.year
    for row, raw_o, raw_n, raw_t in zip(records.index, records["order_id"], records["tracking_no"],
                                        records["delivered_at"]):
        o = text(raw_o)
        n = normalise_tracking_number(raw_n)
        number = n if isinstance(n, str) else None

        def refuse(code: str, detail: str = "", order_id=o):
            refused.append(Problem(code, row, order_id, detail, {"tracking_no": number or text(raw_n)}).as_dict())

        if number:
            order = owner.get(number)
            if order is None or (o and o != order):
                refuse("delivered.tracking_unknown", number + (f" ({o})" if o else ""))
                continue
        elif n is not None and text(raw_n):   # a number that cannot be read
            refuse("tracking.unreadable", text(raw_n)[:40])
            continue
        elif o:
            order = o
            if order not in rows_of:
                refuse("tracking.order_unknown", o)
                continue
        else:
            refuse("tracking.missing")
            continue
        if nz._is_missing(raw_t) or (isinstance(raw_t, str) and not raw_t.strip()):
            skipped.append({"row": row, "order_id": order, "tracking_no": number,
                            "reason": "未签收 (签收时间为空) / not delivered yet (no 签收时间)"})
            continue
        when = raw_t if isinstance(raw_t, dt.datetime) else nz.parse_datetime(raw_t, ref_year=year)
        if isinstance(when, pd.Timestamp):
            when = when.to_pydatetime()
        if not isinstance(when, dt.datetime):
            refuse("delivered.time_invalid", str(raw_t)[:40], order)
            continue
        sts = {status[r] for r in rows_of.get(order, [])}
        if not sts or not sts <= SHIPPED_ONWARD:
            refuse("delivered.not_shipped", "、".join(sorted(s or "空" for s in sts)) or S_CANCELLED, order)
            continue
        targets = [number] if number else (list(parcels.get(order, {})) or [None])
        fresh = [t for t in targets if (order, t) not in delivered]
        if not fresh:
            duplicates += 1
            continue
        for t in fresh:
            delivered[(order, t)] = when
            new_events.append({"order_id": order, "carrier": parcels.get(order, {}).get(t) if t else None,
                               "tracking_no": t, "event_at": when, "event": EVENT_DELIVERED})
        touched.append(order)

    # orders whose every parcel is signed for: their 已发货 lines -> 已签收
    done_orders, partial = [], []
    upd_rows, upd_status, upd_time = [], [], []
    for order in dict.fromkeys(touched):
        numbers = list(parcels.get(order, {})) or [None]
        times = [delivered.get((order, t)) for t in numbers]
        if any(t is None for t in times):
            partial.append({"order_id": order, "parcels": len(numbers),
                            "delivered": sum(t is not None for t in times)})
            continue
        last = max(times)
        done_orders.append(order)
        for r in rows_of[order]:
            if status[r] == S_SHIPPED:
                upd_rows.append(r)
                upd_status.append(S_DELIVERED)
                upd_time.append(last)
    if upd_rows:
        book.write_columns(table, pd.DataFrame({"status": upd_status, "delivered_at": upd_time}, index=upd_rows,
                                               dtype=object))
    if new_events:
        book.append_rows(TRACKING, pd.DataFrame(new_events, columns=TRACKING.keys, dtype=object))

    what = info.get("file") or "、".join(info.get("orders", []))
    zh = f"签收 ({what}): {len(done_orders)} 单已签收 ({len(upd_rows)} 行), 已签收过 {duplicates} 个, 拒绝 {len(refused)} 个"
    en = (f"delivered ({what}): {len(done_orders)} orders signed for ({len(upd_rows)} lines), {duplicates} already, "
          f"{len(refused)} refused")
    if partial:
        zh += f"; {len(partial)} 单部分包裹已签收, 等待其余包裹"
        en += f"; {len(partial)} orders partly delivered, waiting for their other parcels"
    if skipped:
        zh += f"; {len(skipped)} 行未签收 (签收时间为空)"
        en += f"; {len(skipped)} rows not delivered yet"
    if refused:
        named = [p["order_id"] or p.get("tracking_no") or "-" for p in refused[:MAX_NAMED]]
        zh += f" (拒绝: {'、'.join(named)}{' …' if len(refused) > MAX_NAMED else ''})"
        en += f" (refused: {', '.join(named)}{' …' if len(refused) > MAX_NAMED else ''})"
    data = {"source": source, **info, "delivered_orders": done_orders, "lines": [int(r) for r in upd_rows],
            "partial": partial, "duplicates": duplicates, "skipped": skipped, "refused": refused,
            "problems": refused}
    result = Result(COMMAND, EXIT_PROBLEMS if refused else EXIT_OK, zh, en, data, rows=len(upd_rows))
    args = f"--import {info['file']}" if source == "file" else " ".join(f"--order {o}" for o in info["orders"]) + \
        (f" --at {at}" if at is not None else "")
    log_operation(book, ctx, result, args)
    return result
