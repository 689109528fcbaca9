"""waybills on real workbook files: only validly signed slips, refusals named, courier layouts from the
templates, the 运单 sheet and the upload file (.xlsx all text, .csv GBK), re-runs add nothing."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from conftest import read_orders, read_sheet, run_cli
from test_allocate import edit_orders, line
from test_sign import SLIP, set_settings, sign, sign_both, slipped, without_log

from pyshipbook.book.schema import WAYBILLS
from pyshipbook.book.templates import load_waybill_layouts

LAYOUTS = load_waybill_layouts()


def waybills(path, *extra):
    code, data = run_cli("waybills", path, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


def waybill_rows(path) -> list[dict]:
    rows = read_sheet(path, WAYBILLS.name)
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def test_waybills_only_for_orders_whose_slip_both_directors_signed(book_with):
    path = slipped(book_with, max_orders=2)        # CK…-001: A and B; CK…-002: C
    sign_both(path)
    sign(path, "finance", "李财务", "CK20261126-002")
    code, data = waybills(path)
    assert code == 1
    assert data["added"] == ["A", "B"]
    [refused] = data["refused"]
    assert (refused["order_id"], refused["code"], refused["slip_no"]) == ("C", "waybill.not_signed", "CK20261126-002")
    assert "缺 物流总监 签字" in refused["message"] and "needs logistics" in refused["message"]
    rows = waybill_rows(path)
    assert [(r["订单号"], r["快递公司"], r["用户订单号"]) for r in rows] == [("A", "SF", "A"), ("B", "SF", "B")]
    a = rows[0]
    assert (a["寄件人"], a["寄件电话"], a["收件人"], a["收件手机"]) == ("小林优选", "0571-88886666", "收件人A",
                                                                  next(r["phone"] for r in read_orders(path)
                                                                       if r["order_id"] == "A"))
    assert a["托寄物内容"] == "玻尿酸补水面膜×2, 玫瑰精华面膜×1" and a["托寄物数量"] == "3" and a["包裹重量"] == "0.75"
    assert a["收件详细地址"] == "广东省深圳市南山区科技园南区高新南七道8号" and a["业务类型"] == "顺丰标快"
    # the orders now name their courier (a numeric tracking number will be checked against it)
    assert {r["order_id"]: r["carrier"] for r in read_orders(path)} == {"A": "SF", "B": "SF", "C": None}
    assert read_sheet(path, "日志")[-1][2:4] == ("waybills", "--carrier SF")


def test_rerunning_adds_nothing_for_orders_already_on_the_sheet(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    before = without_log(path)
    code, data = waybills(path)
    assert code == 0 and data["added"] == [] and data["skipped"] == ["A", "B", "C"]
    assert without_log(path) == before


def test_an_edited_slip_blocks_its_waybills_until_reissued_and_signed(book_with):
    path = slipped(book_with)
    sign_both(path)
    edit_orders(path, {("C", "WS1003"): {"qty": 2, "amount": 336.0}})
    code, data = waybills(path)
    assert code == 1 and data["added"] == []
    assert {p["order_id"] for p in data["refused"]} == {"A", "B", "C"}
    assert all("内容已修改" in p["message"] for p in data["refused"])
    assert data["voided"][0]["slip_no"] == SLIP
    assert waybill_rows(path) == []
    assert {r["status"] for r in read_orders(path)} == {"已开单"}
    # re-issued but signed by one director only: still refused, saying so
    from test_sign import do_reissue
    assert do_reissue(path).exit_code == 0
    sign(path, "finance", "李财务")
    code, data = waybills(path)
    assert code == 1 and all("缺 物流总监 签字 (原签字已失效)" in p["message"] for p in data["refused"])
    sign(path, "logistics", "赵物流")
    code, data = waybills(path)
    assert code == 0 and data["added"] == ["A", "B", "C"]
    assert [r["托寄物数量"] for r in waybill_rows(path) if r["订单号"] == "C"] == ["2"]


@pytest.mark.parametrize("carrier", sorted(LAYOUTS))
def test_each_courier_layout_comes_from_its_template(book_with, tmp_path, carrier):
    path = slipped(book_with)
    sign_both(path)
    out = tmp_path / f"{carrier}.xlsx"
    code, data = waybills(path, "--carrier", carrier, "--out", out)
    assert code == 0 and data["carrier"] == carrier and data["layout"] == LAYOUTS[carrier].name
    ws = openpyxl.load_workbook(out).active
    cells = [[c for c in row] for row in ws.iter_rows()]
    assert [c.value for c in cells[0]] == LAYOUTS[carrier].headers
    assert len(cells) == 4 and all(c.number_format == "@" for row in cells for c in row)
    assert all(isinstance(c.value, str) for row in cells[1:] for c in row if c.value is not None)
    # the sheet: 订单号 | 快递公司, then the layout's columns (its own 订单号 column is that pair)
    head = read_sheet(path, WAYBILLS.name)[0]
    assert head[:2] == ("订单号", "快递公司")
    assert [h for h in head[2:] if h] == [h for h in LAYOUTS[carrier].headers if h not in ("订单号", "快递公司")]
    assert {r["carrier"] for r in read_orders(path)} == {carrier}


def test_switching_courier_adds_the_new_columns_and_keeps_the_old_rows(book_with):
    path = slipped(book_with, max_orders=2)
    sign_both(path)
    waybills(path, "--carrier", "ZTO")
    sign_both(path, "CK20261126-002")
    code, data = waybills(path)          # 设置 默认快递: SF
    assert code == 0 and data["added"] == ["C"]
    rows = waybill_rows(path)
    assert [(r["订单号"], r["快递公司"]) for r in rows] == [("A", "ZTO"), ("B", "ZTO"), ("C", "SF")]
    assert rows[0]["收件人姓名"] == "收件人A" and rows[0]["收件人"] is None
    assert rows[2]["收件人"] == "收件人C" and rows[2]["收件人姓名"] is None


def test_csv_upload_file_is_gbk_with_formula_text_neutralised(book_with, tmp_path):
    path = slipped(book_with)
    edit_orders(path, {("A", "WS1002"): {"remark": "=1+1 加急"}, ("A", "WS1001"): {"remark": "=1+1 加急"}})
    sign_both(path)
    out = tmp_path / "运单.csv"
    code, data = waybills(path, "--out", out)
    assert code == 0 and data["file"]["format"] == "csv"
    text = out.read_bytes().decode("gbk")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == LAYOUTS["SF"].headers and [r[0] for r in rows[1:]] == ["A", "B", "C"]
    assert rows[1][LAYOUTS["SF"].headers.index("寄方备注")] == "'=1+1 加急"
    # on the sheet the remark stays as typed, as text
    assert waybill_rows(path)[0]["寄方备注"] == "=1+1 加急"


def test_no_new_waybill_writes_no_file(book_with, tmp_path):
    path = slipped(book_with)
    out = tmp_path / "x.xlsx"
    code, data = waybills(path, "--out", out)
    assert code == 1 and data["file"] is None and not out.exists()


def test_unknown_courier_and_bad_out_file_stop_before_anything_changes(book_with, tmp_path):
    path = slipped(book_with)
    before = path.read_bytes()
    assert run_cli("waybills", path, "--carrier", "顺心捷达")[0] == 2
    assert run_cli("waybills", path, "--out", tmp_path / "x.pdf")[0] == 2
    assert run_cli("waybills", path, "--out", path)[0] == 2
    assert path.read_bytes() == before


def test_sender_missing_refuses_every_order(book_with):
    path = slipped(book_with)
    set_settings(path, {"sender_phone": ""})
    sign_both(path)
    code, data = waybills(path)
    assert code == 1 and data["added"] == []
    assert {(p["order_id"], p["code"]) for p in data["refused"]} == \
        {("A", "waybill.sender_missing"), ("B", "waybill.sender_missing"), ("C", "waybill.sender_missing")}
    assert waybill_rows(path) == []


def test_weight_missing_is_a_warning_and_cod_amounts_are_carried(book_with):
    lines = [line("A", sku="WS1001", qty=2), line("D", paid=None, ordered=3, payment_status="货到付款", qty=1)]
    path = slipped(book_with, lines=lines, on_hand={"WS1001": 10})
    wb = openpyxl.load_workbook(path)
    ws = wb["库存"]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "WS1001":
            ws.cell(r, 9).value = None          # 单件重量kg
    wb.save(path)
    sign_both(path)
    code, data = waybills(path)
    assert code == 0 and sorted(data["added"]) == ["A", "D"]
    assert {(w["order_id"], w["code"], w["severity"]) for w in data["warnings"]} == \
        {("A", "waybill.weight_missing", "warning"), ("D", "waybill.weight_missing", "warning")}
    rows = {r["订单号"]: r for r in waybill_rows(path)}
    assert rows["A"]["包裹重量"] is None and rows["D"]["代收金额"] == "89" and rows["A"]["代收金额"] is None
