"""Render the pictures of docs/USER-GUIDE.md from the demo workbook (LibreOffice headless + pdftoppm).

    python docs/images/render_images.py            # writes docs/images/*.png

Steps: `python -m pyshipbook demo` makes the sample day (import + validate); the later buttons' commands
run on it as far as this version has them (allocate, slips, print, dashboard); then each pictured sheet
is copied alone into a workbook with a print area, converted to PDF by LibreOffice and its first page to
PNG by pdftoppm (poppler-utils). Needs soffice and pdftoppm on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DPI = 110
MAX_BYTES = 300_000

# (png, sheet, columns shown (headers), rows shown, landscape)
PICTURES = [
    ("orders.png", "订单", ["订单号", "收件人", "电话", "省", "市", "区县", "详细地址", "商品编码", "数量", "单价",
                           "金额", "付款状态", "状态", "校验结果"], 32, True),
    ("slip.png", "出库单打印", None, 40, False),
    ("dashboard.png", "看板", None, 30, True),
]


IDENTITY = '[user]\nname = "王芳"\nrole = "库管员"\n'


def run(*cmd, cwd=None) -> None:
    config = Path(tempfile.gettempdir()) / "shipbook-images-config.toml"
    config.write_text(IDENTITY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHIPBOOK_NOW": "2026-11-26T15:00:00",
           "SHIPBOOK_CONFIG": str(config)}
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd}: {done.stderr or done.stdout}")


def demo_book(tmp: Path) -> Path:
    run(sys.executable, "-m", "pyshipbook", "demo", tmp / "demo")
    return tmp / "demo" / "shipbook-demo.xlsx"


def later_steps(book: Path) -> None:
    """The buttons after 校验, as far as this version has them."""
    for command in ("allocate", "slips", "print", "dashboard"):
        run(sys.executable, "-m", "pyshipbook", command, book)


def single_sheet(book: Path, sheet: str, headers, rows: int, landscape: bool, out: Path) -> bool:
    wb = openpyxl.load_workbook(book)
    if sheet not in wb.sheetnames:
        return False
    for name in wb.sheetnames:
        if name != sheet:
            del wb[name]
    ws = wb[sheet]
    last_col = ws.max_column
    if headers:
        keep = {c.column for c in ws[1] if c.value in headers}
        for c in range(1, last_col + 1):
            if c not in keep:
                ws.column_dimensions[get_column_letter(c)].hidden = True
    ws.print_area = f"A1:{get_column_letter(last_col)}{min(rows, ws.max_row)}"
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    if headers:  # light cell borders instead of printed gridlines (LibreOffice draws those over highlights)
        from openpyxl.styles import Border, Side
        thin = Side(style="thin", color="BFBFBF")
        for row in ws.iter_rows(min_row=2, max_row=min(rows, ws.max_row), max_col=last_col):
            for cell in row:
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wb.save(out)
    return True


def _ink_box(ppm: Path) -> tuple[int, int, int, int]:
    """The bounding box (x, y, w, h) of the non-white pixels of a binary PPM (P6) image."""
    data = ppm.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval (no comments from pdftoppm)
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1
    w, h = int(fields[1]), int(fields[2])
    pixels = memoryview(data)[pos:]
    white = b"\xff" * (3 * w)
    rows = [y for y in range(h) if pixels[3 * w * y:3 * w * (y + 1)] != white]
    top, bottom = rows[0], rows[-1]
    left, right = w, 0
    for y in range(top, bottom + 1):
        line = bytes(pixels[3 * w * y:3 * w * (y + 1)])
        stripped = line.lstrip(b"\xff")
        if stripped:
            left = min(left, (len(line) - len(stripped)) // 3)
            right = max(right, (len(line.rstrip(b"\xff")) - 1) // 3)
    pad = 8
    x, y = max(0, left - pad), max(0, top - pad)
    return x, y, min(w, right + pad) - x, min(h, bottom + pad) - y


def to_png(xlsx: Path, png: Path) -> None:
    outdir = xlsx.parent
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(outdir), str(xlsx)],
                   check=True, capture_output=True, timeout=180)
    pdf = xlsx.with_suffix(".pdf")
    stem = outdir / png.stem
    common = ["-r", str(DPI), "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(["pdftoppm", *common, str(pdf), str(stem)], check=True, timeout=120)
    x, y, w, h = _ink_box(Path(str(stem) + ".ppm"))
    subprocess.run(["pdftoppm", "-png", *common, "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h),
                    str(pdf), str(stem)], check=True, timeout=120)
    shutil.move(str(stem) + ".png", png)
    if png.stat().st_size > MAX_BYTES:
        raise SystemExit(f"{png.name} is {png.stat().st_size} bytes (> {MAX_BYTES}); lower DPI or rows")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipbook-images-") as tmp:
        tmp = Path(tmp)
        book = demo_book(tmp)
        for i, (png, sheet, headers, rows, landscape) in enumerate(PICTURES):
            if i == 1:
                later_steps(book)
            one = tmp / f"{Path(png).stem}.xlsx"
            if single_sheet(book, sheet, headers, rows, landscape, one):
                to_png(one, HERE / png)
                print(f"{png}: {(HERE / png).stat().st_size} bytes")
            else:
                print(f"{png}: no sheet {sheet} in this version, skipped")


if __name__ == "__main__":
    main()
