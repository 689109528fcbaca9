"""Files shipbook writes for other systems: a courier's batch-order file (生成运单 --out) and a shop's
batch-ship file (导出批量发货). The I/O edge for ops/waybills.py and ops/export_shipped.py.

* `.xlsx`: one sheet, the header row, then every cell as text (number format "@", stored as a string),
  so long numbers (phones, order ids, tracking numbers) survive Excel.
* `.csv`: GBK, what Chinese Excel and the couriers' / shops' upload pages read. A character GBK
  cannot hold (an emoji in a remark, a rare name character) becomes "?"; the count is returned,
  never silently.

Written to a temporary file beside the target and moved into place; refused (ShipbookError) when
the target is open in Excel, is the workbook itself, or has another extension.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import ShipbookError
from .safety import write_atomically

EXTENSIONS = (".xlsx", ".csv")
CSV_ENCODING = "gbk"


def check_target(path: str | Path, *, book: str | Path | None = None) -> Path:
    """The target is an .xlsx or .csv we may write (not the workbook, not open in Excel). Cheap; call
    it before the workbook is touched."""
    from . import safety

    path = Path(path)
    if path.suffix.lower() not in EXTENSIONS:
        raise ShipbookError(f"输出文件须为 .xlsx 或 .csv: {path.name}",
                            f"the output file must be .xlsx or .csv: {path.name}")
    if book is not None and path.resolve() == Path(book).resolve():
        raise ShipbookError(f"输出文件不能是工作簿本身: {path}", f"the output file must not be the workbook itself: {path}")
    if not path.parent.is_dir():
        raise ShipbookError(f"输出文件夹不存在: {path.parent}", f"the output folder does not exist: {path.parent}")
    safety.check_writable(path)
    return path


def _gbk(text: str) -> tuple[str, int]:
    """`text` with every character GBK cannot encode replaced by "?" and how many were."""
    try:
        text.encode(CSV_ENCODING)
        return text, 0
    except UnicodeEncodeError:
        out, n = [], 0
        for ch in text:
            try:
                ch.encode(CSV_ENCODING)
                out.append(ch)
            except UnicodeEncodeError:
                out.append("?")
                n += 1
        return "".join(out), n


def _cell(v) -> str:
    return "" if v is None else str(v)


def _csv_bytes(headers: list[str], rows: list[list]) -> tuple[bytes, int]:
    """CSV in GBK as Chinese Excel reads it, and how many characters GBK could not hold."""
    replaced = 0
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    for rec in [headers, *rows]:
        cells = []
        for v in rec:
            text, n = _gbk(_cell(v))
            replaced += n
            cells.append(text)
        w.writerow(cells)
    return buf.getvalue().encode(CSV_ENCODING), replaced


def _xlsx(headers: list[str], rows: list[list], sheet_name: str):
    """An .xlsx with every cell text-formatted (long numbers survive)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from .xlsx import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    ws.title = (sheet_name or "Sheet1")[:31]
    widths = [len(_cell(h)) * 2 + 2 for h in headers]
    for r, rec in enumerate([headers, *rows], 1):
        for c, v in enumerate(rec, 1):
            text = ILLEGAL_CHARACTERS_RE.sub("", _cell(v))
            cell = ws.cell(r, c)
            cell.number_format = "@"
            if text != "":
                cell.value = text
                cell.data_type = "s"
            if r == 1:
                cell.font = Font(bold=True)
            if c - 1 < len(widths):
                widths[c - 1] = max(widths[c - 1], min(50, len(text) + 2))
    for c, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(c)].width = width
        ws.column_dimensions[get_column_letter(c)].number_format = "@"
    ws.freeze_panes = "A2"
    return wb


def write_rows(path: str | Path, headers: list[str], rows: list[list], *, sheet_name: str = "Sheet1") -> dict:
    """Write headers + rows to `path` (.xlsx every cell text, or .csv in GBK).

    Returns {"file", "format", "rows", "replaced_chars"}.
    """
    path = check_target(path)
    fmt = "csv" if path.suffix.lower() == ".csv" else "xlsx"
    replaced = 0

    def write(tmp: Path) -> None:
        nonlocal replaced
        if fmt == "csv":
            data, replaced = _csv_bytes(headers, rows)
            tmp.write_bytes(data)
        else:
            _xlsx(headers, rows, sheet_name).save(tmp)

    write_atomically(path, write, zh="文件", en="")
    return {"file": str(path), "format": fmt, "rows": len(rows), "replaced_chars": replaced}
