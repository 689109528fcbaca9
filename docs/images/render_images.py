"""Render the pictures of docs/USER-GUIDE.md from the demo workbook (LibreOffice headless + pdftoppm).

    python docs/images/render_images.py            # writes docs/images/*.png

Steps: `python -m pyshipbook demo` makes the sample day (import + validate); the later buttons' commands
run on it in the order of the day, each just before the first picture that shows its result (allocate,
slips, print, dashboard; then the two directors sign; then the SF waybills); each pictured sheet is copied
alone into a workbook with a print area, converted to PDF by LibreOffice and its first page to PNG by
pdftoppm (poppler-utils). Needs soffice and pdftoppm on PATH.
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

# (png, sheet, columns shown (headers), rows shown, landscape, steps run before it: a name in STEPS or None)
PICTURES = [
    ("orders.png", "订单", ["订单号", "收件人", "电话", "省", "市", "区县", "详细地址", "商品编码", "数量", "单价",
                           "金额", "付款状态", "状态", "校验结果"], 32, True, None),
    ("slip.png", "出库单打印", None, 48, False, "later_steps"),
    ("dashboard.png", "看板", None, 30, True, None),
    ("slips-signed.png", "出库单", ["出库单号", "订单数", "件数", "金额", "制单人", "财务总监签字", "财务签字时间",
                                   "物流总监签字", "物流签字时间", "状态"], 6, True, "sign_steps"),
    ("waybills.png", "运单", ["订单号", "快递公司", "收件人", "收件手机", "收件详细地址", "托寄物内容", "托寄物数量",
                             "包裹重量", "运费付款方式", "业务类型"], 16, True, "waybill_steps"),
]


IDENTITY = '[user]\nname = "王芳"\nrole = "库管员"\n'


def run(*cmd, cwd=None, now: str = "2026-11-26T15:00:00") -> None:
    config = Path(tempfile.gettempdir()) / "shipbook-images-config.toml"
    config.write_text(IDENTITY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHIPBOOK_NOW": now,
           "SHIPBOOK_CONFIG": str(config)}
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{cmd}: {done.stderr or done.stdout}")


def demo_book(tmp: Path) -> Path:
    run(sys.executable, "-m", "pyshipbook", "demo", tmp / "demo")
    return tmp / "demo" / "shipbook-demo.xlsx"


def later_steps(book: Path) -> None:
    """The warehouse keeper's buttons after 校验, and the dashboard."""
    for command, *options in (["allocate"], ["slips", "--max-orders", "20"],
                             ["print", "CK20261126-001"], ["dashboard"]):
        run(sys.executable, "-m", "pyshipbook", command, book, *options)


SLIP_NOS = [f"CK20261126-{n:03d}" for n in range(1, 6)]


def sign_steps(book: Path) -> None:
    """签字: 李财务 signs the first four slips as finance, 赵物流 the first three as logistics."""
    for slip in SLIP_NOS[:4]:
        run(sys.executable, "-m", "pyshipbook", "sign", book, slip, "--role", "finance", "--as", "李财务",
            now="2026-11-26T16:05:00")
    for slip in SLIP_NOS[:3]:
        run(sys.executable, "-m", "pyshipbook", "sign", book, slip, "--role", "logistics", "--as", "赵物流",
            now="2026-11-26T16:20:00")


def waybill_steps(book: Path) -> None:
    """生成运单: SF waybills for the orders of the three slips both directors signed."""
    run(sys.executable, "-m", "pyshipbook", "waybills", book, now="2026-11-26T16:30:00")


STEPS = {"later_steps": later_steps, "sign_steps": sign_steps, "waybill_steps": waybill_steps}
# pictures whose shown columns are widened to their text, as a user would by double-clicking the column border
AUTOFIT = {"waybills.png"}
AUTOFIT_MAX = 44


def _text_width(value) -> float:
    text = "" if value is None else str(value)
    return sum(2.0 if ord(ch) > 0x2E7F else 1.1 for ch in text) + 1.5


def single_sheet(book: Path, sheet: str, headers, rows: int, landscape: bool, out: Path,
                 autofit: bool = False) -> bool:
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
    if autofit:
        for c in range(1, last_col + 1):
            cells = [ws.cell(r, c).value for r in range(1, min(rows, ws.max_row) + 1)]
            letter = get_column_letter(c)
            if not ws.column_dimensions[letter].hidden:
                ws.column_dimensions[letter].width = min(AUTOFIT_MAX, max(_text_width(v) for v in cells))
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
        for png, sheet, headers, rows, landscape, steps in PICTURES:
            if steps:
                STEPS[steps](book)
            one = tmp / f"{Path(png).stem}.xlsx"
            if single_sheet(book, sheet, headers, rows, landscape, one, autofit=png in AUTOFIT):
                to_png(one, HERE / png)
                print(f"{png}: {(HERE / png).stat().st_size} bytes")
            else:
                print(f"{png}: no sheet {sheet} in this version, skipped")


if __name__ == "__main__":
    main()
