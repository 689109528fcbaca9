"""Drawing a PrintPage (domain/printing.py) with openpyxl, and turning it into a PDF with LibreOffice.

`draw` fills a worksheet: values, merged ranges, fonts, borders, widths and
heights, and the page setup (A4, fit to one page wide, repeated title rows,
margins, footer). `replace_print_sheet` rebuilds the print sheet of a
workbook. `page_to_pdf` draws the page alone into a temporary one-sheet
workbook (a single-sheet copy of the print sheet) and converts it with
LibreOffice headless (`soffice --convert-to pdf`); the PDF uses the page's
`pdf_font` (Noto Sans CJK SC from fonts-noto-cjk by default), so Chinese text
renders without Windows fonts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from ..domain.printing import PrintPage
from ..errors import ShipbookError

THIN = Side(style="thin", color="000000")
MEDIUM = Side(style="medium", color="000000")
CM_PER_INCH = 2.54
SOFFICE_TIMEOUT = 180


def draw(ws, page: PrintPage, font: str | None = None) -> None:
    """Draw `page` on an empty worksheet `ws` (font: override page.font, e.g. for the PDF)."""
    font = font or page.font
    styles = {}
    for name, s in page.styles.items():
        styles[name] = (
            Font(name=font, size=s.size, bold=s.bold),
            Alignment(horizontal=s.align, vertical=s.valign, wrap_text=s.wrap, indent=s.indent),
            PatternFill("solid", fgColor=s.fill) if s.fill else None,
            s.border, s.number_format)
    for c in page.cells:
        cell = ws.cell(c.row, c.col)
        value = c.value
        if isinstance(value, str):
            cell.value = value
            cell.data_type = "s"   # text that looks like a formula stays text
        else:
            cell.value = value
        f, a, fill, border, fmt = styles[c.style]
        last_row, last_col = c.end
        for r in range(c.row, last_row + 1):
            for col in range(c.col, last_col + 1):
                target = ws.cell(r, col)
                target.font, target.alignment = f, a
                if fill:
                    target.fill = fill
                target.number_format = fmt
                if border == "all":
                    target.border = Border(left=THIN if col == c.col else None,
                                           right=THIN if col == last_col else None,
                                           top=THIN if r == c.row else None,
                                           bottom=THIN if r == last_row else None)
                elif border in ("bottom", "top"):
                    target.border = Border(**{border: THIN})
        if (last_row, last_col) != (c.row, c.col):
            ws.merge_cells(start_row=c.row, start_column=c.col, end_row=last_row, end_column=last_col)
    for b in page.boxes:
        for r in range(b.first_row, b.last_row + 1):
            for col in range(b.first_col, b.last_col + 1):
                old = ws.cell(r, col).border
                ws.cell(r, col).border = Border(
                    left=MEDIUM if col == b.first_col else old.left,
                    right=MEDIUM if col == b.last_col else old.right,
                    top=MEDIUM if r == b.first_row else old.top,
                    bottom=MEDIUM if r == b.last_row else old.bottom)
    for i, w in enumerate(page.widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for r, h in page.heights.items():
        ws.row_dimensions[r].height = h
    _page_setup(ws, page, font)


def _page_setup(ws, page: PrintPage, font: str) -> None:
    ws.sheet_view.showGridLines = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if page.landscape else "portrait"
    if page.fit_to_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
    m = page.margins_cm
    ws.page_margins = PageMargins(left=m["left"] / CM_PER_INCH, right=m["right"] / CM_PER_INCH,
                                  top=m["top"] / CM_PER_INCH, bottom=m["bottom"] / CM_PER_INCH,
                                  header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    if page.title_rows:
        ws.print_title_rows = f"{page.title_rows[0]}:{page.title_rows[1]}"
    ws.print_area = f"A1:{get_column_letter(page.last_col)}{page.last_row}"
    if page.footer:
        ws.oddFooter.center.text = page.footer
        ws.oddFooter.center.size = 9
        ws.oddFooter.center.font = f"{font},Regular"


def replace_print_sheet(wb, page: PrintPage, after: str | None = None):
    """(Re)build the sheet `page.sheet`: the old one goes (its code name is kept), a fresh one is drawn.

    A new sheet is placed after the sheet named `after` when there is one, else at the end.
    """
    code_name = None
    index = None
    if page.sheet in wb.sheetnames:
        old = wb[page.sheet]
        code_name = old.sheet_properties.codeName
        index = wb.sheetnames.index(page.sheet)
        wb.remove(old)
    elif after and after in wb.sheetnames:
        index = wb.sheetnames.index(after) + 1
    ws = wb.create_sheet(page.sheet, index)
    if code_name:
        ws.sheet_properties.codeName = code_name
    draw(ws, page)
    return ws


def soffice_path() -> str:
    """LibreOffice's soffice: $SHIPBOOK_SOFFICE, else on PATH, else the usual install folders."""
    candidates = [os.environ.get("SHIPBOOK_SOFFICE"), shutil.which("soffice"), shutil.which("libreoffice"),
                  r"C:\Program Files\LibreOffice\program\soffice.exe",
                  "/Applications/LibreOffice.app/Contents/MacOS/soffice"]
    for c in candidates:
        if c and Path(c).exists():
            return c
    raise ShipbookError("生成 PDF 需要 LibreOffice (soffice), 未找到; 可设置 SHIPBOOK_SOFFICE",
                        "making a PDF needs LibreOffice (soffice), which was not found; set SHIPBOOK_SOFFICE")


def page_to_pdf(page: PrintPage, out: str | Path) -> Path:
    """Write `page` as a PDF to `out` (replaced if it exists) through LibreOffice headless."""
    out = Path(out)
    soffice = soffice_path()
    with tempfile.TemporaryDirectory(prefix="shipbook-pdf-") as tmp:
        tmp = Path(tmp)
        wb = Workbook()
        ws = wb.active
        ws.title = page.sheet
        draw(ws, page, font=page.pdf_font)
        src = tmp / "slip.xlsx"
        wb.save(src)
        profile = (tmp / "profile").as_uri()
        cmd = [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
               f"-env:UserInstallation={profile}", "--convert-to", "pdf", "--outdir", str(tmp), str(src)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SOFFICE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ShipbookError(f"LibreOffice 超过 {SOFFICE_TIMEOUT} 秒未完成 PDF",
                                f"LibreOffice did not finish the PDF within {SOFFICE_TIMEOUT} s") from None
        pdf = tmp / "slip.pdf"
        if proc.returncode != 0 or not pdf.exists():
            detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
            raise ShipbookError(f"LibreOffice 未能生成 PDF: {detail[0]}",
                                f"LibreOffice could not make the PDF: {detail[0]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdf, out)
    return out
