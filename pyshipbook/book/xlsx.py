"""The openpyxl adapter: the workbook interface on a file.

Opening for writing holds the book's lock (locking.py) until the save is done;
the file is read once, checked before openpyxl sees it (safety.inspect_package),
and saving goes through safety.safe_save (temp file, repair of what openpyxl
drops, backup, a check that the file on disk is still the one read, atomic
replace), recording the book's id and a 版本 row. Reads are whole-sheet `iter_rows(values_only)`;
writes touch only cells whose value changed.
"""

from __future__ import annotations

import datetime as _dt
import gc
import io
import threading
from array import array
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE, BUILTIN_FORMATS_REVERSE
from openpyxl.worksheet.datavalidation import DataValidation

from ..errors import ShipbookError
from . import locking, revisions, safety, saving
from .common import (HEADER_SCAN_ROWS, SettingsMixin, blank, find_header, highlight_formula, is_our_rule,
                     require_columns, search_literal, setting_text)
from .interface import ChartSpec, Highlight, Table
from .schema import (CARRIERS, CHANNELS, LOG, ORDERS, PAYMENT_STATUSES, SETTING_BY_KEY, SETTINGS,
                     SETTINGS_ROWS, SHEETS, STATUSES, Sheet)

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_BORDER = Border(bottom=Side(style="thin", color="000000"))
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C", bgColor="FFEB9C")
NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "money": "0.00", "integer": "0", "number": "0.###",
                  "text": "@"}
_blank = blank
_ours = is_our_rule
_q = search_literal
_ILLEGAL_SEARCH = ILLEGAL_CHARACTERS_RE.search
_new_array = array.__new__



def _differs(old: pd.Series | None, new: pd.Series) -> np.ndarray:
    """Per row of `new`: whether the new value differs from what the cell held (blank == blank)."""
    if old is None:
        return np.ones(len(new), dtype=bool)
    o, n = old.to_numpy(dtype=object), new.to_numpy(dtype=object)
    # equal values need no write: 2 == 2.0 and datetime == Timestamp store the same cell,
    # while "2" != 2 (text becoming a number) is a change
    out = ~(o == n).astype(bool)
    at = np.flatnonzero(out)  # blank-ness only matters where the values differ
    if len(at):
        o, n = o[at], n[at]
        out[at[(pd.isna(o) | (o == "")) & (pd.isna(n) | (n == ""))]] = False
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector during a bulk pass over the cell store.

    Such a pass allocates hundreds of thousands of container objects (cells, row lists) while the
    loaded book keeps ~1M tracked objects alive; each full collection those allocations trigger walks
    them all: 1-2 s of a 250k-cell write at 50k lines, against ~0.5 s for the writes themselves. The
    pass creates no reference cycles of its own to wait for; what it leaves is collected as usual once
    the collector is back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_frozen_lock = threading.Lock()
_frozen = 0  # big books open through open_book, parked out of the collector's reach
_thawed = False  # a big book was closed and may not have been freed yet
FREEZE_MIN_CELLS = 100_000  # smaller books: the collector's walks over them cost less than the freeze


def _freeze(wb: Workbook) -> bool:
    """Move every object the collector tracks (a freshly loaded big book above all) out of its reach.

    A loaded 50k-line book is ~1M tracked objects that live until the book is closed; with them in
    the oldest generation every full collection during the operation walks them all again (three
    walks right after a load alone, ~0.5 s each). gc.freeze() parks them in the permanent generation
    and _thaw() hands them back when the last open big book closes. Books under FREEZE_MIN_CELLS
    cells are left alone (returns False): the bookkeeping below costs more than it saves there.

    After the thaw the collector's counters have never seen the book, so in a process that goes on
    working the first full collection comes soon and walks it once (~0.5 s at 50k lines, wherever it
    lands: a benchmark that times work right after closing a big book sees it there). Collecting at
    the thaw instead cost more (the caller still holds the book then: 6.4-6.7 s -> 7.1-7.3 s per
    validate of the 20k bench book in one process). A book closed since is freed before the next
    load (_collect_closed_books), so the new book's freeze never parks a dead one.
    """
    global _frozen
    if sum(len(ws._cells) for ws in wb.worksheets) < FREEZE_MIN_CELLS:
        return False
    with _frozen_lock:
        if _frozen == 0 and gc.get_freeze_count():
            return False  # the host process froze objects itself: unfreezing later would undo its freeze
        gc.freeze()
        _frozen += 1
    return True


def _thaw() -> None:
    global _frozen, _thawed
    with _frozen_lock:
        _frozen -= 1
        if _frozen == 0:
            gc.unfreeze()
            _thawed = True


def _collect_closed_books() -> None:
    """Before a load: collect once if a big book was thawed since (a no-op until one has been)."""
    global _thawed
    with _frozen_lock:
        if _thawed and _frozen == 0:
            _thawed = False
            gc.collect()


class XlsxBook(SettingsMixin):
    """A workbook file opened through openpyxl."""

    def __init__(self, path: Path, wb: Workbook):
        self.path = Path(path)
        self.name = self.path.name
        self.wb = wb
        self.changed = False
        self._read: dict[str, pd.DataFrame] = {}
        self._cols: dict[str, tuple[int, dict[str, int]]] = {}
        self._logged: list[tuple[object, str, str]] = []  # (time, user, operation) of this session's 日志 rows
        self.merged_from: list[str] = []  # revisions of another copy this save also descends from (merge)

    # -- who saved, and why (the save's 版本 row) ---------------------------------
    def note_operation(self, operation: str, user: str = "", when=None) -> None:
        """Name the operation of this session when it writes no 日志 row (e.g. `new`)."""
        self._logged.append((when, user, operation))
        self.changed = True

    def saved_by(self) -> tuple[object, str, str]:
        """(time, user, operations) for this session's revision, from its 日志 rows."""
        ops: list[str] = []
        for _, _, op in self._logged:
            if op and op not in ops:
                ops.append(op)
        when = next((t for t, _, _ in reversed(self._logged) if t is not None), None)
        user = next((u for _, u, _ in reversed(self._logged) if u), "")
        if when is None:
            when = _dt.datetime.now().replace(microsecond=0)
        return when, user, ",".join(ops)

    # -- sheets -------------------------------------------------------------
    def has_sheet(self, sheet: Sheet) -> bool:
        return sheet.name in self.wb.sheetnames

    def _ws(self, sheet: Sheet, create: bool = False):
        if sheet.name in self.wb.sheetnames:
            return self.wb[sheet.name]
        if not create:
            raise ShipbookError(f"工作簿 {self.name} 缺少工作表「{sheet.name}」",
                                f"workbook {self.name} has no sheet '{sheet.name}' ({sheet.key})")
        ws = self.wb.create_sheet(sheet.name)
        style_sheet(ws, sheet)
        self.changed = True
        return ws

    def _header(self, ws, sheet: Sheet, extra_aliases=None) -> tuple[int, dict[str, int]]:
        # the width ws.max_column gives, without its generator over every cell
        width = max(map(itemgetter(1), ws._cells)) if ws._cells else 1
        return find_header(ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, max_col=width, values_only=True),
                           sheet, extra_aliases)

    @_gc_paused()
    def read_table(self, sheet: Sheet, *, required: tuple[str, ...] = ()) -> Table:
        ws = self._ws(sheet)
        header_row, cols = self._header(ws, sheet)
        require_columns(sheet, cols, required)
        keys = sheet.keys
        # one pass over the sheet's cell store: iter_rows builds every cell of the rectangle
        slot = {c: i for i, c in enumerate(cols.get(k) for k in keys) if c}
        body: dict[int, list] = {}
        formulas: list[tuple[int, int]] = []  # (row, slot) of cells holding a real formula
        slot_of, row_of, width = slot.get, body.get, len(keys)
        for (r, c), cell in ws._cells.items():
            i = slot_of(c)
            if i is None or r <= header_row:
                continue
            v = cell._value  # what cell.value returns
            if v is None or v == "":
                continue
            rec = row_of(r)
            if rec is None:
                rec = body[r] = [None] * width
            rec[i] = v
            if cell.data_type == "f":
                formulas.append((r, i))
        rows = sorted(body)
        data = [body[r] for r in rows]
        frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), columns=keys, dtype=object)
        formula_cells = self._formulas(sheet, frame, cols, formulas)
        self._read[sheet.key] = frame.copy()
        self._cols[sheet.key] = (header_row, cols)
        return Table(sheet, frame, set(cols), formula_cells, header_row)

    def _formulas(self, sheet: Sheet, frame: pd.DataFrame, cols: dict[str, int],
                  found: list[tuple[int, int]]) -> dict[str, set[int]]:
        """Formula cells by key; numeric ones get their cached result (via calamine)."""
        out: dict[str, set[int]] = {}
        for r, i in found:
            if isinstance(frame.iat[frame.index.get_loc(r), i], str):  # openpyxl gives the formula text
                out.setdefault(sheet.keys[i], set()).add(r)
        for key, rows in out.items():
            if sheet.column(key).kind != "text":
                cached = _cached_values(self.path, sheet.name, cols[key], sorted(rows))
                for r in rows:
                    frame.at[r, key] = cached.get(r)
        return out

    # -- writing ------------------------------------------------------------
    def _ensure_columns(self, ws, sheet: Sheet, keys) -> dict[str, int]:
        header_row, cols = self._cols.get(sheet.key) or self._header(ws, sheet)
        missing = [k for k in keys if k not in cols]
        if not missing:  # the common case: no scan of the sheet for its width
            return cols
        nxt = max([ws.max_column if ws.max_row >= header_row else 0, *cols.values(), 0]) + 1
        for key in missing:
            if key not in cols:
                col = sheet.column(key)
                cell = ws.cell(header_row, nxt, col.header)
                _style_header_cell(cell)
                ws.column_dimensions[get_column_letter(nxt)].width = col.width
                cols[key] = nxt
                nxt += 1
                self.changed = True
        self._cols[sheet.key] = (header_row, cols)
        return cols

    @_gc_paused()
    def write_columns(self, table: Table, frame: pd.DataFrame) -> int:
        sheet = table.sheet
        ws = self._ws(sheet)
        cols = self._ensure_columns(ws, sheet, list(frame.columns))
        before = self._read.get(sheet.key)
        rows = frame.index.to_numpy()
        put = _CellWriter(ws)
        changed = 0
        for key in frame.columns:
            kind = sheet.column(key).kind
            formulas = table.formula_cells.get(key, set())
            new = frame[key]
            todo = _differs(before[key].reindex(new.index) if before is not None and key in before else None,
                            new)
            if formulas:  # a formula cell is rewritten (text columns) or never touched (numeric ones)
                in_formula = np.isin(rows, np.fromiter(formulas, dtype=np.int64, count=len(formulas)))
                todo = todo & ~in_formula if kind != "text" else todo | in_formula
            at = np.flatnonzero(todo)
            if len(at):
                changed += put.column(cols[key], rows[at].tolist(), new.to_numpy(dtype=object)[at].tolist(), kind)
            if before is not None:  # later writes in this session diff against what is now there
                before.loc[frame.index.intersection(before.index), key] = frame[key]
        if changed:
            self.changed = True
        return changed

    @_gc_paused()
    def append_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        if sheet.key == LOG.key and "operation" in frame:
            for t, u, op in zip(frame.get("time", [None] * len(frame)), frame.get("user", [""] * len(frame)),
                                frame["operation"]):
                self._logged.append((None if _blank(t) else t, "" if _blank(u) else str(u),
                                     "" if _blank(op) else str(op)))
        ws = self._ws(sheet, create=True)
        cols = self._ensure_columns(ws, sheet, list(frame.columns))
        first = _last_used_row(ws) + 1
        rows = list(range(first, first + len(frame)))
        put = _CellWriter(ws)
        for key in frame.columns:  # cell for cell what a row-by-row write gives
            put.column(cols[key], rows, frame[key].to_numpy(dtype=object).tolist(), sheet.column(key).kind)
        if len(frame):
            self.changed = True
            self._read.pop(sheet.key, None)  # what was read no longer describes the sheet
        return len(frame)

    def replace_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        ws = self._ws(sheet, create=True)
        header_row, cols = self._header(ws, sheet)
        if ws.max_row > header_row:
            ws.delete_rows(header_row + 1, ws.max_row - header_row)
        self._cols[sheet.key] = (header_row, cols)
        self.changed = True
        return self.append_rows(sheet, frame)

    # -- print sheets -------------------------------------------------------
    def write_print_sheet(self, page) -> None:
        from .printing import replace_print_sheet
        from .schema import SLIP_LINES
        replace_print_sheet(self.wb, page, after=SLIP_LINES.name)
        self.changed = True

    # -- highlights ---------------------------------------------------------
    def set_highlights(self, table: Table, check_key: str, highlights: list[Highlight]) -> None:
        ws = self._ws(table.sheet)
        cols = self._ensure_columns(ws, table.sheet, [check_key, *{h.column for h in highlights}])
        check_letter = get_column_letter(cols[check_key])
        first = table.header_row + 1
        keep = []
        for cf in ws.conditional_formatting:
            rules = [r for r in cf.rules if not any(_ours(f) for f in (r.formula or []))]
            if rules:
                keep.append((cf.sqref, rules))
        wanted = []
        for h in highlights:
            letter = get_column_letter(cols[h.column])
            formula = highlight_formula(h.codes, f"${check_letter}{first}")
            fill = ERROR_FILL if h.severity == "error" else WARNING_FILL
            wanted.append((f"{letter}{first}:{letter}1048576",
                           FormulaRule(formula=[formula], fill=fill, stopIfTrue=h.severity == "error"),
                           h.severity))
        existing = sorted((str(cf.sqref), r.formula[0]) for cf in ws.conditional_formatting for r in cf.rules
                          if r.formula and _ours(r.formula[0]))
        target = sorted((rng, rule.formula[0]) for rng, rule, _ in wanted)
        if existing == target:
            return
        from openpyxl.formatting.formatting import ConditionalFormattingList
        ws.conditional_formatting = ConditionalFormattingList()
        for sqref, rules in keep:
            for rule in rules:
                ws.conditional_formatting.add(str(sqref), rule)
        # errors first so they win over warnings on the same cell
        for rng, rule, _ in sorted(wanted, key=lambda w: w[2] != "error"):
            ws.conditional_formatting.add(rng, rule)
        self.changed = True

    # -- charts -------------------------------------------------------------
    def set_charts(self, sheet: Sheet, charts: list[ChartSpec]) -> None:
        ws = self._ws(sheet, create=True)
        header_row, cols = self._cols.get(sheet.key) or self._header(ws, sheet)
        if not ws._charts and not charts:
            return
        ws._charts = []
        for spec in charts:
            chart = _chart(ws, spec, header_row, cols)
            ws.add_chart(chart, chart.anchor)
        self.changed = True


def _chart(ws, spec: ChartSpec, header_row: int, cols: dict[str, int]):
    """An openpyxl chart for a ChartSpec (text categories as a string reference)."""
    from openpyxl.chart import BarChart, LineChart, Reference, Series
    from openpyxl.chart.data_source import AxDataSource, StrRef

    if spec.kind not in ("bar", "line"):
        raise ValueError(f"chart kind {spec.kind!r}")
    chart = BarChart() if spec.kind == "bar" else LineChart()
    if spec.kind == "bar":
        chart.type = "col"
    chart.title = spec.title
    chart.legend = None
    chart.width, chart.height = spec.width_cm, spec.height_cm
    chart.x_axis.title = spec.x_title or None
    chart.y_axis.title = spec.y_title or None
    chart.x_axis.delete = False  # openpyxl 3.1 hides the axes unless told otherwise
    chart.y_axis.delete = False
    values = Reference(ws, min_col=cols[spec.value_key], min_row=spec.first_row, max_row=spec.last_row)
    series = Series(values, title=spec.series_title or None)
    cat = Reference(ws, min_col=cols[spec.category_key], min_row=spec.first_row, max_row=spec.last_row)
    series.cat = AxDataSource(strRef=StrRef(f=str(cat)))
    chart.series.append(series)
    chart.anchor = spec.anchor or f"{get_column_letter(max(cols.values(), default=1) + 2)}{header_row}"
    return chart


_setting_text = setting_text


def _set(cell, v, kind: str, fmt: str) -> None:
    if _blank(v):
        cell.value = None
        return
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, str):  # a cell cannot hold XML-illegal control characters
        v = ILLEGAL_CHARACTERS_RE.sub("", v)
    cell.value = v
    if isinstance(v, str):
        # text that looks like a formula stays text (openpyxl would make it one)
        cell.data_type = "s"
    if kind != "text" or isinstance(v, str):
        if cell.number_format != fmt and not (kind != "text" and isinstance(v, str)):
            cell.number_format = fmt


class _CellWriter:
    """Writes cells as `_set(ws.cell(r, c), v, kind, fmt)` does, without openpyxl's per-cell checks.

    For the common value types (None, str, int, float, bool) it stores value, data type and number
    format straight on openpyxl's Cell (the same attributes `cell.value = v` and
    `cell.number_format = fmt` set); any other type (datetimes, numpy scalars, ...) goes through `_set`.
    """

    def __init__(self, ws):
        self.ws = ws
        self.cells = ws._cells
        self.formats = ws.parent._number_formats
        self.format_ids: dict[str, int] = {}

    def _format_id(self, fmt: str) -> int:
        """numFmtId of a format (as NumberFormatDescriptor.__set__ computes it; registered on first use)."""
        idx = self.format_ids.get(fmt)
        if idx is None:
            idx = BUILTIN_FORMATS_REVERSE.get(fmt)
            if idx is None:
                idx = self.formats.add(fmt) + BUILTIN_FORMATS_MAX_SIZE
            self.format_ids[fmt] = idx
        return idx

    def _format_text(self, idx: int) -> str:
        """The format text of a numFmtId (as NumberFormatDescriptor.__get__ gives it)."""
        if idx < BUILTIN_FORMATS_MAX_SIZE:
            return BUILTIN_FORMATS.get(idx, "General")
        return self.formats[idx - BUILTIN_FORMATS_MAX_SIZE]

    def column(self, c: int, rows: list[int], values: list, kind: str) -> int:
        """Write values[i] into (rows[i], c); returns the number of cells written."""
        if rows and not (0 < min(rows) and max(rows) < 1048577):
            bad = next(r for r in rows if not 0 < r < 1048577)
            raise ValueError(f"Row numbers must be between 1 and 1048576. Row number supplied was {bad}")
        ws, cells, fmt = self.ws, self.cells, NUMBER_FORMATS[kind]
        text = kind == "text"
        fmt_id = styled = None  # styled: a fresh style array carrying just the column's format
        top = ws._current_row
        for r, v in zip(rows, values):
            cell = cells.get((r, c))
            if cell is None:
                cell = cells[(r, c)] = Cell(ws, r, c)
                if r > top:
                    top = r
            t = type(v)
            if t is str:
                if v:
                    if _ILLEGAL_SEARCH(v):
                        v = ILLEGAL_CHARACTERS_RE.sub("", v)
                    # text that looks like a formula stays text (openpyxl would make it one)
                    cell._value = v[:32767]
                    cell.data_type = "s"
                    if not text:
                        continue
                else:
                    cell._value = None
                    cell.data_type = "n"
                    continue
            elif v is None or (t is float and v != v):
                cell._value = None
                cell.data_type = "n"
                continue
            elif t is float or t is int or t is bool:
                cell._value = v
                cell.data_type = "b" if t is bool else "n"
                if text:
                    continue
            else:
                _set(cell, v, kind, fmt)
                continue
            # the column's number format: text on text columns, numbers on numeric ones
            if fmt_id is None:
                fmt_id = self._format_id(fmt)
                styled = StyleArray()
                styled.numFmtId = fmt_id
            style = cell._style
            if style is None:
                cell._style = _new_array(StyleArray, "i", styled)  # a copy (StyleArray.__copy__, in C)
            elif style.numFmtId != fmt_id and self._format_text(style.numFmtId) != fmt:
                style.numFmtId = fmt_id
        ws._current_row = top
        return len(rows)


def _last_used_row(ws) -> int:
    """The last row holding a value in any column (formatting alone does not count)."""
    return max((r for (r, _), cell in ws._cells.items() if cell.value is not None), default=0)


def _cached_values(path: Path, sheet_name: str, col: int, rows: list[int]) -> dict[int, object]:
    """Cached results of formula cells (openpyxl cannot give both formula and value)."""
    try:
        from python_calamine import CalamineWorkbook
        data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except Exception:  # no cache, unreadable: the caller computes the value itself
        return {}
    out = {}
    for r in rows:
        if r - 1 < len(data) and col - 1 < len(data[r - 1]):
            v = data[r - 1][col - 1]
            out[r] = None if v == "" else v
    return out


# -- creating books ----------------------------------------------------------
def _style_header_cell(cell) -> None:
    cell.fill = HEADER_FILL
    cell.font = HEADER_FONT
    cell.border = HEADER_BORDER
    cell.alignment = Alignment(horizontal="center", vertical="center")


def style_sheet(ws, sheet: Sheet) -> None:
    """Headers, widths, number formats and frozen header row of a contract sheet."""
    for i, col in enumerate(sheet.columns, 1):
        cell = ws.cell(1, i, col.header)
        _style_header_cell(cell)
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.freeze_panes = "A2"
    ws.sheet_properties.tabColor = None


def _list_validation(ws, sheet: Sheet, key: str, choices, allow_other: bool) -> None:
    col = get_column_letter(sheet.keys.index(key) + 1)
    dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                        showErrorMessage=not allow_other, errorStyle="warning" if allow_other else "stop",
                        errorTitle="请选择 / Choose", error="请从列表中选择 / pick a value from the list")
    dv.add(f"{col}2:{col}1048576")
    ws.add_data_validation(dv)


def init_contract_sheets(wb: Workbook) -> None:
    """Add every contract sheet (styled, frozen, validated) and the default 设置 rows."""
    for sheet in SHEETS:
        ws = wb[sheet.name] if sheet.name in wb.sheetnames else wb.create_sheet(sheet.name)
        style_sheet(ws, sheet)
    orders = wb[ORDERS.name]
    _list_validation(orders, ORDERS, "payment_status", PAYMENT_STATUSES, allow_other=False)
    _list_validation(orders, ORDERS, "channel", CHANNELS, allow_other=True)
    _list_validation(orders, ORDERS, "carrier", CARRIERS, allow_other=True)
    _list_validation(orders, ORDERS, "status", STATUSES, allow_other=False)
    for key in ("phone", "order_id", "sku", "tracking_no"):  # long digit strings must stay text
        col = get_column_letter(ORDERS.keys.index(key) + 1)
        orders.column_dimensions[col].number_format = "@"
    settings = wb[SETTINGS.name]
    for r, s in enumerate(SETTINGS_ROWS, 2):
        settings.cell(r, 1, s.item)
        settings.cell(r, 2, s.default).data_type = "s"
        settings.cell(r, 3, s.note)


def new_workbook() -> Workbook:
    wb = Workbook()
    default = wb.active
    init_contract_sheets(wb)
    wb.remove(default)
    wb.active = 0
    return wb


@contextmanager
def open_book(path: str | Path, *, write: bool = True, backups: int = 10) -> Iterator[XlsxBook]:
    """Open a workbook file; save it safely on success if anything changed.

    Writing, the book's lock (locking.holding) is held from before the read to after the atomic
    replace, and the replace only happens if the file on disk is still the one read. A save records
    the book's id (if it had none) and one 版本 row. On an exception nothing is written and the file
    stays byte-identical. Read-only opens take no lock.
    """
    path = Path(path)
    if not write:
        with _loaded(path) as (book, _):
            yield book
        return
    if not path.is_file():
        safety.inspect_package(path)  # the usual refusal for a missing file or a folder, no lock file made
    safety.check_writable(path)
    with locking.holding(path, book_setting=lambda: lock_wait_setting(path)):
        saving.remove_stale_temps(path)
        with _loaded(path) as (book, snapshot):
            yield book
            if book.changed:
                when, user, operation = book.saved_by()
                revisions.stamp(book, when=when, user=user, operation=operation, parent_sha256=snapshot.sha256,
                                also_from=tuple(book.merged_from))
                safety.safe_save(path, lambda tmp: _gc_paused()(book.wb.save)(tmp), backups=backups,
                                 expected=snapshot)


@contextmanager
def _loaded(path: Path) -> Iterator[tuple[XlsxBook, saving.Snapshot]]:
    """The book loaded from one read of the file, checked before openpyxl sees it; closed after."""
    data, snapshot = saving.read_book(path)
    safety.inspect_package(path, data)
    options = safety.load_options_for(path)
    _collect_closed_books()
    source = io.BytesIO(data)
    source.name = str(path)  # what openpyxl's messages name
    try:
        with _gc_paused():
            wb = load_workbook(source, **options)
    except ShipbookError:
        raise
    except Exception as exc:  # openpyxl's own refusal: not a workbook we can read
        raise ShipbookError(f"无法读取工作簿 {path.name}: {exc}", f"cannot read workbook {path.name}: {exc}") from None
    del data, source
    book = XlsxBook(path, wb)
    frozen = _freeze(wb)
    try:
        yield book, snapshot
    finally:
        if frozen:
            _thaw()
        if getattr(wb, "vba_archive", None) is not None:  # openpyxl never closes it
            wb.vba_archive.close()


def lock_wait_setting(path: Path) -> object:
    """设置 等待时间 as the book was last saved, for a command waiting on its lock (read without the
    lock: saves replace the file atomically, so this sees one whole version)."""
    from python_calamine import CalamineWorkbook
    data = Path(path).read_bytes()  # one short read: on Windows an open file cannot be replaced
    safety.inspect_package(path, data)
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(SETTINGS.name).to_python()
    item = SETTING_BY_KEY["lock_wait_s"].item
    for row in rows:
        if row and str(row[0]).strip() in (item, "lock_wait_s"):
            return row[1] if len(row) > 1 else None
    return None


def save_new(wb: Workbook, path: Path) -> None:
    """Save a freshly created workbook (no original to back up)."""
    path = Path(path)
    if path.exists():
        raise ShipbookError(f"文件已存在: {path}", f"file exists: {path}")
    safety.write_atomically(path, wb.save)
