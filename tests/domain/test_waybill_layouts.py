"""Waybills: one record per order from the lines, laid out by data-only courier layouts."""

from __future__ import annotations

import pandas as pd
import pytest

from pyshipbook.book.templates import WAYBILLS_DIR, load_carriers, load_waybill_layout, load_waybill_layouts
from pyshipbook.domain.waybills import (CODES, RECORD_FIELDS, WaybillLayout, compose_address, cut_text, render,
                                        waybill_records)
from pyshipbook.errors import ShipbookError

SETTINGS = {"sender_name": "小美微商", "sender_phone": "13900001111", "sender_address": "浙江省杭州市余杭区文一西路1号",
            "default_carrier": "SF"}
STOCK = pd.DataFrame([
    {"sku": "WS1001", "name": "玫瑰精华面膜", "weight_kg": 0.25},
    {"sku": "WS1002", "name": "蚕丝眼罩", "weight_kg": "0.05"},
    {"sku": "WS1003", "name": "香薰蜡烛", "weight_kg": None},
    {"sku": "WS1004", "name": "护手霜", "weight_kg": 0},
], dtype=object)


def line(order_id="A001", sku="WS1001", qty=2, **over) -> dict:
    row = {"order_id": order_id, "recipient": "王芳", "phone": "13812345678", "province": "广东省", "city": "深圳市",
           "district": "南山区", "address": "广东省深圳市南山区科技园南区高新南七道8号", "sku": sku,
           "product_name": None, "qty": qty, "unit_price": 89.0, "amount": 89.0 * qty if isinstance(qty, int) else None,
           "payment_status": "已付款", "remark": None, "slip_no": "CK20261126-001", "status": "待发货"}
    row.update(over)
    return row


def records_of(rows, settings=SETTINGS, stock=STOCK, **kw):
    return waybill_records(pd.DataFrame(rows, dtype=object), stock, settings, **kw)


# -- records --------------------------------------------------------------------------------------------
def test_one_record_per_order_with_goods_pieces_and_weight():
    recs, problems = records_of([line("A001", "WS1001", 2), line("B002", "WS1002", 3), line("A001", "WS1002", 1)])
    assert problems == []
    assert [r["order_id"] for r in recs] == ["A001", "B002"]
    a = recs[0]
    assert a["goods"] == "玫瑰精华面膜×2, 蚕丝眼罩×1"
    assert (a["pieces"], a["parcels"], a["weight_kg"]) == (3, 1, 0.55)
    assert (a["sender_name"], a["sender_phone"], a["carrier"], a["slip_no"]) == \
        ("小美微商", "13900001111", "SF", "CK20261126-001")
    assert recs[1]["weight_kg"] == 0.15
    assert set(a) == set(RECORD_FIELDS)


def test_the_same_product_on_two_lines_is_counted_together_and_line_names_win():
    recs, _ = records_of([line(sku="WS1001", qty=1, spec="10片"), line(sku="WS1001", qty=2, spec="20片"),
                          line(sku="WS1002", qty=1, product_name="真丝眼罩 礼盒")])
    assert recs[0]["goods"] == "玫瑰精华面膜×3, 真丝眼罩 礼盒×1"


@pytest.mark.parametrize("sku", ["WS1003", "WS1004", "WS9999"])
def test_a_missing_weight_leaves_the_weight_blank_and_is_reported(sku):
    recs, problems = records_of([line(sku="WS1001", qty=1), line(sku=sku, qty=1)])
    assert recs[0]["weight_kg"] is None
    assert [(p.order_id, p.code, p.detail) for p in problems] == [("A001", "waybill.weight_missing", sku)]
    assert problems[0].severity == "warning"


def test_cash_on_delivery_orders_carry_the_order_amount():
    recs, problems = records_of([line("A001", qty=2, payment_status="货到付款"), line("A001", "WS1002", 1, amount=19.9,
                                                                                   payment_status="货到付款"),
                                 line("B002", payment_status="已付款"), line("C003", payment_status="到付",
                                                                              amount=None, unit_price="45.5", qty=2)])
    assert problems == []
    assert [r["cod_amount"] for r in recs] == [197.9, None, 91.0]


def test_a_cod_order_whose_amount_cannot_be_read_is_reported():
    recs, problems = records_of([line(payment_status="货到付款", amount="abc", unit_price=None)])
    assert recs[0]["cod_amount"] is None
    assert [p.code for p in problems] == ["waybill.cod_unknown"]


@pytest.mark.parametrize("province,city,district,address,full,street", [
    ("广东省", "深圳市", "南山区", "广东省深圳市南山区科技园1号", "广东省深圳市南山区科技园1号", "科技园1号"),
    ("广东省", "深圳市", "南山区", "深圳市南山区科技园1号", "广东省深圳市南山区科技园1号", "科技园1号"),
    ("广东省", "深圳市", "南山区", "南山区科技园1号", "广东省深圳市南山区科技园1号", "科技园1号"),
    ("广东省", "深圳市", "南山区", "科技园1号", "广东省深圳市南山区科技园1号", "科技园1号"),
    ("广东省", "深圳市", "南山区", "广东深圳南山区科技园1号", "广东深圳南山区科技园1号", "科技园1号"),
    ("广东省", "深圳市", "南山区", "南山路1号", "广东省深圳市南山区南山路1号", "南山路1号"),
    ("北京市", "北京市", "朝阳区", "北京市朝阳区建国路1号", "北京市朝阳区建国路1号", "建国路1号"),
    ("北京市", "市辖区", "朝阳区", "建国路1号", "北京市朝阳区建国路1号", "建国路1号"),
    ("上海市", "上海市", "黄浦区", "广东路100号", "上海市黄浦区广东路100号", "广东路100号"),
    ("广西壮族自治区", "南宁市", "青秀区", "广西南宁市青秀区民族大道1号", "广西南宁市青秀区民族大道1号", "民族大道1号"),
    (None, None, None, "深圳市南山区科技园1号", "深圳市南山区科技园1号", "深圳市南山区科技园1号"),
])
def test_the_full_address_does_not_repeat_a_region_already_in_the_address(province, city, district, address,
                                                                          full, street):
    assert compose_address(province, city, district, address) == (full, street)


def test_records_use_the_deduplicated_address_and_split_mobile_from_landline():
    recs, _ = records_of([line("A001", address="南山区科技园1号"), line("B002", phone="0755-12345678")])
    assert recs[0]["full_address"] == "广东省深圳市南山区科技园1号"
    assert (recs[0]["mobile"], recs[0]["landline"]) == ("13812345678", "")
    assert (recs[1]["mobile"], recs[1]["landline"]) == ("", "0755-12345678")


def test_a_missing_sender_is_reported_once():
    _, problems = records_of([line("A001"), line("B002")], settings={"sender_name": "小美微商"})
    assert [(p.order_id, p.code, p.detail) for p in problems] == \
        [(None, "waybill.sender_missing", "sender_phone, sender_address")]
    assert problems[0].severity == "error" and "设置" in problems[0].message


def test_cancelled_lines_and_unreadable_quantities_stay_off_the_waybill():
    recs, problems = records_of([line(qty=1), line(sku="WS1002", qty=4, status="已取消"), line(sku="WS1002", qty="x")])
    assert (recs[0]["goods"], recs[0]["pieces"]) == ("玫瑰精华面膜×1", 1)
    assert [p.code for p in problems] == ["waybill.qty_invalid"]


def test_lines_of_one_order_that_disagree_are_reported():
    _, problems = records_of([line(), line(sku="WS1002", phone="13900000000")])
    assert [(p.code, p.detail) for p in problems] == [("order.inconsistent", "phone")]


def test_remarks_and_the_carrier_argument_reach_the_record():
    recs, _ = records_of([line(remark="周末送"), line(sku="WS1002", remark="周末送"), line(sku="WS1003", remark="易碎")],
                         carrier="ZTO")
    assert recs[0]["remark"] == "周末送; 易碎" and recs[0]["carrier"] == "ZTO"


# -- layouts ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def layouts():
    return load_waybill_layouts()


SF_HEADERS = ["用户订单号", "寄件公司", "寄件人", "寄件电话", "寄件详细地址", "收件公司", "收件人", "收件电话", "收件手机",
              "收件详细地址", "托寄物内容", "托寄物数量", "包裹重量", "寄方备注", "运费付款方式", "业务类型", "件数", "代收金额",
              "保价金额"]


def test_a_layout_exists_for_each_batch_order_courier(layouts):
    from pyshipbook.book.schema import CARRIERS  # every courier in the 快递公司 dropdown has a layout
    assert set(layouts) == set(CARRIERS) == {"SF", "ZTO", "YTO", "YUNDA", "STO", "JD", "EMS", "JT", "DBL"}
    assert set(layouts) <= set(load_carriers().codes)


def test_the_sf_layout_follows_sfs_batch_order_columns_in_order(layouts):
    sf = layouts["SF"]
    assert sf.headers == SF_HEADERS
    recs, _ = records_of([line(payment_status="货到付款")])
    headers, rows = render(sf, recs)
    cell = dict(zip(headers, rows[0]))
    assert cell["运费付款方式"] == "寄付月结" and cell["业务类型"] == "顺丰标快"
    assert cell["用户订单号"] == "A001" and cell["收件手机"] == "13812345678" and cell["收件电话"] == ""
    assert cell["托寄物内容"] == "玫瑰精华面膜×2" and cell["托寄物数量"] == "2" and cell["件数"] == "1"
    assert cell["包裹重量"] == "0.5" and cell["代收金额"] == "178" and cell["保价金额"] == ""
    assert cell["收件详细地址"] == "广东省深圳市南山区科技园南区高新南七道8号"


@pytest.mark.parametrize("code", ["SF", "ZTO", "YTO", "YUNDA", "STO", "JD", "EMS", "JT"])
def test_every_layout_renders_all_its_columns_as_text(layouts, code):
    layout = layouts[code]
    assert all(layout.is_text(c) for c in layout.columns)
    assert {"order_id", "recipient", "goods"} <= {c.field for c in layout.columns}
    recs, _ = records_of([line("A001"), line("123456789012345678", phone="+85291234567", qty=1,
                                             remark="=cmd|' /C calc'!A0")])
    headers, rows = render(layout, recs)
    assert headers == layout.headers and len(rows) == 2
    for row in rows:
        assert len(row) == len(headers) and all(isinstance(v, str) for v in row)
    values = [v for row in rows for v in row]
    assert "123456789012345678" in values       # long ids survive as text


def test_formula_like_text_is_prefixed_for_csv_and_left_as_text_for_the_sheet(layouts):
    recs, _ = records_of([line(remark="=HYPERLINK(\"x\")", recipient="@王芳")])
    sf = layouts["SF"]
    _, sheet_rows = render(sf, recs, target="sheet")
    _, csv_rows = render(sf, recs, target="csv")
    sheet, csv = dict(zip(sf.headers, sheet_rows[0])), dict(zip(sf.headers, csv_rows[0]))
    assert sheet["寄方备注"] == "=HYPERLINK(\"x\")" and csv["寄方备注"] == "'=HYPERLINK(\"x\")"
    assert sheet["收件人"] == "@王芳" and csv["收件人"] == "'@王芳"
    assert csv["用户订单号"] == "A001"
    with pytest.raises(ValueError):
        render(sf, recs, target="pdf")


def test_goods_are_cut_to_the_layouts_length_at_a_whole_item():
    assert cut_text("玫瑰精华面膜×2, 蚕丝眼罩×1, 香薰蜡烛×3", 20) == "玫瑰精华面膜×2, 蚕丝眼罩×1等"
    assert cut_text("玫瑰精华面膜×2", 20) == "玫瑰精华面膜×2"
    assert cut_text("一个非常非常非常长的商品名称×1", 8) == "一个非常非常非…"
    long = [line(sku="WS1001", qty=1, product_name=f"商品{i:02d}号精选礼盒装") for i in range(12)]
    recs, _ = records_of(long)
    sf = load_waybill_layouts()["SF"]
    limit = next(c.max_length for c in sf.columns if c.header == "托寄物内容")
    _, rows = render(sf, recs)
    goods = rows[0][sf.headers.index("托寄物内容")]
    assert len(goods) <= limit and goods.endswith("等") and goods.startswith("商品00号精选礼盒装×1, ")


def test_a_new_courier_layout_is_a_file_not_code(tmp_path):
    (tmp_path / "DBL.toml").write_text(
        '# 德邦 batch order\nname = "德邦批量下单"\ncolumns = [\n'
        '  { header = "订单编号", field = "order_id" },\n'
        '  { header = "收货人", field = "recipient" },\n'
        '  { header = "收货地址", field = "full_address" },\n'
        '  { header = "货物名称", field = "goods", max_length = 10 },\n'
        '  { header = "总重量", field = "weight_kg" },\n'
        '  { header = "运输方式", value = "大件快递3.60" },\n]\n', encoding="utf-8")
    layouts = load_waybill_layouts(tmp_path)
    assert list(layouts) == ["DBL"]
    recs, _ = records_of([line(qty=3)], carrier="DBL")
    headers, rows = render(layouts["DBL"], recs)
    assert headers == ["订单编号", "收货人", "收货地址", "货物名称", "总重量", "运输方式"]
    assert rows == [["A001", "王芳", "广东省深圳市南山区科技园南区高新南七道8号", "玫瑰精华面膜×3", "0.75", "大件快递3.60"]]


@pytest.mark.parametrize("body,complaint", [
    ('name = "x"\ncolumns = [{ header = "a", field = "nonsense" }]\n', "nonsense"),
    ('name = "x"\ncolumns = [{ header = "a", field = "order_id", value = "1" }]\n', "exactly one"),
    ('name = "x"\ncolumns = [{ header = "a" }]\n', "exactly one"),
    ('name = "x"\ncolumns = [{ header = "a", field = "order_id" }, { header = "a", value = "" }]\n', "twice"),
    ('name = "x"\ncolumns = []\n', "columns"),
    ('name = "x"\nwidth = 3\ncolumns = [{ header = "a", field = "order_id" }]\n', "width"),
    ('carrier = "SF"\nname = "x"\ncolumns = [{ header = "a", field = "order_id" }]\n', "SF"),
    ('name = "x"\ncolumns = [{ header = "a", field = "order_id"\n', "TOML"),
])
def test_a_broken_layout_stops_with_a_bilingual_error_naming_the_file(tmp_path, body, complaint):
    path = tmp_path / "KYE.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ShipbookError) as exc:
        load_waybill_layout(path)
    assert "KYE.toml" in exc.value.zh and complaint in exc.value.en


def test_number_columns_keep_numbers_when_a_layout_says_text_false():
    layout = WaybillLayout.model_validate({"carrier": "X", "name": "x", "columns": [
        {"header": "重量", "field": "weight_kg", "text": False}, {"header": "件数", "field": "pieces", "text": False},
        {"header": "代收", "field": "cod_amount", "text": False}]})
    recs, _ = records_of([line(qty=2)])
    assert render(layout, recs)[1] == [[0.5, 2, None]]


def test_every_waybill_code_reads_in_chinese_and_english():
    for code in CODES.values():
        assert code.zh and code.en and code.severity in ("error", "warning")


def test_layout_files_are_where_the_loader_looks():
    assert sorted(p.stem for p in WAYBILLS_DIR.glob("*.toml")) == sorted(load_waybill_layouts())
