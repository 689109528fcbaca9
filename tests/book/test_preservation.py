"""Headless operations keep everything the book had: VBA, ribbon, names, validations, formats."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import good_line, run_cli
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName

from pyshipbook.book.schema import ORDERS, SETTINGS
from pyshipbook.build import build_workbook
from pyshipbook.sample import stock_rows, write_orders, write_stock

RIBBON_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.fixture
def rich_xlsm(tmp_path) -> Path:
    """The real macro workbook, dressed the way users dress books, with orders in it."""
    path = tmp_path / "shipbook.xlsm"
    build_workbook(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    write_stock(wb["库存"], stock_rows())
    orders = wb[ORDERS.name]
    write_orders(orders, [good_line(), good_line(order_id="B2", recipient=None),
                          good_line(order_id="C3", phone="+86 138 1234 5678")])
    wb.defined_names["今日订单"] = DefinedName("今日订单", attr_text="'订单'!$A$1:$Z$500")
    orders.conditional_formatting.add("N2:N500", CellIsRule(operator="greaterThan", formula=["10"],
                                                            fill=PatternFill("solid", bgColor="FFFF00")))
    orders.column_dimensions["J"].width = 55
    orders.page_setup.orientation = "landscape"
    orders.print_title_rows = "1:1"
    mine = wb.create_sheet("我的统计")
    mine["A1"] = "自己的表"
    mine["B2"] = "=COUNTA(订单!A:A)"
    wb.save(path)
    wb.vba_archive.close()
    return path


def test_validate_and_import_keep_vba_ribbon_and_user_things(rich_xlsm, tmp_path):
    before = parts(rich_xlsm)
    code, _ = run_cli("validate", rich_xlsm)
    assert code == 1  # one line lacks a recipient
    csv = tmp_path / "x.csv"
    csv.write_text("订单编号,收货人,联系电话,收货地址,商家编码,购买数量,商品单价,下单时间\n"
                   "N9,李四,13900000000,浙江省杭州市临平区南苑街道1号,WS1002,1,59,2026-11-26 10:00\n",
                   encoding="utf-8")
    code, _ = run_cli("import", rich_xlsm, csv)
    assert code == 0
    after = parts(rich_xlsm)

    # VBA project and ribbon: byte for byte, and the ribbon still wired in _rels/.rels
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    assert after["customUI/customUI.xml"] == before["customUI/customUI.xml"]
    rels = after["_rels/.rels"].decode()
    assert RIBBON_REL in rels and "customUI/customUI.xml" in rels
    assert b"macroEnabled" in after["[Content_Types].xml"]

    wb = openpyxl.load_workbook(rich_xlsm, keep_vba=True)
    try:
        assert "今日订单" in wb.defined_names
        assert "xlwings.conf" in wb.sheetnames and wb["xlwings.conf"]["A1"].value
        orders = wb[ORDERS.name]
        assert orders.freeze_panes == "A2"
        assert orders.column_dimensions["J"].width == 55
        assert orders.page_setup.orientation == "landscape"
        assert orders.print_title_rows == "$1:$1"
        lists = {dv.formula1 for dv in orders.data_validations.dataValidation}
        assert any("已付款" in f for f in lists) and any("微信" in f for f in lists)
        formulas = [r.formula[0] for cf in orders.conditional_formatting for r in cf.rules]
        assert "10" in formulas  # the user's own rule survives beside ours
        assert any("[recipient.missing]" in f for f in formulas)
        assert wb["我的统计"]["B2"].value == "=COUNTA(订单!A:A)"
        assert wb[SETTINGS.name]["A2"].value == "发件人"
        assert [ws.sheet_properties.codeName for ws in wb.worksheets] == _code_names(before)
    finally:
        wb.vba_archive.close()


def _code_names(files: dict[str, bytes]) -> list[str]:
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    wb = openpyxl.load_workbook(buf, keep_vba=True)
    wb.vba_archive.close()
    names = [ws.sheet_properties.codeName for ws in wb.worksheets]
    assert names[0] == "shOrders"  # the built book names its sheets for their VBA document modules
    return names


def test_olevba_reads_the_same_vba_after_validate(rich_xlsm):
    from oletools.olevba import VBA_Parser

    def modules(path):
        p = VBA_Parser(str(path))
        try:
            return {name: code for _, _, name, code in p.extract_macros()}
        finally:
            p.close()
    first = modules(rich_xlsm)
    run_cli("validate", rich_xlsm)
    assert modules(rich_xlsm) == first
    assert any("ShipbookButton" in code for code in first.values())


def test_plain_xlsx_stays_plain_after_validate(book_with):
    path = book_with([good_line()])
    run_cli("validate", path)
    p = parts(path)
    assert "xl/vbaProject.bin" not in p
    assert b"macroEnabled" not in p["[Content_Types].xml"]


def test_each_save_keeps_a_backup_of_the_previous_version(book_with):
    path = book_with([good_line()])
    first = path.read_bytes()
    run_cli("validate", path)
    backups = sorted((path.parent / "~shipbook-backup").iterdir())
    assert len(backups) == 1 and backups[0].read_bytes() == first
