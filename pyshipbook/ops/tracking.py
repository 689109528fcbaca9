"""登记快递单号 (tracking): log tracking numbers back into the orders; the orders ship.

From a courier's result file (`--import FILE`: .xlsx/.xls/.csv; headers through the alias table in
templates/carriers.toml [tracking_import], e.g. 用户订单号 / 运单号 / 快递公司) or by hand
(`--order ID --number N [--carrier C]`; several numbers of one order joined by ","). The rules are
domain/tracking.plan_tracking: format checks per courier (a numeric number is checked against the
file's 快递公司, else the order's, else 设置 默认快递: never guessed from the digits), a number
already used by another order is refused, an order must be 待发货 (or 已发货: a further parcel).

Writes, for what was accepted:

* 订单: 状态 已发货, 发货时间 (set once, when the order ships), 快递公司 and 快递单号 as text. An
  order with several parcels holds all its numbers in 快递单号, joined by "," in the order they were
  logged, and their couriers in 快递公司 the same way;
* 物流跟踪: one row per (order, number): 已发货 for the first parcel, 追加包裹 for further ones;
* 库存: the shipped quantity leaves 库存数量 exactly once per line (when the line turns 已发货), and
  已分配 drops by the same (recomputed from the ledger: shipped lines hold nothing), so 可用 stays.

Re-importing the same file changes nothing (each (order, number) already in 物流跟踪 is a no-op).
Refused rows are named with their reason; the run then exits 1.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import ORDERS, STOCK, TRACKING
from ..domain import allocation as al
from ..domain import normalize as nz
from ..domain.tracking import EVENT_COLUMNS, plan_tracking
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "tracking"
BUTTON = "tracking"
HELP = "登记快递单号 / log tracking numbers (a courier's result file, or --order --number): the orders ship"
ORDER_REQUIRED = ("order_id", "sku", "qty", "status")
MAX_NAMED = 5


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--import", dest="file", metavar="FILE", default=None,
                        help="快递公司导出的单号文件 (.xlsx .xls .csv) / the courier's result file")
    parser.add_argument("--sheet", default=None, help="Excel 文件中的工作表 / the sheet of an Excel file")
    parser.add_argument("--order", default=None, metavar="ID", help="订单号 / order id (with --number)")
    parser.add_argument("--number", default=None, metavar="N",
                        help="快递单号, 多个包裹用逗号分隔 / tracking number(s), comma-separated for several parcels")
    parser.add_argument("--carrier", default=None, metavar="C",
                        help="快递公司 (代码或名称) / courier (code or name) for --number")


def cli(args, ctx: Context) -> Result:
    from ..book import sources
    from ..book.xlsx import open_book
    if args.file and (args.order or args.number):
        raise ShipbookError("--import 与 --order/--number 只能选一种", "use either --import or --order/--number")
    if not args.file and not (args.order and args.number):
        raise ShipbookError("请用 --import 文件, 或 --order 订单号 --number 快递单号",
                            "give --import FILE, or --order ID --number N")
    if args.file:
        sources.check_file(args.file)
    with open_book(args.book) as book:
        return run(book, ctx, file_path=args.file, order_id=args.order, number=args.number, carrier=args.carrier,
                   sheet=args.sheet)


def read_records(path: str | Path, carriers, sheet: str | None = None) -> tuple[pd.DataFrame, dict]:
    """A tracking result file as records (order_id, tracking_no, carrier; index = source rows)."""
    from ..book import sources
    from ..domain.carriers import tracking_import_key_of
    key_of = tracking_import_key_of(carriers)
    src = sources.read_source(path, key_of, sheet=sheet)
    cols = src.columns(key_of)
    missing = [k for k in ("order_id", "tracking_no") if k not in cols]
    if missing:
        names = {"order_id": "订单号/用户订单号", "tracking_no": "运单号/快递单号"}
        raise ShipbookError(f"{Path(path).name} 缺少列: {'、'.join(names[k] for k in missing)}",
                            f"{Path(path).name} lacks column(s): {', '.join(missing)}")
    frame = pd.DataFrame({k: (src.frame[cols[k]] if k in cols else None)
                          for k in ("order_id", "tracking_no", "carrier")}, index=src.frame.index, dtype=object)
    info = {"file": Path(path).name, "header_row": src.header_row, "rows": len(frame), "sheet": src.sheet,
            "encoding": src.encoding}
    return frame, info


def manual_records(order_id: str, number: str, carrier: str | None) -> pd.DataFrame:
    parts = [p.strip() for p in str(number).replace("，", ",").split(",") if p.strip()] or [number]
    return pd.DataFrame({"order_id": [order_id] * len(parts), "tracking_no": parts,
                         "carrier": [carrier] * len(parts)}, index=range(1, len(parts) + 1), dtype=object)


def run(book: Book, ctx: Context, file_path: str | Path | None = None, order_id: str | None = None,
        number: str | None = None, carrier: str | None = None, sheet: str | None = None) -> Result:
    """Log tracking numbers from `file_path`, or `number` for `order_id` (see the module docstring)."""
    from ..book.templates import load_carriers
    carriers = load_carriers()
    if file_path:
        records, info = read_records(file_path, carriers, sheet)
        source = "file"
    elif order_id and number:
        records, info = manual_records(order_id, number, carrier), {"order_id": order_id}
        source = "manual"
    else:
        raise ShipbookError("请选择快递单号文件, 或给出订单号和快递单号", "give a tracking file, or an order id and a number")
    settings = book.read_settings()
    orders = book.read_table(ORDERS, required=ORDER_REQUIRED)
    events = book.read_table(TRACKING).frame if book.has_sheet(TRACKING) else \
        pd.DataFrame(columns=list(EVENT_COLUMNS), dtype=object)
    ctx.report(0, len(records), "登记快递单号 / logging tracking numbers")
    plan = plan_tracking(orders.frame, events, records, carriers, now=ctx.clock,
                         default_carrier=settings.get("default_carrier") or None)

    if len(plan.line_updates):
        upd = plan.line_updates.astype(object)
        book.write_columns(orders, upd.where(upd.notna(), None))
        for key in upd.columns:
            orders.frame.loc[upd.index, key] = upd[key]
    if len(plan.events):
        book.append_rows(TRACKING, plan.events.reindex(columns=TRACKING.keys).astype(object))
    stock_moves = write_stock(book, ctx, orders, plan.shipped) if plan.shipped else {}
    ctx.report(len(records), len(records), "登记快递单号 / logging tracking numbers")

    refused = [d.problem.as_dict() for d in plan.rejected]
    accepted = [d for d in plan.decisions if d.outcome == "accepted"]
    dup = plan.count("duplicate")
    shipped_orders = list(dict.fromkeys(orders.frame.at[r, "order_id"] for r in plan.shipped_rows))
    what = info.get("file") or f"{order_id}"
    zh = (f"登记快递单号 ({what}): 新登记 {len(accepted)} 个, {len(shipped_orders)} 单发货 ({len(plan.shipped_rows)} 行)"
          f", 已登记过 {dup} 个, 拒绝 {len(refused)} 个")
    en = (f"tracking numbers ({what}): {len(accepted)} logged, {len(shipped_orders)} orders shipped "
          f"({len(plan.shipped_rows)} lines), {dup} already logged, {len(refused)} refused")
    if refused:
        named = [f"{p['order_id'] or '-'} {p['tracking_no'] or ''}".strip() for p in refused[:MAX_NAMED]]
        zh += f" ({'、'.join(named)}{' …' if len(refused) > MAX_NAMED else ''})"
        en += f" ({', '.join(named)}{' …' if len(refused) > MAX_NAMED else ''})"
    if plan.shipped:
        zh += "; 出库: " + "、".join(f"{s}×{q}" for s, q in plan.shipped.items())
        en += "; stock out: " + ", ".join(f"{s}×{q}" for s, q in plan.shipped.items())
    kept = {**stock_moves.get("_on_hand_not_changed", {}), **stock_moves.get("_not_in_stock", {})}
    if kept:
        zh += "; 注意: 这些商品的库存数量未扣减 (不在库存表、为公式或不是数字), 请手工调整: " + "、".join(kept)
        en += "; note: 库存数量 not reduced for (not in 库存, a formula or not a number), adjust by hand: " + \
            ", ".join(kept)
    data = {"source": source, **info,
            "accepted": [d.as_dict() for d in accepted], "duplicates": dup, "refused": refused,
            "shipped_orders": shipped_orders, "shipped_lines": [int(r) for r in plan.shipped_rows],
            "stock_out": plan.shipped, "stock": stock_moves, "problems": refused}
    result = Result(COMMAND, EXIT_PROBLEMS if refused else EXIT_OK, zh, en, data,
                    rows=len(plan.line_updates))
    args = f"--import {info['file']}" if source == "file" else f"--order {order_id} --number {number}" + \
        (f" --carrier {carrier}" if carrier else "")
    log_operation(book, ctx, result, args)
    return result


def write_stock(book: Book, ctx: Context, orders, shipped: dict[str, int]) -> dict:
    """库存数量 minus what shipped; 已分配 / 可用 recomputed from the ledger (shipped lines hold nothing)."""
    stock_t = book.read_table(STOCK, required=("sku", "on_hand"))
    stock, _ = al.stock_table(stock_t.frame)
    lines = al.order_lines(orders.frame, ref_year=ctx.clock.year)
    on_hand = stock["on_hand"].copy()
    unknown, unreadable = {}, {}
    formulas = stock_t.formula_cells.get("on_hand", set())
    for sku, qty in shipped.items():
        if sku not in on_hand.index:
            unknown[sku] = qty
            continue
        row = int(stock.at[sku, "row"])
        cell = nz.parse_int(stock_t.frame.at[row, "on_hand"])
        if row in formulas or not (isinstance(cell, int) and not isinstance(cell, bool)):
            unreadable[sku] = qty   # a formula or text in 库存数量: the user keeps it; say so
            continue
        on_hand[sku] -= qty
    stock = stock.assign(on_hand=on_hand)
    pos = al.stock_position(stock, lines["status"], lines["alloc_sku"], lines["alloc_qty"])
    skus = [s for s in stock.index if s in shipped]
    rows = [int(stock.at[s, "row"]) for s in skus]
    if skus:
        book.write_columns(stock_t, pd.DataFrame({"allocated": [int(pos.at[s, "allocated"]) for s in skus]},
                                                 index=rows, dtype=object))
        readable = [(s, r) for s, r in zip(skus, rows) if s not in unreadable]
        if readable:   # 可用 = 库存数量 − 已分配 only where 库存数量 is a number shipbook keeps
            book.write_columns(stock_t, pd.DataFrame({"on_hand": [int(pos.at[s, "on_hand"]) for s, _ in readable],
                                                      "available": [int(pos.at[s, "available"]) for s, _ in readable]},
                                                     index=[r for _, r in readable], dtype=object))
    moves = {s: {"on_hand": int(pos.at[s, "on_hand"]), "allocated": int(pos.at[s, "allocated"]),
                 "available": int(pos.at[s, "available"])} for s in skus}
    if unknown:
        moves["_not_in_stock"] = unknown
    if unreadable:
        moves["_on_hand_not_changed"] = unreadable
    return moves
