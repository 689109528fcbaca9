"""Reading an import file (a shop or WeChat export) into a raw table: the I/O edge of 导入.

Excel files (.xlsx/.xlsm/.xls) are read with python-calamine (xlrd as a
fallback for old .xls) and keep their native values (numbers, datetimes).
Text files (.csv/.txt/.tsv) are decoded as UTF-8 (with or without BOM),
UTF-16 (with BOM, Excel's "Unicode text") or GB18030 (what Chinese Excel
saves), with `,` `\\t` or `;` as delimiter; every cell stays text, so long
order ids and phone numbers stay exact.

The header row is the one among the first HEADER_SCAN_ROWS rows that names
the most known columns (title rows above it are common). Nothing here knows
what a column means beyond `key_of(header) -> key | None`, given by the caller.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..errors import ShipbookError

HEADER_SCAN_ROWS = 6
EXCEL_EXTENSIONS = (".xlsx", ".xlsm", ".xls")
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
SUPPORTED = EXCEL_EXTENSIONS + TEXT_EXTENSIONS
DELIMITERS = (",", "\t", ";")
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_BYTES = 512 * 1024 * 1024

KeyOf = Callable[[object], "str | None"]


@dataclass
class RawTable:
    """An import file's body as read.

    headers: the header text of every column ("" for a blank header cell).
    frame: positional columns 0..n-1, index = the row number in the source
    (Excel row, or CSV record number counting the header and any title rows),
    object dtype, blank cells None; completely empty rows are left out.
    """

    path: Path
    format: str                      # "excel" | "text"
    header_row: int
    headers: list[str]
    frame: pd.DataFrame
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)

    def columns(self, key_of: KeyOf) -> dict[str, int]:
        """Key -> position of the first column whose header maps to it."""
        cols: dict[str, int] = {}
        for i, h in enumerate(self.headers):
            k = key_of(h)
            if k and k not in cols:
                cols[k] = i
        return cols


def _refuse(zh: str, en: str) -> ShipbookError:
    return ShipbookError(zh, en)


def check_file(path: str | Path) -> Path:
    """The file exists, is a file and has an extension we read. Cheap; no parsing."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise _refuse(f"不支持的导入文件类型「{path.suffix or '无扩展名'}」: {path.name} (支持 {' '.join(SUPPORTED)})",
                      f"unsupported import file type '{path.suffix or 'no extension'}': {path.name} "
                      f"(supported: {' '.join(SUPPORTED)})")
    if not path.exists():
        raise _refuse(f"导入文件不存在: {path}", f"import file not found: {path}")
    if not path.is_file():
        raise _refuse(f"导入文件不是普通文件: {path}", f"import file is not a regular file: {path}")
    return path


def read_source(path: str | Path, key_of: KeyOf, sheet: str | None = None) -> RawTable:
    """Read an import file; find its header row with `key_of`.

    ShipbookError (zh + en) for a missing/unsupported/unreadable file, an
    unknown --sheet, or a file whose first rows name no known column.
    """
    path = check_file(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _refuse(f"导入文件过大 ({size // 1048576} MB): {path.name}",
                          f"import file too large ({size // 1048576} MB): {path.name}")
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise _refuse(f"无法读取导入文件 {path.name}: {exc.strerror or exc}",
                      f"cannot read import file {path.name}: {exc.strerror or exc}") from None
    if size == 0:
        raise _refuse(f"导入文件是空的: {path.name}", f"import file is empty: {path.name}")
    if head.startswith(_ZIP) or head.startswith(_OLE2):
        # decided by content: a .csv that is really a workbook is read as one too
        return _read_excel(path, key_of, sheet, ole2=head.startswith(_OLE2))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise _refuse(f"不是有效的 Excel 文件: {path.name}", f"not a valid Excel file: {path.name}")
    # a text file; also many shop "xls" exports, which are tab-separated text
    if sheet:
        raise _refuse(f"--sheet 只适用于 Excel 文件; {path.name} 是文本文件",
                      f"--sheet only applies to Excel files; {path.name} is a text file")
    return _read_text(path, key_of)


# -- header detection ----------------------------------------------------------
def _score(row: list, key_of: KeyOf) -> int:
    keys = set()
    for v in row:
        if v is None or v == "":
            continue
        k = key_of(v)
        if k:
            keys.add(k)
    return len(keys)


def find_header(rows: list[list], key_of: KeyOf) -> tuple[int, int]:
    """(0-based index, score) of the row among the first rows naming the most known columns."""
    best, best_score = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        s = _score(row, key_of)
        if s > best_score:
            best, best_score = i, s
    return best, best_score


def _no_header(path: Path, where: str = "") -> ShipbookError:
    return _refuse(f"{path.name}{where} 前 {HEADER_SCAN_ROWS} 行中没有可识别的表头 (如 订单号、商品编码、收件人); "
                   "可在「设置」的「导入列映射」中添加映射",
                   f"{path.name}{where}: no known column header in the first {HEADER_SCAN_ROWS} rows "
                   "(e.g. 订单号, 商品编码, 收件人); add a mapping in 设置 / 导入列映射")


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def _table(path: Path, fmt: str, rows: list[list], header_idx: int, first_row_no: int = 1,
           row_numbers: list[int] | None = None, **info) -> RawTable:
    """Build the RawTable from all rows (header at rows[header_idx])."""
    body = rows[header_idx + 1:]
    numbers = (row_numbers[header_idx + 1:] if row_numbers is not None
               else list(range(first_row_no + header_idx + 1, first_row_no + len(rows))))
    width = max([len(rows[header_idx])] + [len(r) for r in body]) if rows else 0
    data, index = [], []
    for n, r in zip(numbers, body):
        cells = [None if _blank(v) else v for v in r]
        if all(v is None for v in cells):
            continue
        if len(cells) < width:
            cells += [None] * (width - len(cells))
        data.append(cells)
        index.append(n)
    # trailing columns with neither header nor data are dropped
    header = [("" if _blank(v) else str(v)) for v in rows[header_idx]] + [""] * width
    header = header[:width]
    used = width
    while used and header[used - 1] == "" and all(rec[used - 1] is None for rec in data):
        used -= 1
    header = header[:used]
    data = [rec[:used] for rec in data]
    frame = pd.DataFrame(data, index=pd.Index(index, name="line", dtype="int64"),
                         columns=range(used), dtype=object)
    hdr_no = row_numbers[header_idx] if row_numbers is not None else first_row_no + header_idx
    return RawTable(path=path, format=fmt, header_row=hdr_no, headers=header, frame=frame, **info)


# -- Excel -----------------------------------------------------------------------
def _read_excel(path: Path, key_of: KeyOf, sheet: str | None, ole2: bool) -> RawTable:
    if not ole2:  # a zip package: same zip-bomb and XML-entity checks as a book (calamine has none)
        from .safety import inspect_package
        inspect_package(path)
    try:
        names, name, rows = _calamine_rows(path, sheet)
    except ShipbookError:
        raise
    except Exception as exc:  # noqa: BLE001 -- calamine refuses: try xlrd for old .xls
        if not ole2:
            raise _refuse(f"无法读取 Excel 文件 {path.name}: {exc}",
                          f"cannot read Excel file {path.name}: {exc}") from None
        try:
            names, name, rows = _xlrd_rows(path, sheet)
        except ShipbookError:
            raise
        except Exception:  # noqa: BLE001
            raise _refuse(f"无法读取 Excel 文件 {path.name} (可能已加密或已损坏): {exc}",
                          f"cannot read Excel file {path.name} (encrypted or damaged?): {exc}") from None
    idx, score = find_header(rows, key_of)
    if not score:
        raise _no_header(path, f" [{name}]")
    return _table(path, "excel", rows, idx, sheet=name, sheets=names)


def _pick_sheet(path: Path, names: list[str], sheet: str | None, default: str | None) -> str:
    if sheet is None:
        if not names:
            raise _refuse(f"{path.name} 中没有工作表", f"{path.name} has no worksheet")
        return default if default is not None else names[0]
    if sheet in names:
        return sheet
    folded = {n.strip().casefold(): n for n in names}
    if sheet.strip().casefold() in folded:
        return folded[sheet.strip().casefold()]
    raise _refuse(f"{path.name} 中没有工作表「{sheet}」(有: {'、'.join(names)})",
                  f"{path.name} has no sheet '{sheet}' (sheets: {', '.join(names)})")


def _calamine_rows(path: Path, sheet: str | None) -> tuple[list[str], str, list[list]]:
    from python_calamine import CalamineWorkbook
    with path.open("rb") as fh:
        wb = CalamineWorkbook.from_filelike(fh)  # format by content, not by extension
        try:
            names = list(wb.sheet_names)
            default = _first_visible_worksheet(wb)
            name = _pick_sheet(path, names, sheet, default)
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        finally:
            try:
                wb.close()
            except Exception:  # noqa: BLE001
                pass
    return names, name, [list(r) for r in rows]


def _first_visible_worksheet(wb) -> str | None:
    """The first visible worksheet (not a chart sheet); None when unknown."""
    try:
        from python_calamine import SheetTypeEnum, SheetVisibleEnum
        for meta in wb.sheets_metadata:
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible:
                return meta.name
    except Exception:  # noqa: BLE001 -- metadata is a nicety
        pass
    return None


def _xlrd_rows(path: Path, sheet: str | None) -> tuple[list[str], str, list[list]]:
    import xlrd
    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        names = book.sheet_names()
        name = _pick_sheet(path, names, sheet, None)
        ws = book.sheet_by_name(name)
        rows = []
        for r in range(ws.nrows):
            out = []
            for c in ws.row(r):
                if c.ctype == xlrd.XL_CELL_DATE:
                    try:
                        out.append(xlrd.xldate.xldate_as_datetime(c.value, book.datemode))
                    except Exception:  # noqa: BLE001
                        out.append(c.value)
                elif c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    out.append(None)
                elif c.ctype == xlrd.XL_CELL_BOOLEAN:
                    out.append(bool(c.value))
                elif c.ctype == xlrd.XL_CELL_ERROR:
                    out.append(xlrd.error_text_from_code.get(c.value, "#ERR"))
                else:
                    out.append(c.value)
            rows.append(out)
    finally:
        book.release_resources()
    return names, name, rows


# -- text ------------------------------------------------------------------------
def decode(data: bytes, name: str = "") -> tuple[str, str]:
    """(text, encoding): UTF-16 by BOM, else UTF-8 (strict, BOM optional), else GB18030 (strict).

    Many NUL bytes (>10 %) mean UTF-16 without a BOM, or a binary file; a stray NUL in text is kept.
    """
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    else:
        sample = data[:65536]
        nuls = sample.count(0)
        if nuls > max(2, len(sample) // 10):
            even, odd = sample[0::2].count(0), sample[1::2].count(0)
            enc = "utf-16-le" if odd > 4 * even else "utf-16-be" if even > 4 * odd else None
            if enc:
                try:
                    return data.decode(enc), enc
                except UnicodeDecodeError:
                    pass
        else:
            try:
                enc = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
                return data.decode("utf-8-sig"), enc
            except UnicodeDecodeError:
                pass
            try:
                return data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError:
                pass
    raise _refuse(f"无法识别 {name} 的文字编码 (支持 UTF-8、GBK/GB18030、UTF-16), 或它不是文本文件",
                  f"cannot decode {name}: not UTF-8, GBK/GB18030 or UTF-16 text")


def _records(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    return [list(r) for r in (itertools.islice(reader, limit) if limit else reader)]


def _read_text(path: Path, key_of: KeyOf) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refuse(f"无法读取导入文件 {path.name}: {exc.strerror or exc}",
                      f"cannot read import file {path.name}: {exc.strerror or exc}") from None
    head = data[:4096].lstrip(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")):
        raise _refuse(f"{path.name} 是网页/XML 格式 (不是真正的表格文件); 请用 Excel 打开后另存为 .xlsx 再导入",
                      f"{path.name} is an HTML/XML page, not a spreadsheet; open it in Excel, save as .xlsx, "
                      "then import")
    text, encoding = decode(data, path.name)
    text = text.lstrip("\ufeff")
    best = None
    try:
        for delim in DELIMITERS:
            head_rows = _records(text, delim, HEADER_SCAN_ROWS)
            idx, score = find_header(head_rows, key_of)
            width = len(head_rows[idx]) if head_rows else 0
            cand = (score, width, -DELIMITERS.index(delim))
            if best is None or cand > best[0]:
                best = (cand, delim, idx)
        (score, _, _), delim, idx = best
        if not score:
            raise _no_header(path)
        rows = _records(text, delim)
    except csv.Error as exc:
        raise _refuse(f"无法解析 {path.name}: {exc}", f"cannot parse {path.name}: {exc}") from None
    return _table(path, "text", rows, idx, encoding=encoding, delimiter=delim)
