"""The one small interface every operation uses to reach a workbook.

Two adapters implement it: `xlsx.XlsxBook` (openpyxl, on a file) and
`live.LiveBook` (xlwings, on a book open in Excel). Operations see whole
tables as pandas frames keyed by the contract's English keys and indexed by
Excel row number; they never touch cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd

from ..domain.printing import PrintPage
from .schema import Sheet


@dataclass
class Table:
    """A sheet's body as read.

    frame: one column per contract key (object dtype, raw cell values; a key
    the sheet lacks is all None), index = Excel row numbers, blank rows left out.
    present: keys the sheet really has as columns.
    formula_cells: key -> Excel rows holding a real formula (values are the
    cached results for numeric columns, the formula text for text columns).
    """

    sheet: Sheet
    frame: pd.DataFrame
    present: set[str] = field(default_factory=set)
    formula_cells: dict[str, set[int]] = field(default_factory=dict)
    header_row: int = 1

    @property
    def rows(self) -> list[int]:
        return list(self.frame.index)


@dataclass(frozen=True)
class Highlight:
    """Colour the cells of `column` whose row's check text names one of `codes`."""

    column: str
    codes: tuple[str, ...]
    severity: str  # "error" | "warning"


@dataclass(frozen=True)
class ChartSpec:
    """A native chart drawn from a sheet's own cells; plain data, each adapter draws it its own way.

    One series: values from column `value_key`, category labels from column
    `category_key`, Excel rows first_row..last_row (inclusive) of the sheet.
    anchor: top-left cell ("E2"); blank = beside the table (two columns right
    of its last column, at the header row).
    """

    title: str
    category_key: str
    value_key: str
    first_row: int
    last_row: int
    kind: str = "bar"            # "bar" (vertical columns) | "line"
    series_title: str = ""
    x_title: str = ""
    y_title: str = ""
    anchor: str = ""
    width_cm: float = 18.0
    height_cm: float = 8.0


@runtime_checkable
class Book(Protocol):
    """What an operation may do with a workbook."""

    name: str

    def has_sheet(self, sheet: Sheet) -> bool: ...

    def read_table(self, sheet: Sheet, *, required: tuple[str, ...] = ()) -> Table:
        """Read a sheet. Missing sheet or missing required column: ShipbookError."""

    def write_columns(self, table: Table, frame: pd.DataFrame) -> int:
        """Write whole columns back (frame: index = rows of `table`, columns = keys).

        Columns the sheet lacks are added after its last column. Formula cells
        of numeric columns are never overwritten. Returns cells changed.
        """

    def append_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        """Append rows after the last used row (sheet created if missing)."""

    def replace_rows(self, sheet: Sheet, frame: pd.DataFrame) -> int:
        """Replace the whole body of a macro-owned sheet."""

    def read_settings(self) -> dict[str, str]:
        """设置 as key -> value (contract keys; unknown items under their 项目 text)."""

    def write_setting(self, key: str, value: str) -> None: ...

    def set_highlights(self, table: Table, check_key: str, highlights: list[Highlight]) -> None:
        """Make cells named by problems in `check_key` show a fill colour."""

    def write_print_sheet(self, page: PrintPage) -> None:
        """(Re)build the free-layout sheet `page.sheet` from the page model (cells, merges, styles,
        page setup: A4, fit to width, repeated title rows). Replaces whatever the sheet held."""

    def set_charts(self, sheet: Sheet, charts: list[ChartSpec]) -> None:
        """Replace every chart on a macro-owned sheet by these (rebuilt each run, never stacked)."""
