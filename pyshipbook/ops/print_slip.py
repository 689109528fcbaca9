"""打印 (print): lay one outbound slip out on the sheet 出库单打印, and optionally make a PDF of it.

The layout is templates/slip/slip.toml (company name from 设置 发件人, slip
number, date, lines in pick order, totals, signature boxes for 库管员 /
财务总监 / 物流总监); the sheet is rebuilt on every print (A4, one page wide,
title and table header repeated on every page). `--pdf OUT` converts a
one-sheet copy of it with LibreOffice headless.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import SLIP_LINES, SLIP_PRINT_SHEET, SLIPS
from ..domain import normalize as nz
from ..domain.cells import text
from ..domain.slips import SlipPrint, slip_page
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "print"
BUTTON = "print"
HELP = "打印出库单 / lay out one outbound slip on 出库单打印 for printing; --pdf OUT also makes a PDF"
LAYOUT_FILE = Path("slip") / "slip.toml"


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("slip", nargs="?", default=None,
                        help="出库单号 / slip number (CKyyyymmdd-NNN); default: the last slip")
    parser.add_argument("--pdf", metavar="OUT", default=None, help="同时生成 PDF / also write a PDF to OUT")


def cli(args, ctx: Context) -> Result:
    from ..book.printing import page_to_pdf
    from ..book.xlsx import open_book
    with open_book(args.book) as book:
        return run(book, ctx, slip_no=args.slip, pdf=args.pdf, make_pdf=page_to_pdf)


def load_layout() -> dict:
    from ..build import TEMPLATES
    path = TEMPLATES / LAYOUT_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShipbookError(f"找不到出库单模板 {path}", f"slip layout {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ShipbookError(f"出库单模板有误 {path}: {exc}", f"slip layout {path} is invalid: {exc}") from None


def _text(v) -> str:
    return text(v) or ""


def _int(v, default: int = 0) -> int:
    n = nz.parse_number(v)
    return int(n) if isinstance(n, float) or (isinstance(n, int) and not isinstance(n, bool)) else default


def _money(v) -> float:
    n = nz.parse_number(v)
    return round(float(n), 2) if isinstance(n, (int, float)) and not isinstance(n, bool) else 0.0


def _date(v) -> str:
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.strftime("%Y-%m-%d")
    parsed = nz.parse_datetime(v)
    return parsed.strftime("%Y-%m-%d") if isinstance(parsed, dt.datetime) else _text(v)


def find_slip(book: Book, wanted: str | None) -> tuple[pd.Series | None, pd.DataFrame]:
    """The 出库单 row (None if absent) and its 出库明细 lines in sheet (pick) order."""
    if not book.has_sheet(SLIPS):
        return None, pd.DataFrame(columns=SLIP_LINES.keys)
    slips = book.read_table(SLIPS).frame
    numbers = slips["slip_no"].map(_text)
    if wanted:
        hits = slips[(numbers == _text(wanted)).to_numpy()]
    else:
        hits = slips[(numbers != "").to_numpy()].tail(1)
    if hits.empty:
        return None, pd.DataFrame(columns=SLIP_LINES.keys)
    row = hits.iloc[-1]
    lines = book.read_table(SLIP_LINES).frame if book.has_sheet(SLIP_LINES) else \
        pd.DataFrame(columns=SLIP_LINES.keys)
    mine = lines[(lines["slip_no"].map(_text) == _text(row["slip_no"])).to_numpy()]
    return row, mine


def run(book: Book, ctx: Context, slip_no: str | None = None, pdf: str | None = None, make_pdf=None) -> Result:
    """Lay out slip `slip_no` (default: the last one) on 出库单打印; with `pdf` (and `make_pdf`, the
    file adapter's PDF maker) also write a PDF there."""
    slip = slip_no
    row, lines = find_slip(book, slip)
    if row is None:
        what = slip or "(最后一张 / last)"
        result = Result(COMMAND, EXIT_PROBLEMS, f"找不到出库单 {what}", f"no slip {what} in {SLIPS.name}",
                        {"slip_no": slip, "refused": "slip not found", "problems": []})
        log_operation(book, ctx, result, slip or "")
        return result
    settings = book.read_settings()
    items = [{"location": _text(r.location), "sku": _text(r.sku), "name": _text(r.name), "spec": _text(r.spec),
              "qty": _int(r.qty), "order_id": _text(r.order_id), "recipient": _text(r.recipient)}
             for r in lines.itertuples(index=False)]
    order_ids = {i["order_id"] for i in items}
    info = SlipPrint(slip_no=_text(row["slip_no"]), date=_date(row["date"]), maker=_text(row["maker"]),
                     orders=_int(row["orders"], len(order_ids)), pieces=sum(i["qty"] for i in items),
                     amount=_money(row["amount"]),
                     company=settings.get("sender_name", "") or "", lines=items,
                     fingerprint=_text(row["fingerprint"]), state=_text(row["state"]))
    page = slip_page(load_layout(), info, sheet=SLIP_PRINT_SHEET)
    book.write_print_sheet(page)
    data = {"slip_no": info.slip_no, "sheet": SLIP_PRINT_SHEET, "lines": len(items), "pieces": info.pieces,
            "orders": info.orders, "amount": info.amount, "pdf": None, "font": page.font, "problems": []}
    if pdf:
        if make_pdf is None:
            raise ShipbookError("此处无法生成 PDF", "a PDF cannot be made from here")
        out = make_pdf(page, Path(pdf))
        data["pdf"] = str(out)
        data["pdf_font"] = page.pdf_font
    zh = f"出库单 {info.slip_no} 已排版到「{SLIP_PRINT_SHEET}」: {len(items)} 行, {info.pieces} 件" + \
        (f"; PDF: {data['pdf']}" if data["pdf"] else "")
    en = f"slip {info.slip_no} laid out on '{SLIP_PRINT_SHEET}': {len(items)} lines, {info.pieces} pieces" + \
        (f"; PDF: {data['pdf']}" if data["pdf"] else "")
    result = Result(COMMAND, EXIT_OK, zh, en, data, rows=len(items))
    log_operation(book, ctx, result, " ".join(x for x in (info.slip_no, f"--pdf {pdf}" if pdf else "") if x))
    return result
