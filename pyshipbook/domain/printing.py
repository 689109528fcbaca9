"""A printable sheet as data: cells, merged ranges, boxes, styles and page setup.

The domain builds a `PrintPage` (e.g. `slips.slip_page` for an 出库单); an
adapter draws it (`Book.write_print_sheet`: openpyxl in book/printing.py,
Excel through xlwings) and the CLI can turn it into a PDF. Pure data, no I/O.
Rows and columns are 1-based, as in Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Align = Literal["left", "center", "right"]
Border = Literal["", "all", "bottom", "top"]


@dataclass(frozen=True)
class CellStyle:
    size: float = 10
    bold: bool = False
    align: Align = "left"
    valign: Literal["top", "center", "bottom"] = "center"
    wrap: bool = False
    indent: int = 0               # left/right indent in characters (Excel's 缩进)
    border: Border = ""           # thin lines: "all" sides, or only "bottom" / "top"
    fill: str = ""                # RGB hex, e.g. "D9E1F2"
    number_format: str = "@"      # Excel number format ("@" text, "0", "0.00")


@dataclass(frozen=True)
class PrintCell:
    row: int
    col: int
    value: object
    style: str = "body"            # a key of PrintPage.styles
    last_row: int | None = None    # merge through (last_row, last_col) when given
    last_col: int | None = None

    @property
    def end(self) -> tuple[int, int]:
        return (self.last_row or self.row, self.last_col or self.col)


@dataclass(frozen=True)
class Box:
    """A rectangle drawn with a medium outline (signature boxes)."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass
class PrintPage:
    sheet: str
    cells: list[PrintCell]
    styles: dict[str, CellStyle]
    widths: list[float]                          # column widths in Excel character units, from column A
    heights: dict[int, float] = field(default_factory=dict)   # row -> height in points
    boxes: list[Box] = field(default_factory=list)
    title_rows: tuple[int, int] | None = None    # rows repeated at the top of every printed page
    paper: Literal["A4"] = "A4"
    landscape: bool = False
    fit_to_width: bool = True                    # one page wide, as many pages tall as needed
    margins_cm: dict[str, float] = field(default_factory=lambda: {"left": 1.5, "right": 1.5, "top": 1.5,
                                                                   "bottom": 1.5})
    footer: str = ""                             # Excel header/footer codes allowed (&P page, &N pages)
    font: str = "等线"                           # font the sheet uses in Excel
    pdf_font: str = "Noto Sans CJK SC"           # font used when the page is converted to PDF

    @property
    def last_row(self) -> int:
        return max([c.end[0] for c in self.cells] + [b.last_row for b in self.boxes] + [1])

    @property
    def last_col(self) -> int:
        return max([c.end[1] for c in self.cells] + [b.last_col for b in self.boxes] + [len(self.widths), 1])

    def text(self) -> str:
        """Every cell's value, row by row (tests and people read the page this way)."""
        rows: dict[int, list[PrintCell]] = {}
        for c in self.cells:
            rows.setdefault(c.row, []).append(c)
        return "\n".join(" | ".join("" if c.value is None else str(c.value) for c in sorted(rows[r], key=lambda c: c.col))
                         for r in sorted(rows))
