"""The xlwings adapter: the workbook interface on a book open in Excel.

`LiveBook` implements `interface.Book` on an `xlwings.Book` (in a ribbon
click: `xw.Book.caller()`, taken by pyshipbook.macros, never at import). It
mirrors `xlsx.XlsxBook` cell for cell — header detection, formula cells,
number formats, text that looks like a formula stays text, the same
conditional-format highlights — so an operation writes the same values
whichever adapter it runs on. What differs is how it talks to the workbook:
every call to Excel costs a round trip, so

* a sheet is read once per operation, as two whole-range reads (values and,
  when the sheet has any, formulas) of its used range; later reads and
  diffs use that snapshot, which this adapter keeps up to date with its own
  writes (nothing else writes while an operation runs: events are off);
* a column write is one contiguous range write of the whole column body
  (read-compare-write: the column is written only if a cell in it changed,
  and then entirely), plus one number-format write; an append is one block
  write plus one number-format write per run of equally formatted columns.
  The number of Excel calls an operation makes therefore depends on which
  columns change, never on how many rows there are (xlwings' own chunking
  of large ranges is turned off: one range, one call);
* text is written so Excel keeps it as text: text columns get the number
  format "@" before their values are written (digit strings such as phone
  numbers keep their leading zeros and "=…", "+…", "-…", "@…" stay text);
  a string in a number or date column is written with a leading apostrophe
  (Excel's text prefix, not part of the value). xlwings itself passes
  strings to Excel unchanged, where Value assignment would parse them.

Charts (`set_charts`) and print sheets (`write_print_sheet`) are drawn with
xlwings' chart and formatting API; page setup beyond the print area goes
through COM on Windows.

`excel_busy` turns screen updating, automatic calculation and events off for
the length of an operation and restores them, also on error. `ExcelUI` is
the small user-facing part (status bar, message boxes, file dialog, the
selected cell). xlwings is never imported here: the adapter only uses the
book object it is given, which is also how the tests drive it through
xlwings' remote engine (a Book over JSON, no Excel).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import pandas as pd

from ..errors import ShipbookError
from .common import (HEADER_SCAN_ROWS, SettingsMixin, blank, find_header, highlight_formula, is_our_rule,
                     require_columns, search_literal, setting_text)
from .interface import Highlight, Table
from .schema import Sheet

# The same formats, scan depth and colours as xlsx.py (a test keeps them equal; xlsx.py imports openpyxl,
# which a click should not pay for).
NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "money": "0.00", "integer": "0", "number": "0.###",
                  "text": "@"}
HEADER_FILL = "#1F4E78"
HEADER_FONT_COLOR = "#FFFFFF"
ERROR_FILL = "#FFC7CE"
WARNING_FILL = "#FFEB9C"
EXCEL_MAX_ROW = 1048576
EXCEL_MAX_COL = 16384
POINTS_PER_CM = 72 / 2.54
_CELL_REF = re.compile(r"(\$?[A-Z]{1,3})\$?\d+")
# characters a saved cell cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE)
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


# -- values -----------------------------------------------------------------------------------
_blank = blank


def _same(a, b) -> bool:
    """xlsx._same, except that datetimes within a millisecond are equal (Excel stores them as doubles)."""
    if _blank(a) and _blank(b):
        return True
    if _blank(a) or _blank(b):
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return abs(float(a) - float(b)) < 1e-9
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return abs((a - b).total_seconds()) < 0.001
    if type(a) is not type(b):
        return False
    return a == b


def from_excel(v):
    """A value as read through xlwings -> the value openpyxl reads from the saved file.

    Excel has only doubles: a whole number comes back as 2.0 where openpyxl reads 2.
    Empty cells are None.
    """
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer() and abs(v) < 2 ** 53:
            return int(v)
        return v
    if isinstance(v, str) and v == "":
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def _plain(v):
    """A frame value as a plain Python value (None for blanks)."""
    if _blank(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalar
        try:
            return v.item()
        except (TypeError, ValueError):
            return v
    if isinstance(v, str):
        return _ILLEGAL.sub("", v)
    return v


def to_excel(v, kind: str):
    """What to hand xlwings for a cell of a column of this kind (v already _plain).

    Text columns are "@"-formatted before the write, so their strings go as they are. A string in a
    number or date column gets Excel's text prefix "'", or Excel would parse "12" as a number,
    "2026/11/26" as a date and "=…" as a formula.
    """
    if v is None:
        return None
    if isinstance(v, str) and kind != "text":
        return "'" + v
    return v


def _serial(v: dt.datetime) -> float:
    return (v - _EXCEL_EPOCH).total_seconds() / 86400.0


def _for_formula_write(v):
    """A cell for a Range.Formula write (used to keep formula cells): like typing it."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return _serial(v)  # the column's number format shows it as a date
    if isinstance(v, dt.date):
        return _serial(dt.datetime.combine(v, dt.time()))
    return v


_setting_text = setting_text


_q = search_literal


_ours = is_our_rule


def _rule_key(formula: str) -> str:
    """A rule formula compared without its leading '=' and row numbers.

    Excel reports a rule's Formula1 relative to the active cell, so `$U2` may come back as `$U7`.
    """
    return _CELL_REF.sub(r"\1", formula.lstrip("="))


def col_letter(c: int) -> str:
    s = ""
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


# -- the snapshot of a sheet ------------------------------------------------------------------------
@dataclass
class _Grid:
    """A sheet's cells from A1 as read (values as openpyxl would read them) plus its formula cells."""

    values: list[list]
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def nrows(self) -> int:
        return len(self.values)

    @property
    def ncols(self) -> int:
        return max((len(r) for r in self.values), default=0)

    def get(self, r: int, c: int):
        if r - 1 < len(self.values):
            row = self.values[r - 1]
            if c - 1 < len(row):
                return row[c - 1]
        return None

    def seen(self, r: int, c: int):
        """The cell as openpyxl sees it: the formula text for a formula cell."""
        return self.formulas.get((r, c), self.get(r, c))

    def put(self, r: int, c: int, v, formula: str | None = None) -> None:
        while len(self.values) < r:
            self.values.append([])
        row = self.values[r - 1]
        if len(row) < c:
            row.extend([None] * (c - len(row)))
        row[c - 1] = v
        if formula is None:
            self.formulas.pop((r, c), None)
        else:
            self.formulas[(r, c)] = formula

    def last_used_row(self) -> int:
        """The last row holding a value or a formula in any column (formatting alone does not count)."""
        last = max((r for r, _ in self.formulas), default=0)
        for i in range(len(self.values) - 1, last - 1, -1):
            if any(v is not None for v in self.values[i]):
                return max(last, i + 1)
        return last

    def truncate(self, rows: int) -> None:
        del self.values[rows:]
        self.formulas = {k: f for k, f in self.formulas.items() if k[0] <= rows}


# -- the adapter ---------------------------------------------------------------------------------
class LiveBook(SettingsMixin):
    """An xlwings Book through the workbook interface.

    `book` is an xlwings.Book (Excel through COM / AppleScript, or the remote engine in tests).
    `status` is an optional callable(text) for progress in the status bar.
    `writes` counts the range-level calls made to Excel (values, formulas, formats, rules, deletes).
    """

    def __init__(self, book, status=None):
        self.xw = book
        self.name = book.name
        self.status = status or (lambda text: None)
        self.writes = 0
        self.reads = 0
        self._sheet_names: list[str] | None = None
        self._grids: dict[str, _Grid] = {}
        self._read: dict[str, pd.DataFrame] = {}
        self._cols: dict[str, tuple[int, dict[str, int]]] = {}
        self.changed = False

    # -- sheets ---------------------------------------------------------------------------------
    def _names(self) -> list[str]:
        if self._sheet_names is None:
            self._sheet_names = [s.name for s in self.xw.sheets]
        return self._sheet_names

    def has_sheet(self, sheet: Sheet) -> bool:
        return sheet.name in self._names()

    def has_sheet_named(self, name: str) -> bool:
        return name in self._names()

    def _ws(self, sheet: Sheet, create: bool = False):
        if sheet.name in self._names():
            return self.xw.sheets[sheet.name]
        if not create:
            raise ShipbookError(f"工作簿 {self.name} 缺少工作表「{sheet.name}」",
                                f"workbook {self.name} has no sheet '{sheet.name}' ({sheet.key})")
        sheets = self.xw.sheets
        ws = sheets.add(name=sheet.name, after=sheets[len(sheets) - 1])
        self._sheet_names.append(sheet.name)
        self._grids[sheet.name] = _Grid([])
        self._style_new_sheet(ws, sheet)
        self.changed = True
        return ws

    def _style_new_sheet(self, ws, sheet: Sheet) -> None:
        headers = [c.header for c in sheet.columns]
        rng = ws.range((1, 1), (1, len(headers)))
        rng.value = [headers]
        self.writes += 1
        for c, _ in enumerate(headers, 1):
            self._grids[sheet.name].put(1, c, headers[c - 1])
        self._style_headers(ws, 1, 1, [c.width for c in sheet.columns])
        try:
            ws.freeze_panes.freeze_at("A2")
            self.writes += 1
        except Exception:  # cosmetic; not every engine has it
            pass

    def _style_headers(self, ws, row: int, first_col: int, widths: list[float]) -> None:
        """Header look (fill, white bold font, widths): cosmetic, so an engine lacking one is no error."""
        rng = ws.range((row, first_col), (row, first_col + len(widths) - 1))
        for action in (lambda: setattr(rng, "color", HEADER_FILL),
                       lambda: setattr(rng.font, "bold", True),
                       lambda: setattr(rng.font, "color", HEADER_FONT_COLOR)):
            try:
                action()
                self.writes += 1
            except Exception:
                pass
        for i, width in enumerate(widths):
            try:
                ws.range((row, first_col + i)).column_width = width
                self.writes += 1
            except Exception:
                pass

    # -- reading --------------------------------------------------------------------------------
    def _grid(self, sheet: Sheet) -> _Grid:
        """The sheet's cells: two whole-range reads the first time, the snapshot after."""
        grid = self._grids.get(sheet.name)
        if grid is not None:
            return grid
        ws = self._ws(sheet)
        self.status(f"读取 {sheet.name} / reading {sheet.name}…")
        last = ws.used_range.last_cell
        nrows, ncols = last.row, last.column
        rng = ws.range((1, 1), (nrows, ncols))
        raw = rng.options(ndim=2, chunksize=None).value
        self.reads += 1
        values = [[from_excel(v) for v in row] for row in raw]
        grid = _Grid(values, self._read_formulas(rng, raw))
        self._grids[sheet.name] = grid
        return grid

    def _read_formulas(self, rng, raw) -> dict[tuple[int, int], str]:
        """Formula cells: Range.Formula starts with "=" and differs from the cell's value.

        Excel reports a text constant's Formula as the text itself, so a text cell holding "=abc" has
        Formula "=abc" and Value "=abc": it is text, not a formula. One read for the whole range, none
        when Excel says the range has no formula (COM's HasFormula).
        """
        try:
            if rng.api.HasFormula is False:
                return {}
        except Exception:
            pass
        try:
            formulas = rng.formula
        except NotImplementedError:  # an engine that cannot read formulas synchronously
            return {}
        self.reads += 1
        if isinstance(formulas, str):
            formulas = ((formulas,),)
        out = {}
        for r, row in enumerate(formulas or (), 1):
            if isinstance(row, str):
                row = (row,)
            values = raw[r - 1] if r - 1 < len(raw) else ()
            for c, f in enumerate(row, 1):
                if isinstance(f, str) and f.startswith("=") and len(f) > 1:
                    v = values[c - 1] if c - 1 < len(values) else None
                    if not (isinstance(v, str) and v == f):
                        out[(r, c)] = f
        return out

    def _header(self, grid: _Grid, sheet: Sheet) -> tuple[int, dict[str, int]]:
        """The header row: the one of the first rows naming most contract columns (as xlsx.py)."""
        rows = ([grid.seen(r, c) for c in range(1, len(grid.values[r - 1]) + 1)]
                for r in range(1, min(HEADER_SCAN_ROWS, grid.nrows) + 1))
        return find_header(rows, sheet)

    def read_table(self, sheet: Sheet, *, required: tuple[str, ...] = ()) -> Table:
        grid = self._grid(sheet)
        header_row, cols = self._header(grid, sheet)
        require_columns(sheet, cols, required)
        keys = sheet.keys
        idx = [cols.get(k) for k in keys]
        rows, data = [], []
        formula_cells: dict[str, set[int]] = {}
        if cols:
            for r in range(header_row + 1, grid.nrows + 1):
                rec = [grid.seen(r, i) if i else None for i in idx]
                if all(_blank(v) for v in rec):
                    continue
                for j, (key, i) in enumerate(zip(keys, idx)):
                    if i and (r, i) in grid.formulas:
                        formula_cells.setdefault(key, set()).add(r)
                        if sheet.column(key).kind != "text":  # numeric: the computed value
                            rec[j] = grid.get(r, i)
                rows.append(r)
                data.append(rec)
        frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), columns=keys, dtype=object)
        self._read[sheet.key] = frame.copy()
        self._cols[sheet.key] = (header_row, cols)
        return Table(sheet, frame, set(cols), formula_cells, header_row)

    # -- writing --------------------------------------------------------------------------------
    def _ensure_columns(self, ws, sheet: Sheet, keys) -> dict[str, int]:
        grid = self._grid(sheet)
        header_row, cols = self._cols.get(sheet.key) or self._header(grid, sheet)
        used = max([grid.ncols if grid.nrows >= header_row else 0, *cols.values(), 0])
        new = [k for k in keys if k not in cols]
        if new:
            first = used + 1
            headers = [sheet.column(k).header for k in new]
            ws.range((header_row, first), (header_row, first + len(new) - 1)).value = [headers]
            self.writes += 1
            for i, (key, header) in enumerate(zip(new, headers)):
                cols[key] = first + i
                grid.put(header_row, first + i, header)
            self._style_headers(ws, header_row, first, [sheet.column(k).width for k in new])
            self.changed = True
        self._cols[sheet.key] = (header_row, cols)
        return cols

    def _set_format(self, rng, fmt: str) -> None:
        rng.number_format = fmt
        self.writes += 1

    def write_columns(self, table: Table, frame: pd.DataFrame) -> int:
        sheet = table.sheet
        ws = self._ws(sheet)
        cols = self._ensure_columns(ws, sheet, list(frame.columns))
        grid = self._grid(sheet)
        before = self._read.get(sheet.key)
        rows = frame.index.tolist()
        if not rows:
            return 0
        first, last = min(rows), max(rows)
        changed = 0
        for key in frame.columns:
            kind = sheet.column(key).kind
            c = cols[key]
            formulas = table.formula_cells.get(key, set())
            protected = formulas if kind != "text" else set()
            new = dict(zip(rows, (_plain(v) for v in frame[key].tolist())))
            column: list = []          # the whole body range first..last, as it will be
            keep: dict[int, str] = {}  # formula cells the write must keep (row -> formula)
            n = 0
            for r in range(first, last + 1):
                old = grid.get(r, c)
                f = grid.formulas.get((r, c))
                if r in new and r not in protected:
                    v = new[r]
                    if f is not None or not _same(old, v):
                        n += 1
                    column.append(v)
                else:
                    column.append(old)
                    if f is not None:
                        keep[r] = f
            if n:
                self._write_column(ws, grid, c, first, column, kind, keep)
                changed += n
            if before is not None and key in before:
                before.loc[frame.index.intersection(before.index), key] = frame[key]
        if changed:
            self.changed = True
        return changed

    def _write_column(self, ws, grid: _Grid, c: int, first: int, column: list, kind: str,
                      keep: dict[int, str]) -> None:
        rng = ws.range((first, c), (first + len(column) - 1, c))
        self._set_format(rng, NUMBER_FORMATS[kind])
        if keep:  # a Formula write puts back the formulas it must not overwrite
            rng.options(chunksize=None).formula = [
                [keep[first + i] if first + i in keep else _for_formula_write(to_excel(v, kind))]
                for i, v in enumerate(column)]
        else:
            rng.options(chunksize=None).value = [[to_excel(v, kind)] for v in column]
        self.writes += 1
        for i, v in enumerate(column):
            r = first + i
            grid.put(r, c, v, keep.get(r))

    def append_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        ws = self._ws(sheet, create=True)
        if not len(frame):
            return 0
        cols = self._ensure_columns(ws, sheet, list(frame.columns))
        grid = self._grid(sheet)
        start = grid.last_used_row() + 1
        targets = [cols[k] for k in frame.columns]
        kinds = {cols[k]: sheet.column(k).kind for k in frame.columns}
        lo, hi = min(targets), max(targets)
        block = [[None] * (hi - lo + 1) for _ in range(len(frame))]
        for i, rec in enumerate(frame.itertuples(index=False)):
            for c, v in zip(targets, rec):
                block[i][c - lo] = _plain(v)
        end = start + len(frame) - 1
        # number formats: one write per run of adjacent columns with the same format
        c = lo
        while c <= hi:
            fmt = NUMBER_FORMATS[kinds[c]] if c in kinds else None
            run_end = c
            while run_end + 1 <= hi and (NUMBER_FORMATS[kinds[run_end + 1]] if run_end + 1 in kinds else None) == fmt:
                run_end += 1
            if fmt is not None:
                self._set_format(ws.range((start, c), (end, run_end)), fmt)
            c = run_end + 1
        ws.range((start, lo), (end, hi)).options(chunksize=None).value = [
            [to_excel(v, kinds.get(lo + j, "text")) for j, v in enumerate(row)] for row in block]
        self.writes += 1
        for i, row in enumerate(block):
            for j, v in enumerate(row):
                if v is not None:
                    grid.put(start + i, lo + j, v)
        self.changed = True
        self._read.pop(sheet.key, None)  # what was read no longer describes the sheet
        return len(frame)

    def replace_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        ws = self._ws(sheet, create=True)
        grid = self._grid(sheet)
        header_row, cols = self._header(grid, sheet)
        if grid.nrows > header_row:
            ws.range((header_row + 1, 1), (grid.nrows, EXCEL_MAX_COL)).delete(shift="up")
            self.writes += 1
            grid.truncate(header_row)
        self._cols[sheet.key] = (header_row, cols)
        self.changed = True
        return self.append_rows(sheet, frame)

    # -- highlights -----------------------------------------------------------------------------
    def set_highlights(self, table: Table, check_key: str, highlights: list[Highlight]) -> None:
        """The rules xlsx.py writes, through Excel's conditional formats; other rules are kept.

        Rules are read once (one collection); ours are recognised by their formula. When they already
        are what is wanted nothing is written; else ours are deleted and the wanted ones added
        (warnings first: Excel puts a new rule on top, so errors end up winning).
        """
        ws = self._ws(table.sheet)
        cols = self._ensure_columns(ws, table.sheet, [check_key, *{h.column for h in highlights}])
        check_letter = col_letter(cols[check_key])
        first = table.header_row + 1
        wanted = []
        for h in highlights:
            letter = col_letter(cols[h.column])
            formula = highlight_formula(h.codes, f"${check_letter}{first}")
            wanted.append((f"{letter}{first}:{letter}{EXCEL_MAX_ROW}", formula, h.severity))
        try:
            rules = list(ws.cells.conditional_formats)
        except NotImplementedError:
            rules = None  # this engine cannot list rules: clear the target columns' rules instead
        if rules is not None:
            ours = [cf for cf in rules if cf.type == "custom" and _ours(cf.formula)]
            existing = sorted((_applies_to(cf), _rule_key(cf.formula)) for cf in ours)
            target = sorted((_applies_to(None, rng), _rule_key(f)) for rng, f, _ in wanted)
            if _same_rules(existing, target):
                return
            for cf in ours:
                cf.delete()
                self.writes += 1
        else:
            for rng, _, _ in wanted:
                ws.range(rng).conditional_formats.clear()
                self.writes += 1
        for rng, formula, severity in sorted(wanted, key=lambda w: w[2] == "error"):
            ws.range(rng).conditional_formats.add_custom(
                "=" + formula, fill_color=ERROR_FILL if severity == "error" else WARNING_FILL,
                stop_if_true=severity == "error")
            self.writes += 1
        self.changed = True


    # -- charts ---------------------------------------------------------------------------------
    def set_charts(self, sheet: Sheet, charts: list) -> None:
        """Every chart on the sheet replaced by these (xlsx.py's set_charts, as native Excel charts)."""
        ws = self._ws(sheet, create=True)
        header_row, cols = self._cols.get(sheet.key) or self._header(self._grid(sheet), sheet)
        existing = list(ws.charts)
        if not existing and not charts:
            return
        for chart in existing:
            chart.delete()
            self.writes += 1
        for spec in charts:
            if spec.kind not in ("bar", "line"):
                raise ValueError(f"chart kind {spec.kind!r}")
            anchor = spec.anchor or f"{col_letter(max(cols.values(), default=1) + 2)}{header_row}"
            value_col, category_col = cols[spec.value_key], cols[spec.category_key]
            chart = ws.charts.add(width=spec.width_cm * POINTS_PER_CM, height=spec.height_cm * POINTS_PER_CM,
                                  chart_type="column_clustered" if spec.kind == "bar" else "line",
                                  source=ws.range((spec.first_row, value_col), (spec.last_row, value_col)),
                                  plot_by="columns", anchor=ws.range(anchor))
            chart.set_x_axis_values(ws.range((spec.first_row, category_col), (spec.last_row, category_col)))
            chart.title = spec.title
            self.writes += 3
            for setting in (lambda: setattr(chart.legend, "visible", False),
                            lambda: spec.x_title and setattr(chart.category_axis, "title", spec.x_title),
                            lambda: spec.y_title and setattr(chart.value_axis, "title", spec.y_title)):
                try:  # looks only
                    setting()
                    self.writes += 1
                except Exception:
                    pass
        self.changed = True

    # -- print sheets ---------------------------------------------------------------------------
    def write_print_sheet(self, page) -> None:
        """Draw a PrintPage (domain/printing.py) on its sheet, as book/printing.py does with openpyxl.

        The sheet is cleared (or added after 出库明细); then widths and heights, per style the number
        format, font, alignment, fill and borders of each rectangle of cells sharing it, all values in
        one block write, the merges, the signature boxes and the page setup. The calls depend on the page's
        layout, not on the number of orders.
        """
        from .schema import SLIP_LINES
        names = self._names()
        if page.sheet in names:
            ws = self.xw.sheets[page.sheet]
            ws.clear()
            ws.cells.unmerge()
            self.writes += 2
        else:
            sheets = self.xw.sheets
            after = sheets[SLIP_LINES.name] if SLIP_LINES.name in names else sheets[len(sheets) - 1]
            ws = sheets.add(name=page.sheet, after=after)
            names.append(page.sheet)
        self._grids.pop(page.sheet, None)
        last_row, last_col = page.last_row, page.last_col
        for i, width in enumerate(page.widths, 1):
            ws.range((1, i)).column_width = width
            self.writes += 1
        for r, height in sorted(page.heights.items()):
            ws.range((r, 1)).row_height = height
            self.writes += 1
        areas: dict[str, list[tuple[int, int, int, int]]] = {}
        for c in page.cells:
            r2, c2 = c.end
            areas.setdefault(c.style, []).append((c.row, c.col, r2, c2))
        text_cells = set()
        for name, rects in areas.items():
            style = page.styles[name]
            for r1, c1, r2, c2 in _rectangles(rects):
                self._style(ws.range((r1, c1), (r2, c2)), style, page.font, single_row=r1 == r2)
                if style.number_format == "@":
                    text_cells.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
        block = [[None] * last_col for _ in range(last_row)]
        for c in page.cells:
            v = _plain(c.value)
            block[c.row - 1][c.col - 1] = to_excel(v, "text" if (c.row, c.col) in text_cells else "number")
        ws.range((1, 1), (last_row, last_col)).options(chunksize=None).value = block
        self.writes += 1
        for c in page.cells:  # after the values: a merge keeps the top-left value, the rest is empty
            if c.end != (c.row, c.col):
                ws.range((c.row, c.col), c.end).merge()
                self.writes += 1
        for b in page.boxes:
            rng = ws.range((b.first_row, b.first_col), (b.last_row, b.last_col))
            for edge in ("edge_left", "edge_right", "edge_top", "edge_bottom"):
                border = rng.borders[edge]
                border.line_style = "continuous"
                border.weight = "medium"
                self.writes += 2
        ws.page_setup.print_area = f"A1:{col_letter(last_col)}{last_row}"
        self.writes += 1
        try:
            ws.show_gridlines = False
        except Exception:  # looks only
            pass
        _com_page_setup(ws, page)
        self.changed = True

    def _style(self, rng, style, font: str, single_row: bool) -> None:
        rng.number_format = style.number_format
        rng.font.name = font
        rng.font.size = style.size
        rng.font.bold = style.bold
        rng.wrap_text = style.wrap
        self.writes += 5
        for attr, value in (("horizontal_alignment", style.align), ("vertical_alignment", style.valign)):
            try:
                setattr(rng, attr, value)
                self.writes += 1
            except NotImplementedError:  # an engine without alignment
                pass
        if style.indent:
            try:
                rng.api.IndentLevel = style.indent  # COM only; looks only
            except Exception:
                pass
        if style.fill:
            rng.color = "#" + style.fill
            self.writes += 1
        if style.border == "all":
            rng.borders.line_style = "continuous"  # edges and inside lines: every cell outlined
            self.writes += 1
        elif style.border in ("bottom", "top"):
            edges = [f"edge_{style.border}"] + ([] if single_row else ["inside_horizontal"])
            for edge in edges:
                rng.borders[edge].line_style = "continuous"
                self.writes += 1


def _applies_to(cf, address: str | None = None) -> str | None:
    """The range a rule applies to, without '$' (None when the engine cannot tell)."""
    if cf is not None:
        try:
            api = cf.api
            address = api.get("applies_to") if isinstance(api, dict) else api.AppliesTo.Address
        except Exception:
            address = None
    return address.replace("$", "").upper() if address else None


def _same_rules(existing: list, target: list) -> bool:
    """Same formulas on the same ranges; a range the engine could not report matches any range."""
    if len(existing) != len(target):
        return False
    if all(a is not None for a, _ in existing):
        return existing == sorted(target)
    return sorted(k for _, k in existing) == sorted(k for _, k in target)


# -- the application around an operation --------------------------------------------------------------
@contextmanager
def excel_busy(app) -> Iterator[None]:
    """Screen updating off, calculation manual, events off; each restored afterwards, also on error.

    A setting the engine cannot read is assumed at Excel's default; one it cannot set is left alone.
    """
    plan = (("screen_updating", False, True), ("calculation", "manual", "automatic"),
            ("enable_events", False, True))
    saved = []
    try:
        for attr, off, default in plan:
            try:
                before = getattr(app, attr)
            except Exception:  # e.g. NotImplementedError: an engine that cannot report it
                before = default
            try:
                setattr(app, attr, off)
            except NotImplementedError:
                continue
            saved.append((attr, before))
        yield
    finally:
        for attr, before in reversed(saved):
            try:
                setattr(app, attr, before)
            except Exception:  # restoring one setting must not stop restoring the others
                pass


class ExcelUI:
    """What a click shows and asks, through the calling book's Excel."""

    def __init__(self, book):
        self.book = book
        self.shown: list[tuple[str, str, str]] = []  # (title, text, mode): what was shown, for tests and logs

    # status bar
    def status(self, text: str | None) -> None:
        try:
            self.book.app.status_bar = text if text else False
        except Exception:  # no status bar on this engine: progress is optional
            pass

    def progress(self, done: int, total: int, label: str) -> None:
        self.status(f"shipbook: {label} {done}/{total}" if total else f"shipbook: {label}")

    # message boxes
    def message(self, title: str, text: str, *, error: bool = False) -> None:
        text = text if len(text) <= 1000 else text[:990] + "\n…"
        self.shown.append((title, text, "critical" if error else "info"))
        self.book.app.alert(text, title=title, mode="critical" if error else "info")

    # file dialog
    def ask_open_file(self, title: str, filters: str) -> str | None:
        """A file chosen in Excel's Open dialog, or None when cancelled.

        filters: Excel's FileFilter text ("描述 (*.xlsx;*.csv),*.xlsx;*.csv").
        """
        if sys.platform == "darwin":
            return _mac_choose_file(title)
        try:
            chosen = self.book.app.api.GetOpenFilename(FileFilter=filters, FilterIndex=1, Title=title)
        except NotImplementedError:
            raise ShipbookError("此环境不能打开文件对话框, 请用命令行: shipbook import 工作簿 文件",
                                "no file dialog here; use the command line: shipbook import BOOK FILE") from None
        if chosen is False or chosen in ("False", "", None):
            return None
        return str(chosen)

    # selection
    def selected_cell(self) -> tuple[str, int] | None:
        """(sheet name, row) of the active cell, or None when no cell is selected."""
        sel = self.book.selection
        if sel is None:
            return None
        return sel.sheet.name, sel.row


def _mac_choose_file(title: str) -> str | None:
    import subprocess
    script = f'POSIX path of (choose file with prompt "{title.replace(chr(34), "")}")'
    done = subprocess.run(["osascript", "-e", script], capture_output=True, text=True)
    if done.returncode != 0:
        return None  # cancelled
    return done.stdout.strip() or None



def _rectangles(areas: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Cell areas (r1, c1, r2, c2) joined into fewer rectangles: side by side in a row, then stacked."""
    rows: list[tuple[int, int, int, int]] = []
    for r1, c1, r2, c2 in sorted(areas):
        if rows and rows[-1][0] == r1 and rows[-1][2] == r2 and rows[-1][3] + 1 == c1:
            rows[-1] = (r1, rows[-1][1], r2, c2)
        else:
            rows.append((r1, c1, r2, c2))
    out: list[tuple[int, int, int, int]] = []
    for r1, c1, r2, c2 in sorted(rows, key=lambda a: (a[1], a[3], a[0])):
        if out and out[-1][1] == c1 and out[-1][3] == c2 and out[-1][2] + 1 == r1:
            out[-1] = (out[-1][0], c1, r2, c2)
        else:
            out.append((r1, c1, r2, c2))
    return out


def _com_page_setup(ws, page) -> None:
    """A4, orientation, fit to one page wide, margins, repeated title rows, footer: Excel's PageSetup
    through COM (Windows). Elsewhere the print area alone is set; each setting is looks only."""
    try:
        ps = ws.api.PageSetup
    except Exception:
        return
    cm = POINTS_PER_CM
    settings = [("PaperSize", 9), ("Orientation", 2 if page.landscape else 1),
                ("CenterHorizontally", True),
                ("LeftMargin", page.margins_cm["left"] * cm), ("RightMargin", page.margins_cm["right"] * cm),
                ("TopMargin", page.margins_cm["top"] * cm), ("BottomMargin", page.margins_cm["bottom"] * cm)]
    if page.fit_to_width:
        settings += [("Zoom", False), ("FitToPagesWide", 1), ("FitToPagesTall", False)]
    if page.title_rows:
        settings.append(("PrintTitleRows", f"${page.title_rows[0]}:${page.title_rows[1]}"))
    if page.footer:
        settings.append(("CenterFooter", page.footer))
    for name, value in settings:
        try:
            setattr(ps, name, value)
        except Exception:
            pass
