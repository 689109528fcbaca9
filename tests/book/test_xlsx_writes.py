"""The adapter's bulk cell writer stores exactly what a cell-by-cell write through openpyxl stores; open_book leaves the garbage collector as it found it."""

from __future__ import annotations

import datetime as dt
import gc
import math

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from conftest import good_line
from pyshipbook.book import xlsx
from pyshipbook.book.schema import ORDERS
from pyshipbook.book.xlsx import NUMBER_FORMATS, _CellWriter, _set, open_book
from pyshipbook.errors import ShipbookError

VALUES = [
    None, "", "abc", " padded ", "=1+2", "@SUM(A1)", "+cmd", "#N/A", "#DIV/0!", "x" * 40000, "a\x01b\x1fc", "\x02",
    "13800138000", "0.5", 0, 1, -7, 2**40, 0.0, 2.5, float("nan"), float("inf"), True, False,
    dt.datetime(2026, 11, 26, 15, 0), dt.date(2026, 11, 26), dt.time(14, 0), pd.Timestamp("2026-11-26 09:30"),
    pd.NaT, np.int64(3), np.float64(4.5), np.float64("nan"), np.bool_(True), np.str_("np text"),
]
KINDS = list(NUMBER_FORMATS)
# what a cell may already hold: nothing, a plain value, a value with a format, a styled value
BEFORE = [
    None,
    ("old", None),
    (12, "0.00"),
    (dt.datetime(2020, 1, 2), "yyyy-mm-dd hh:mm"),
    ("keep", "@"),
    (3.5, "#,##0.0"),
    (7, "General"),
]


def _state(cell):
    return (cell._value, cell.data_type, cell.number_format, cell.has_style, type(cell._style).__name__,
            tuple(cell._style) if cell._style is not None else None, cell.style_id)


def _sheet(before):
    wb = Workbook()
    ws = wb.active
    ws.cell(1, 2, "header")
    for r, b in enumerate(before, 2):
        if b is None:
            continue
        cell = ws.cell(r, 2)
        cell.value = b[0]
        if b[1]:
            cell.number_format = b[1]
    return wb, ws


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_writer_matches_cell_by_cell_writes(kind):
    for v in VALUES:
        wb_a, ws_a = _sheet(BEFORE)
        wb_b, ws_b = _sheet(BEFORE)
        rows = list(range(2, 2 + len(BEFORE))) + [50, 51]  # the last two: cells that do not exist yet
        fmt = NUMBER_FORMATS[kind]
        for r in rows:
            _set(ws_a.cell(r, 2), v, kind, fmt)
        n = _CellWriter(ws_b).column(2, rows, [v] * len(rows), kind)
        assert n == len(rows)
        for r in rows:
            a, b = _state(ws_a.cell(r, 2)), _state(ws_b.cell(r, 2))
            if isinstance(a[0], float) and math.isnan(a[0]):
                assert isinstance(b[0], float) and math.isnan(b[0]), (kind, v, r)
                a, b = a[1:], b[1:]
            assert a == b, (kind, repr(v)[:40], r)
        assert ws_a._current_row == ws_b._current_row
        assert sorted(ws_a._cells) == sorted(ws_b._cells)
        assert list(wb_a._number_formats) == list(wb_b._number_formats)


def test_bulk_writer_text_looking_like_formula_saves_as_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    _CellWriter(ws).column(1, [1, 2, 3], ["=1+2", "@x", "#N/A"], "text")
    wb.save(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert [(c.value, c.data_type) for c in ws["A"]] == [("=1+2", "s"), ("@x", "s"), ("#N/A", "s")]


def test_bulk_writer_refuses_rows_outside_the_sheet():
    ws = Workbook().active
    with pytest.raises(ValueError):
        _CellWriter(ws).column(1, [0], ["x"], "text")
    with pytest.raises(ValueError):
        _CellWriter(ws).column(1, [1048577], ["x"], "text")


def test_open_book_hands_the_garbage_collector_back_as_it_found_it(book_with, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx, "FREEZE_MIN_CELLS", 0)  # freeze even this small book
    path = book_with([good_line()])
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with open_book(path) as book:
        assert gc.isenabled()
        with open_book(path, write=False) as other:  # two books open at once
            other.read_table(ORDERS)
        assert gc.get_freeze_count() > 0  # the outer book is still parked
        t = book.read_table(ORDERS)
        book.write_columns(t, pd.DataFrame({"remark": ["x"]}, index=t.frame.index[:1], dtype=object))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError):
        with open_book(path):
            raise RuntimeError("operation failed")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(ShipbookError):
        with open_book(bad):
            pass
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()  # a caller that runs without the collector keeps it off
    try:
        with open_book(path) as book:
            book.read_table(ORDERS)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_small_books_are_not_frozen(book_with):
    with open_book(book_with([good_line()]), write=False) as book:
        book.read_table(ORDERS)
        assert gc.get_freeze_count() == 0


def test_a_closed_big_book_is_freed_before_the_next_one_is_frozen(book_with, monkeypatch):
    import weakref

    monkeypatch.setattr(xlsx, "FREEZE_MIN_CELLS", 0)
    path = book_with([good_line()])

    def open_once():
        with open_book(path, write=False) as book:
            book.read_table(ORDERS)
            return weakref.ref(book.wb)

    first = open_once()
    open_once()
    assert first() is None  # not parked again with the second book (memory would grow book by book)
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_the_host_process_is_left_as_it_was(book_with, monkeypatch):
    monkeypatch.setattr(xlsx, "FREEZE_MIN_CELLS", 0)
    path = book_with([good_line()])
    gc.freeze()  # the host parks its own objects
    try:
        parked = gc.get_freeze_count()
        with open_book(path, write=False) as book:
            book.read_table(ORDERS)
        assert gc.get_freeze_count() == parked and gc.isenabled()
    finally:
        gc.unfreeze()
