"""Excel without Excel, for the macro tests: xlwings' remote engine plus a small replay of its actions.

xlwings' remote engine (xlwings/pro/_xlremote.py, PolyForm Noncommercial; enabled by
XLWINGS_LICENSE_KEY=noncommercial) is xlwings' Book/Sheet/Range object model over a JSON payload: reads
come from the payload, every write becomes an action in `book.json()["actions"]` (what its JavaScript
client would do in Excel). Here:

* `payload_from_xlsx` turns a real workbook file into that payload the way Excel would describe it
  (numbers as doubles, dates as ISO strings, the active cell, calculation mode);
* the remote engine reads formulas and conditional formats only asynchronously (from Excel). When the
  payload carries `formulas` / `conditional_formats` for a sheet, `install_sync_reads` answers the
  synchronous reads from it, the way COM answers them on Windows (Range.Formula: the formula, or the
  constant as text; FormatConditions: the sheet's rules in priority order). Without them the engine
  keeps its own behaviour (NotImplementedError);
* `apply_actions` replays the actions onto an openpyxl workbook as Excel would apply them: a string
  becomes text only in a "@" cell or behind a "'" prefix; elsewhere a string Excel would parse (a
  number, a date, "=…", "+…", "-…", "@…") is an error of the adapter, so the replay refuses it.

The product never needs any of this: it is the test harness.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import openpyxl
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

# what the replay applies to cells and rules
CONTENT_FUNCS = {"setValues", "setFormula", "setNumberFormat", "addConditionalFormat", "deleteConditionalFormat",
                 "clearConditionalFormats", "rangeDelete", "rangeMerge", "rangeUnmerge", "sheetClear"}
# looks only: recorded, not replayed (fonts, fills, borders, sizes, charts, page setup)
LOOKS_FUNCS = {"setRangeColor", "setFontProperty", "setColumnWidth", "setRowHeight", "setWrapText",
               "setHorizontalAlignment", "setVerticalAlignment", "setBorderProperty", "freezePaneAtRange",
               "setPrintArea", "setShowGridlines", "addChart", "deleteChart", "setChartXAxisValues", "setChartTitle",
               "setChartLegend", "setChartAxis", "setChartType", "setChartSourceData", "setChartSeries"}
RANGE_FUNCS = CONTENT_FUNCS | LOOKS_FUNCS  # every call that changes the book (one round trip each)
APP_FUNCS = {"setScreenUpdating", "setCalculation", "alert", "addSheet", "activateSheet"}


# -- the engine ------------------------------------------------------------------------------------
def enable_remote():
    """xlwings with its remote engine registered (however early xlwings was imported)."""
    os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
    import xlwings as xw
    from xlwings.pro import _xlremote
    if "remote" not in [e.name for e in xw.engines]:
        xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
    install_sync_reads()
    return xw


_installed = False


def install_sync_reads() -> None:
    global _installed
    if _installed:
        return
    from xlwings.pro import _xlremote
    original_formula = _xlremote.Range.formula
    original_cf = _xlremote.Range.conditional_formats

    def formula(self):
        grid = self.sheet.api.get("formulas")
        if grid is None:
            return original_formula.fget(self)
        (r1, c1), (r2, c2) = self.arg1, self.arg2 or self.arg1
        out = tuple(tuple((grid[r - 1][c - 1] if r - 1 < len(grid) and c - 1 < len(grid[r - 1]) else "")
                          for c in range(c1, c2 + 1)) for r in range(r1, r2 + 1))
        return out[0][0] if (r1, c1) == (r2, c2) else out

    def conditional_formats(self):
        entries = self.sheet.api.get("conditional_formats")
        if entries is None:
            return original_cf.fget(self)
        whole = self.arg1 == (1, 1) and self.arg2 == (_xlremote.MAX_ROWS, _xlremote.MAX_COLUMNS)
        return _xlremote.ConditionalFormats(self, entries if whole else None)

    _xlremote.Range.formula = property(formula, original_formula.fset)
    _xlremote.Range.conditional_formats = property(conditional_formats)
    _installed = True


# -- workbook file -> payload -------------------------------------------------------------------------
def _iso(v: dt.datetime) -> str:
    return v.replace(microsecond=0).isoformat() + "Z"


def _json_value(v):
    """A cell value as the client sends it: numbers are doubles, dates ISO strings, empty ''."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dt.datetime):
        return _iso(v)
    if isinstance(v, dt.date):
        return _iso(dt.datetime.combine(v, dt.time()))
    if isinstance(v, dt.time):
        return _iso(dt.datetime.combine(dt.date(1899, 12, 30), v))
    return str(v)


def _formula_text(v) -> str:
    """Range.Formula of a constant: its text."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def payload_from_xlsx(path: Path, *, active: str | None = None, selection: str = "A1",
                      sync_reads: bool = True, cached: dict | None = None) -> dict:
    """The remote engine's payload for a workbook file (what Excel would send for it).

    cached: {(sheet, row, col): value} for formula cells (openpyxl books carry no computed values).
    sync_reads: add the formulas / conditional formats that install_sync_reads serves.
    """
    import xlwings as xw
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        values, formulas = [], []
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=max(ws.max_row, 1),
                                             max_col=max(ws.max_column, 1)), 1):
            vrow, frow = [], []
            for c, cell in enumerate(row, 1):
                if cell.data_type == "f":
                    value = (cached or {}).get((ws.title, r, c))
                    vrow.append(_json_value(value))
                    frow.append(str(cell.value))
                else:
                    vrow.append(_json_value(cell.value))
                    frow.append(_formula_text(cell.value))
            values.append(vrow)
            formulas.append(frow)
        sheet = {"name": ws.title, "values": values, "pictures": [], "tables": [], "charts": [], "shapes": [],
                 "notes": [], "visibility": "Visible" if ws.sheet_state == "visible" else "Hidden"}
        if sync_reads:
            sheet["formulas"] = formulas
            sheet["conditional_formats"] = _cf_entries(ws)
        sheets.append(sheet)
    names = [ws.title for ws in wb.worksheets]
    return {"client": "Microsoft Office Scripts", "version": xw.__version__,
            # the full path as the name: the remote engine's fullname is its name, Excel's is the path
            "book": {"name": str(Path(path).resolve()), "active_sheet_index": names.index(active) if active else 0,
                     "selection": selection, "calculation": "Automatic"},
            "names": [], "sheets": sheets}


def _cf_entries(ws) -> list[dict]:
    rules = []
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            rules.append((rule.priority or 0, str(cf.sqref), rule))
    out = []
    for _, sqref, rule in sorted(rules, key=lambda x: x[0]):
        fill = None
        if rule.dxf is not None and rule.dxf.fill is not None:
            color = rule.dxf.fill.bgColor.rgb if rule.dxf.fill.bgColor is not None else None
            fill = "#" + color[-6:] if isinstance(color, str) else None
        out.append({"type": "Custom" if rule.type == "expression" else str(rule.type),
                    "formula": "=" + rule.formula[0] if rule.formula else None,
                    "applies_to": sqref, "fill_color": fill, "stop_if_true": bool(rule.stopIfTrue),
                    "font_color": None, "font_bold": None, "font_italic": None})
    return out


def remote_book(path: Path, **kw):
    xw = enable_remote()
    return xw.Book(json=payload_from_xlsx(path, **kw))


# -- actions -> workbook file ---------------------------------------------------------------------------
_ISO_OUT = re.compile(r"^(\d{4}-\d{2}-\d{2})( \d{2}:\d{2}:\d{2})?$")
_NUMBERISH = re.compile(r"^\s*[-+]?[\d.,]+(e[-+]?\d+)?%?\s*$", re.I)
_DATEISH = re.compile(r"^\s*\d{1,4}\s*[-/年.]\s*\d{1,2}(\s*[-/月.]\s*\d{1,4}\s*日?)?(\s+\d{1,2}:\d{2}(:\d{2})?)?\s*$")


def excel_would_parse(s: str) -> bool:
    """Whether Excel, given this string as a cell's Value, would store something other than this text."""
    return s[:1] in ("=", "+", "-", "@") or bool(_NUMBERISH.match(s)) or bool(_DATEISH.match(s)) \
        or s.strip().upper() in ("TRUE", "FALSE")


class UnsafeWrite(AssertionError):
    """A string reached a cell where Excel would not keep it as text."""


def _cell_from_value(v, fmt: str, where: str):
    """(value, is_text) a setValues element leaves in a cell of number format `fmt`."""
    if v == "" or v is None:
        return None, False
    if isinstance(v, str):
        if fmt == "@":
            if v.startswith("'"):
                raise UnsafeWrite(f"{where}: a text prefix in a text-formatted cell is ambiguous: {v!r}")
            return v, True
        if v.startswith("'"):
            return v[1:], True
        m = _ISO_OUT.match(v)
        if m:  # how the remote engine sends a datetime
            return dt.datetime.fromisoformat(v), False
        if excel_would_parse(v):
            raise UnsafeWrite(f"{where}: Excel would not keep {v!r} as text (format {fmt!r})")
        return v, True
    return v, False


def apply_actions(wb, actions: list[dict]) -> list[dict]:
    """Replay remote-engine actions onto an openpyxl workbook as Excel would; returns the app-level ones."""
    order = [ws.title for ws in wb.worksheets]
    rules = {ws.title: _rules_of(ws) for ws in wb.worksheets}
    app = []
    for a in actions:
        func = a["func"]
        if func in APP_FUNCS and func != "addSheet":
            app.append(a)
            continue
        if func == "addSheet":
            ix, name = a["args"]
            wb.create_sheet(name, ix)
            order.insert(ix, name)
            rules[name] = []
            app.append(a)
            continue
        if func not in RANGE_FUNCS:
            raise AssertionError(f"unexpected action {func}")
        ws = wb[order[a["sheet_position"]]]
        if func in LOOKS_FUNCS:
            continue
        if func == "sheetClear":
            for row in ws.iter_rows():
                for cell in row:
                    cell.value = None
                    cell.number_format = "General"
            for merged in list(ws.merged_cells.ranges):
                ws.unmerge_cells(str(merged))
            continue
        r0, c0 = a["start_row"] + 1, a["start_column"] + 1
        nr, nc = a["row_count"], a["column_count"]
        where = f"{ws.title}!{get_column_letter(c0)}{r0}"
        if func == "setValues":
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    cell = ws.cell(r0 + i, c0 + j)
                    value, text = _cell_from_value(v, cell.number_format, f"{where}+({i},{j})")
                    cell.value = value
                    if text:
                        cell.data_type = "s"
        elif func == "setFormula":
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    cell = ws.cell(r0 + i, c0 + j)
                    if isinstance(v, str) and v.startswith("=") and cell.number_format != "@":
                        cell.value = v
                    else:
                        value, text = _cell_from_value(v, cell.number_format, f"{where}+({i},{j})")
                        cell.value = value
                        if text:
                            cell.data_type = "s"
        elif func == "setNumberFormat":
            for r in range(r0, r0 + nr):
                for c in range(c0, c0 + nc):
                    ws.cell(r, c).number_format = a["args"][0]
        elif func == "addConditionalFormat":
            entry = dict(a["args"][0])
            entry["applies_to"] = f"{get_column_letter(c0)}{r0}:{get_column_letter(c0 + nc - 1)}{r0 + nr - 1}"
            rules[ws.title].insert(0, entry)
        elif func == "deleteConditionalFormat":
            position, snapshot = a["args"]
            current = rules[ws.title][position]
            assert current.get("formula") == snapshot.get("formula"), (current, snapshot)
            del rules[ws.title][position]
        elif func == "clearConditionalFormats":
            target = f"{get_column_letter(c0)}{r0}:{get_column_letter(c0 + nc - 1)}{r0 + nr - 1}"
            rules[ws.title] = [e for e in rules[ws.title] if e["applies_to"] != target]
        elif func == "rangeMerge":
            ws.merge_cells(start_row=r0, start_column=c0, end_row=r0 + nr - 1, end_column=c0 + nc - 1)
        elif func == "rangeUnmerge":
            for merged in list(ws.merged_cells.ranges):
                if merged.min_row <= r0 + nr - 1 and merged.max_row >= r0 and merged.min_col <= c0 + nc - 1 \
                        and merged.max_col >= c0:
                    ws.unmerge_cells(str(merged))
        elif func == "rangeDelete":
            assert a["args"] == ["up"] and c0 == 1 and nc == 16384, a
            ws.delete_rows(r0, nr)
        # setRangeColor, setFontProperty, setColumnWidth, freezePaneAtRange: looks only
    for name, entries in rules.items():
        _set_rules(wb[name], entries)
    return app


def _rules_of(ws) -> list[dict]:
    return _cf_entries(ws)


def _set_rules(ws, entries: list[dict]) -> None:
    ws.conditional_formatting = ConditionalFormattingList()
    for e in entries:  # highest priority first
        color = (e.get("fill_color") or "#FFFFFF").lstrip("#").upper()
        fill = PatternFill("solid", fgColor=color, bgColor=color)
        ws.conditional_formatting.add(e["applies_to"], FormulaRule(formula=[e["formula"].lstrip("=")], fill=fill,
                                                                     stopIfTrue=bool(e.get("stop_if_true"))))


def rules_of_file(path: Path, sheet: str) -> list[tuple[str, str, bool]]:
    """(range, formula, stop) of a saved sheet's rules, sorted: what both paths must agree on."""
    ws = openpyxl.load_workbook(path)[sheet]
    out = []
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            out.append((str(cf.sqref), rule.formula[0] if rule.formula else "", bool(rule.stopIfTrue)))
    return sorted(out)


def replay_to_file(source: Path, actions: list[dict], out: Path) -> tuple[Path, list[dict]]:
    """Apply the actions to a copy of `source`, saved as `out`."""
    wb = openpyxl.load_workbook(source)
    app = apply_actions(wb, actions)
    wb.save(out)
    return out, app


def range_writes(actions: list[dict]) -> list[dict]:
    """The range-level actions (what costs a call into Excel per action)."""
    return [a for a in actions if a["func"] in RANGE_FUNCS]



# -- clicking a button on a workbook file -------------------------------------------------------------
def answering_ui(book, open_file: str | None = None):
    """An ExcelUI on `book` whose Open dialog answers `open_file` (None: the user cancels)."""
    from pyshipbook.book.live import ExcelUI

    class AnsweringUI(ExcelUI):
        asked: list[str] = []

        def ask_open_file(self, title, filters):
            self.asked.append(title)
            return open_file

    return AnsweringUI(book)


def click_on(path: Path, button_id: str, *, open_file=None, **payload_kw):
    """Click a ribbon button on the workbook at `path` through the remote engine.

    Returns (result, book, actions, ui): the operation's Result (None if none ran), the xlwings Book,
    its actions and the UI (ui.shown lists the message boxes).
    """
    from pyshipbook import macros
    book = remote_book(path, **payload_kw)
    ui = answering_ui(book, str(open_file) if open_file else None)
    result = macros.click(button_id, book=book, ui=ui)
    return result, book, book.json()["actions"], ui
