"""print: the slip laid out on 出库单打印 (read back from the file) and the PDF made through LibreOffice
(read back with poppler: text, fonts, pages, ink)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import good_line, run_cli
from test_allocate import allocate, line, prepared

from pyshipbook.book.schema import LOG, ORDERS, SLIP_PRINT_SHEET
from pyshipbook.build import build_workbook
from pyshipbook.sample import stock_rows, write_orders, write_stock

needs_pdf_tools = pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="needs LibreOffice (soffice) and poppler-utils (pdftotext, pdftoppm)")


def slipped(book_with, n_orders: int = 3, **kw) -> Path:
    path = prepared(book_with, [line(f"P{i:03d}", paid=i, sku=f"WS{1001 + i % 7}", qty=1 + i % 3)
                                for i in range(n_orders)], {f"WS{1001 + k}": 500 for k in range(7)})
    allocate(path)
    code, data = run_cli("slips", path, "--json", *kw.get("slip_args", ()))
    assert code == 0 and data["slips"], data
    return path


def sheet_text(path: Path) -> tuple[list[list], object]:
    wb = openpyxl.load_workbook(path)
    ws = wb[SLIP_PRINT_SHEET]
    return [[c for c in row] for row in ws.iter_rows(values_only=True)], ws


def flat(rows) -> str:
    return "\n".join(" ".join(str(v) for v in r if v is not None) for r in rows)


def test_print_lays_the_slip_out_on_the_print_sheet(book_with):
    path = slipped(book_with)
    code, data = run_cli("print", path, "CK20261126-001", "--json")
    assert code == 0
    assert data["slip_no"] == "CK20261126-001" and data["lines"] == 3 and data["pdf"] is None
    rows, ws = sheet_text(path)
    text = flat(rows)
    assert rows[0][0] == "小林优选 出库单"                       # 设置 发件人
    for needle in ("出库单号: CK20261126-001", "日期: 2026-11-26", "制单人: 测试员", "订单数: 3", "件数: 6",
                   "P000", "P001", "P002", "合计", "库管员", "财务总监", "物流总监", "签字:", "日期:"):
        assert needle in text, needle
    header = next(i for i, r in enumerate(rows) if r[0] == "序号")
    assert rows[header][:9] == ["序号", "库位", "商品编码", "商品名称", "规格", "数量", "订单号", "收件人", "核对"]
    body = rows[header + 1:header + 4]
    assert [r[0] for r in body] == [1, 2, 3]
    assert sorted(r[6] for r in body) == ["P000", "P001", "P002"]
    # A4, one page wide, the title block and table header repeated on every page
    assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows.replace("$", "") == f"1:{header + 1}"
    assert ws.print_area and "$A$1" in ws.print_area
    # signature boxes: a medium outline around each of the three
    role_row = next(i for i, r in enumerate(rows, 1) if r[0] == "库管员")
    assert ws.cell(role_row, 1).border.top.style == "medium" and ws.cell(role_row, 1).border.left.style == "medium"
    assert ws.cell(role_row + 2, 9).border.bottom.style == "medium"


def test_printing_another_slip_rebuilds_the_sheet(book_with):
    path = slipped(book_with, 4, slip_args=("--max-orders", "3"))
    run_cli("print", path, "CK20261126-001")
    first = flat(sheet_text(path)[0])
    assert "P000" in first and "P003" not in first
    code, _ = run_cli("print", path)   # default: the last slip
    assert code == 0
    text = flat(sheet_text(path)[0])
    assert "CK20261126-002" in text and "P003" in text and "P000" not in text
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames.count(SLIP_PRINT_SHEET) == 1
    assert wb.sheetnames.index(SLIP_PRINT_SHEET) == wb.sheetnames.index("出库明细") + 1
    log = [r for r in wb[LOG.name].iter_rows(values_only=True)][-2:]
    assert [(r[2], r[3]) for r in log] == [("print", "CK20261126-001"), ("print", "CK20261126-002")]


def test_unknown_slip_is_refused(book_with):
    path = slipped(book_with)
    code, data = run_cli("print", path, "CK20991231-001", "--json")
    assert code == 1 and data["refused"]
    assert SLIP_PRINT_SHEET not in openpyxl.load_workbook(path).sheetnames


def test_text_that_looks_like_a_formula_is_printed_as_text(book_with):
    path = prepared(book_with, [line("A", recipient="=HYPERLINK(\"x\")")], {"WS1001": 5})
    allocate(path)
    run_cli("slips", path)
    run_cli("print", path)
    wb = openpyxl.load_workbook(path)
    cells = [c for row in wb[SLIP_PRINT_SHEET].iter_rows() for c in row if c.value == "=HYPERLINK(\"x\")"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_print_on_the_macro_workbook_keeps_its_vba(tmp_path):
    path = tmp_path / "shipbook.xlsm"
    build_workbook(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    write_stock(wb["库存"], [dict(r, on_hand=50) for r in stock_rows()])
    write_orders(wb[ORDERS.name], [good_line(), good_line(order_id="B2", paid_at=good_line()["paid_at"])])
    wb.save(path)
    wb.vba_archive.close()
    with zipfile.ZipFile(path) as z:
        vba = z.read("xl/vbaProject.bin")
    for argv in (("validate", path), ("allocate", path), ("slips", path), ("print", path), ("print", path)):
        code, out = run_cli(*argv)
        assert code == 0, (argv, out)
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin") == vba
        assert "customUI/customUI.xml" in z.namelist()
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames.count(SLIP_PRINT_SHEET) == 1 and wb.sheetnames[-1] == "xlwings.conf"
    wb.vba_archive.close()


# -- the PDF -----------------------------------------------------------------------------------------------
def pdf_text(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"] + (["-f", str(page), "-l", str(page)] if page else []) + [str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def ink(png_or_pgm: Path) -> float:
    """Share of dark pixels of a binary PGM (P5) page render."""
    data = png_or_pgm.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5"
    pixels = parts[4]
    return sum(1 for b in pixels if b < 128) / len(pixels)


@needs_pdf_tools
def test_pdf_is_readable_chinese_with_every_line_and_the_signature_boxes(book_with, tmp_path):
    path = slipped(book_with, 5)
    out = tmp_path / "out" / "slip.pdf"
    code, data = run_cli("print", path, "CK20261126-001", "--pdf", out, "--json")
    assert code == 0, data
    assert out.exists() and data["pdf"] == str(out) and data["pdf_font"] == "Noto Sans CJK SC"
    text = pdf_text(out)
    for needle in ("小林优选 出库单", "CK20261126-001", "商品编码", "玫瑰精华面膜", "合计", "库管员", "财务总监",
                   "物流总监", "签字:", *[f"P{i:03d}" for i in range(5)]):
        assert needle in text, needle
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "NotoSansCJK" in fonts
    subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
                   check=True)
    page = next(tmp_path.glob("page*.pgm"))
    assert 0.005 < ink(page) < 0.5    # a page with print on it, not blank, not a black box


@needs_pdf_tools
def test_a_long_slip_repeats_its_header_on_every_page(book_with, tmp_path):
    path = slipped(book_with, 90)
    out = tmp_path / "long.pdf"
    code, _ = run_cli("print", path, "--pdf", out)
    assert code == 0
    pages = pdf_pages(out)
    assert pages >= 2
    for p in range(1, pages + 1):
        t = pdf_text(out, p)
        assert "商品编码" in t and "CK20261126-001" in t and f"第 {p} 页 / 共 {pages} 页" in t, p
    everything = pdf_text(out)
    assert all(f"P{i:03d}" in everything for i in range(90))
    last = pdf_text(out, pages)
    assert "财务总监" in last and "物流总监" in last


def test_pdf_without_libreoffice_fails_cleanly(book_with, tmp_path, monkeypatch):
    path = slipped(book_with)
    before = path.read_bytes()
    monkeypatch.setattr("pyshipbook.book.printing.soffice_path", _no_soffice)
    code, text = run_cli("print", path, "--pdf", tmp_path / "x.pdf")
    assert code == 2 and "LibreOffice" in text
    assert path.read_bytes() == before


def _no_soffice():
    from pyshipbook.errors import ShipbookError
    raise ShipbookError("生成 PDF 需要 LibreOffice (soffice), 未找到", "making a PDF needs LibreOffice (soffice)")
