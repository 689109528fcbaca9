"""import on real files: CSV in UTF-8 / BOM / GBK / UTF-16, tab text, .xlsx exports, platform headers,
id unwrapping, re-import idempotence, cancelled/unpaid lines, user mapping, rejected rows, CLI exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from conftest import read_orders, read_sheet, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.book.schema import LOG, ORDERS, SETTINGS, header_lookup, normalise_header
from pyshipbook.book.xlsx import new_workbook, open_book
from pyshipbook.cli import main
from pyshipbook.errors import ShipbookError
from pyshipbook.identity import Identity
from pyshipbook.ops import import_orders
from pyshipbook.ops.common import Context

HEADERS = ["订单号", "下单时间", "客户", "收件人", "电话", "详细地址", "商品编码", "商品名称", "规格", "数量", "单价",
           "金额", "付款时间", "备注"]


def line(order_id="A001", sku="WS1001", spec="10片/盒", **over) -> dict:
    row = {"订单号": order_id, "下单时间": "2026/11/26 09:30", "客户": "小确幸", "收件人": "王芳",
           "电话": "13812345678", "详细地址": "广东省深圳市南山区科技园南区高新南七道8号", "商品编码": sku,
           "商品名称": "玫瑰精华面膜", "规格": spec, "数量": "2", "单价": "89.00", "金额": "178.00",
           "付款时间": "2026/11/26 09:35", "备注": ""}
    row.update(over)
    return row


def csv_text(rows: list[dict], headers=None, delimiter=",", title_rows=()) -> str:
    if headers is None:
        headers = list(rows[0]) if rows else HEADERS
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for t in title_rows:
        w.writerow(t)
    w.writerow(headers)
    for r in rows:
        w.writerow([r.get(h, "") for h in headers])
    return buf.getvalue()


def write_csv(path: Path, rows: list[dict], encoding="utf-8", **kw) -> Path:
    path.write_bytes(csv_text(rows, **kw).encode(encoding))
    return path


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "book.xlsx"
    new_workbook().save(path)
    return path


def set_mapping(path: Path, text: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "导入列映射":
            ws.cell(r, 2).value = text
    wb.save(path)


def add_book_lines(path: Path, lines: list[dict]) -> None:
    """Order lines typed straight into 订单 (contract keys)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    start = ws.max_row + 1
    for r, ln in enumerate(lines, start):
        for c, key in enumerate(ORDERS.keys, 1):
            if key in ln:
                ws.cell(r, c, ln[key])
    wb.save(path)


def imp(book: Path, file: Path, *extra):
    code, data = run_cli("import", book, file, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


# -- encodings and delimiters --------------------------------------------------------
@pytest.mark.parametrize("encoding,reported", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                ("gbk", "gb18030"), ("utf-16", "utf-16")])
def test_csv_encodings_with_chinese_headers(book, tmp_path, encoding, reported):
    rows = [line("20231126000012345678901", spec="红色/XL", 备注="送人的, 不要放发票"),
            line("20231126000012345678902", sku="007", 收件人="欧阳娜娜", 详细地址="北京市朝阳区建国路88号")]
    f = write_csv(tmp_path / "orders.csv", rows, encoding=encoding)
    code, data = imp(book, f)
    assert code == 0, data
    assert data["added"] == 2 and data["skipped"] == 0 and data["rejected"] == []
    assert data["encoding"] == reported
    assert data["unmapped_columns"] == []
    got = read_orders(book)
    assert [g["order_id"] for g in got] == ["20231126000012345678901", "20231126000012345678902"]  # exact, text
    assert got[1]["sku"] == "007"  # leading zero kept
    assert got[0]["phone"] == "13812345678"
    assert got[0]["spec"] == "红色/XL" and got[0]["remark"] == "送人的, 不要放发票"
    assert got[1]["recipient"] == "欧阳娜娜" and got[1]["address"] == "北京市朝阳区建国路88号"
    assert got[0]["status"] == "待校验"
    assert got[0]["payment_status"] == "已付款"  # 付款时间 present, no 付款状态 column


def test_bom_does_not_hide_the_first_header(book, tmp_path):
    f = write_csv(tmp_path / "bom.csv", [line("B1")], encoding="utf-8-sig")
    assert f.read_bytes().startswith(b"\xef\xbb\xbf")
    code, data = imp(book, f)
    assert code == 0 and data["columns"]["订单号"] == "order_id"
    assert read_orders(book)[0]["order_id"] == "B1"


@pytest.mark.parametrize("delimiter,name", [("\t", "orders.txt"), ("\t", "orders.csv"), (";", "orders.csv")])
def test_tab_and_semicolon_delimited(book, tmp_path, delimiter, name):
    rows = [line("T1", 备注="含,逗号"), line("T2", sku="WS1002")]
    f = write_csv(tmp_path / name, rows, encoding="gbk", delimiter=delimiter)
    code, data = imp(book, f)
    assert code == 0, data
    assert data["delimiter"] == delimiter and data["added"] == 2
    got = read_orders(book)
    assert [(g["order_id"], g["sku"]) for g in got] == [("T1", "WS1001"), ("T2", "WS1002")]
    assert got[0]["remark"] == "含,逗号"


def test_title_rows_above_a_csv_header(book, tmp_path):
    f = write_csv(tmp_path / "t.csv", [line("C1"), line("", sku="WS1")], encoding="gbk",
                  title_rows=[["订单导出 2026-11-26"], []])
    code, data = imp(book, f)
    assert data["header_row"] == 3
    assert data["added"] == 1 and [r["line"] for r in data["rejected"]] == [5]
    assert code == 1


# -- Excel exports --------------------------------------------------------------------
def make_export_xlsx(path: Path, *, second_sheet=False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "订单导出"
    ws["A1"] = "微信小店订单导出 (2026-11-26)"
    ws.merge_cells("A1:I1")
    headers = ["订单编号", "创建时间", "买家昵称", "收货人", "手机号", "收货地址", "商家编码", "购买数量", "商品单价",
               "订单状态"]
    for c, h in enumerate(headers, 1):
        ws.cell(3, c, h)
    ws.append([20261126001, dt.datetime(2026, 11, 26, 9, 30), "小确幸", "王芳", 13812345678,
               "广东省深圳市南山区科技园南区高新南七道8号", "WS1001", 2, 89.5, "待发货"])
    ws.append(["20261126002", dt.datetime(2026, 11, 26, 10, 0), "阳光", "李强", "13912345678",
               "浙江省杭州市西湖区文三路1号", "WS1002", 1, 129, "交易关闭"])
    ws.append([None] * 10)
    ws.append(["20261126003", dt.datetime(2026, 11, 26, 11, 0), "晴天", "张伟", "13712345678",
               "江苏省南京市鼓楼区中山路1号", None, 1, 10, "待发货"])
    if second_sheet:
        other = wb.create_sheet("第二页")
        other.append(["订单号", "商品编码", "数量"])
        other.append(["S2-1", "WS2001", 3])
    wb.save(path)
    return path


def test_xlsx_export_with_merged_title_row(book, tmp_path):
    f = make_export_xlsx(tmp_path / "export.xlsx")
    code, data = imp(book, f)
    assert code == 1  # one line has no SKU
    assert data["sheet"] == "订单导出" and data["header_row"] == 3
    assert data["added"] == 2
    assert data["rejected"] == [{"line": 7, "order_id": "20261126003", "reason": data["rejected"][0]["reason"],
                                 "codes": ["sku.missing"]}]
    assert "商品编码" in data["rejected"][0]["reason"] and "SKU" in data["rejected"][0]["reason"]
    got = read_orders(book)
    assert got[0]["order_id"] == "20261126001"        # a number in the export, text in the book
    assert got[0]["phone"] == "13812345678"
    assert got[0]["ordered_at"] == dt.datetime(2026, 11, 26, 9, 30)  # native datetime kept
    assert got[0]["qty"] == 2 and got[0]["unit_price"] == 89.5
    assert got[0]["status"] == "待校验"
    assert got[1]["status"] == "已取消"
    assert data["cancelled"] == 1


def test_xlsx_sheet_option(book, tmp_path):
    f = make_export_xlsx(tmp_path / "export.xlsx", second_sheet=True)
    code, data = imp(book, f, "--sheet", "第二页")
    assert code == 0 and data["sheet"] == "第二页" and data["added"] == 1
    assert read_orders(book)[0]["order_id"] == "S2-1"
    code, text = run_cli("import", book, f, "--sheet", "没有这页")
    assert code == 2 and "没有这页" in text and "订单导出" in text


def test_xls_that_is_really_tab_separated_text(book, tmp_path):
    # many shops' ".xls" downloads are tab-separated GBK text
    f = write_csv(tmp_path / "export.xls", [line("X1"), line("X2")], encoding="gbk", delimiter="\t")
    code, data = imp(book, f)
    assert code == 0 and data["added"] == 2 and data["delimiter"] == "\t"


def test_xls_that_is_really_a_web_page_is_refused(book, tmp_path):
    f = tmp_path / "export.xls"
    f.write_text("<html><body><table><tr><td>订单号</td></tr></table></body></html>", encoding="utf-8")
    before = book.read_bytes()
    code, text = run_cli("import", book, f)
    assert code == 2 and "HTML" in text
    assert book.read_bytes() == before


# -- platform headers -----------------------------------------------------------------
PLATFORMS = {
    "taobao": {"订单编号": "order_id", "买家会员名": "customer", "收货人姓名": "recipient", "联系手机": "phone",
               "收货地址": "address", "订单创建时间": "ordered_at", "订单付款时间": "paid_at",
               "宝贝标题": "product_name", "商家编码": "sku", "销售属性": "spec", "购买数量": "qty",
               "价格": "unit_price", "实付金额": "amount", "买家留言": "remark"},
    "youzan": {"订单号": "order_id", "订单创建时间": "ordered_at", "买家付款时间": "paid_at", "粉丝昵称": "customer",
               "收货人/提货人": "recipient", "收货人手机号/提货人手机号": "phone", "收货人省份": "province",
               "收货人城市": "city", "收货人地区": "district", "详细收货地址/提货地址": "address",
               "规格编码": "sku", "商品名称": "product_name", "商品规格": "spec", "商品数量": "qty",
               "商品单价": "unit_price", "商品实际成交金额": "amount", "买家备注": "remark"},
    "wechat_shop": {"订单号": "order_id", "下单时间": "ordered_at", "支付时间": "paid_at", "买家昵称": "customer",
                    "收件人姓名": "recipient", "收件人手机": "phone", "省份": "province", "城市": "city",
                    "区": "district", "详细地址": "address", "SKU编码": "sku", "商品名称": "product_name",
                    "SKU属性": "spec", "商品数量": "qty", "单价(元)": "unit_price", "小计": "amount",
                    "备注": "remark"},
}
VALUES = {"order_id": "P-1", "ordered_at": "2026-11-26 09:30:00", "paid_at": "2026-11-26 09:31:00",
          "customer": "Lily", "recipient": "陈静", "phone": "13812345678", "province": "四川省", "city": "成都市",
          "district": "新津区", "address": "四川省成都市新津区五津街道1号", "sku": "WS1003", "product_name": "精华",
          "spec": "30ml", "qty": "3", "unit_price": "59.90", "amount": "179.70", "remark": "尽快发货"}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_platform_header_sets(book, tmp_path, platform):
    mapping = PLATFORMS[platform]
    row = {h: VALUES[k] for h, k in mapping.items()}
    f = write_csv(tmp_path / f"{platform}.csv", [row], encoding="gbk")
    code, data = imp(book, f)
    assert code == 0, data
    assert data["columns"] == mapping
    assert data["unmapped_columns"] == []
    got = read_orders(book)[0]
    for key in mapping.values():
        assert got[key] == VALUES[key], key
    assert got["payment_status"] == "已付款"


def test_spec_aliases_are_all_known():
    """Every header the issue lists is accepted (schema aliases + supplementary table)."""
    cm = import_orders.ColumnMap()
    listed = {"order_id": "订单编号 订单号", "ordered_at": "下单时间 创建时间", "paid_at": "支付时间 付款时间",
              "customer": "买家昵称 买家 客户", "recipient": "收货人 收件人 收货人姓名",
              "phone": "联系电话 收货人手机 手机号 收件人电话", "address": "收货地址 详细地址 收货人地址",
              "province": "省份 省", "city": "城市 市", "district": "区 区县", "sku": "商家编码 SKU编码 商品编码",
              "product_name": "商品名称", "spec": "规格 商品规格 SKU属性", "qty": "数量 购买数量 商品数量",
              "unit_price": "单价 商品单价", "amount": "实付金额 金额 小计", "payment_status": "付款状态",
              "remark": "买家备注 备注", import_orders.ORDER_STATUS: "订单状态"}
    for key, names in listed.items():
        for name in names.split():
            assert cm.key_of(name) == key, name


def test_supplementary_aliases_never_contradict_the_schema():
    base = header_lookup(ORDERS)
    for name, key in import_orders.SUPPLEMENTARY_ALIASES.items():
        assert base.get(normalise_header(name), key) == key, name
        assert key in ORDERS.keys


def test_whole_address_in_one_column_is_kept_as_is(book, tmp_path):
    addr = "浙江省 杭州市 西湖区 文三路 90 号 东部软件园 (310012)"
    row = {"订单编号": "W1", "收货人": "王芳", "联系电话": "13812345678", "收货地址": addr, "商家编码": "WS1001",
           "购买数量": "1"}
    f = write_csv(tmp_path / "w.csv", [row], encoding="gbk")
    code, data = imp(book, f)
    assert code == 0
    got = read_orders(book)[0]
    assert got["address"] == addr
    assert got["province"] is None and got["city"] is None  # validate fills them, not import


def test_duplicate_source_columns_contract_header_wins(book, tmp_path):
    row = {"实付金额": "100", "金额": "178", "订单号": "D1", "商品编码": "WS1001"}
    f = write_csv(tmp_path / "d.csv", [row])
    code, data = imp(book, f)
    assert code == 0
    assert read_orders(book)[0]["amount"] == "178"
    assert [i["column"] for i in data["ignored_columns"]] == ["实付金额"]


# -- id unwrapping ---------------------------------------------------------------------
def test_spreadsheet_tricks_around_ids_are_unwrapped(book, tmp_path):
    rows = [line('="20231126000000000001"', sku='="00123"', 电话='="13812345678"'),
            line("\t20231126000000000002", sku="WS1001\t", 电话="\t13912345678\t"),
            line("'20231126000000000003", sku="'WS1002", 电话="'13712345678"),
            line("  20231126000000000004  ", sku=" WS1003 ", 电话="13612345678 ")]
    f = write_csv(tmp_path / "ids.csv", rows, encoding="gbk")
    code, data = imp(book, f)
    assert code == 0 and data["added"] == 4
    got = read_orders(book)
    assert [g["order_id"] for g in got] == [f"2023112600000000000{i}" for i in range(1, 5)]
    assert [g["sku"] for g in got] == ["00123", "WS1001", "WS1002", "WS1003"]
    assert [g["phone"] for g in got] == ["13812345678", "13912345678", "13712345678", "13612345678"]
    # everything else as read
    assert got[0]["unit_price"] == "89.00"


def test_unwrap_id_examples():
    u = import_orders.unwrap_id
    assert u('="0123"') == "0123"
    assert u("\t'0123 ") == "0123"
    assert u('= "A-1"') == "A-1"
    assert u(20261126001.0) == "20261126001"
    assert u(20261126001) == "20261126001"
    assert u('=""') is None and u("  ") is None and u(None) is None
    assert u("Ａ００１") == "Ａ００１"  # full-width folding is validate's job


@given(st.text(alphabet="0123456789ABCDEFGHJK-_", min_size=1, max_size=25),
       st.sampled_from(['="{}"', "\t{}", "{}\t", "'{}", " {} ", "\t'{}\t", "{}"]))
def test_unwrap_id_property(core, wrapper):
    assert import_orders.unwrap_id(wrapper.format(core)) == core


# -- re-import ---------------------------------------------------------------------------
def test_reimport_adds_nothing(book, tmp_path):
    rows = [line("R1"), line("R1", sku="WS1002"), line("R2", spec="红色"), line("R2", spec="蓝色"),
            line("R3"), line("R3")]  # R3 twice: both appended the first time
    f = write_csv(tmp_path / "r.csv", rows, encoding="gbk")
    code, data = imp(book, f)
    assert code == 0 and data["added"] == 6 and data["skipped"] == 0
    size = len(read_orders(book))
    code, data = imp(book, f)
    assert code == 0
    assert data["added"] == 0 and data["skipped"] == 6
    assert data["skipped_orders"] == ["R1", "R2", "R3"]
    assert len(read_orders(book)) == size == 6   # reopened from disk
    log = [r for r in read_sheet(book, LOG.name)[1:] if r[2] == "import"]
    assert [(r[3], r[4], r[5]) for r in log] == [("r.csv", 6, "ok"), ("r.csv", 0, "ok")]


def test_reimport_of_a_grown_export_adds_only_new_lines(book, tmp_path):
    f = write_csv(tmp_path / "a.csv", [line("G1"), line("G2")])
    imp(book, f)
    f2 = write_csv(tmp_path / "b.csv", [line("G1"), line("G2"), line("G3"), line("G2", sku="WS9")])
    code, data = imp(book, f2)
    assert data["added"] == 2 and data["skipped"] == 2
    assert [(g["order_id"], g["sku"]) for g in read_orders(book)] == [
        ("G1", "WS1001"), ("G2", "WS1001"), ("G3", "WS1001"), ("G2", "WS9")]


def test_lines_typed_by_hand_or_normalised_by_validate_count_as_present(book, tmp_path):
    # the book holds what validate writes back: half-width ids, trimmed spec; a number typed as order id
    add_book_lines(book, [{"order_id": "A001", "sku": "WS1001", "spec": "10片/盒"},
                          {"order_id": 20261126001, "sku": "WS1002"}])
    rows = [line("Ａ００１", sku="ＷＳ１００１", spec=" 10片/盒 "), line('="20261126001"', sku="WS1002", spec=""),
            line("A001", sku="WS1001", spec="20片/盒")]
    f = write_csv(tmp_path / "n.csv", rows, encoding="gbk")
    code, data = imp(book, f)
    assert data["skipped"] == 2 and data["added"] == 1
    assert read_orders(book)[-1]["spec"] == "20片/盒"


def test_import_then_validate_then_reimport(tmp_path):
    from pyshipbook.sample import make_book, order_rows, write_export_csv
    path = make_book(tmp_path / "book.xlsx")
    rows = order_rows(60, seed=5)
    f = write_export_csv(tmp_path / "export.csv", rows)
    code, data = imp(path, f)
    assert data["added"] == len(rows) and data["unmapped_columns"] == []
    code, vdata = run_cli("validate", path, "--json")
    assert vdata["lines"] == len(rows)
    code, data = imp(path, f)  # after validate normalised the lines
    assert data["added"] == 0 and data["skipped"] == len(rows)
    assert len(read_orders(path)) == len(rows)


# -- statuses ----------------------------------------------------------------------------
def test_order_status_cancelled_unpaid_and_payment(book, tmp_path):
    headers = ["订单号", "商品编码", "订单状态", "付款时间"]
    rows = [{"订单号": "S1", "商品编码": "A", "订单状态": "交易关闭", "付款时间": "2026-11-26 10:00"},
            {"订单号": "S2", "商品编码": "A", "订单状态": "已取消"},
            {"订单号": "S3", "商品编码": "A", "订单状态": "等待买家付款"},
            {"订单号": "S4", "商品编码": "A", "订单状态": "待发货", "付款时间": "2026-11-26 10:00"},
            {"订单号": "S5", "商品编码": "A", "订单状态": "待发货"},
            {"订单号": "S6", "商品编码": "A", "订单状态": "订单关闭"}]
    f = write_csv(tmp_path / "s.csv", rows, headers=headers, encoding="gbk")
    code, data = imp(book, f)
    assert code == 0 and data["cancelled"] == 3
    got = {g["order_id"]: g for g in read_orders(book)}
    assert [got[k]["status"] for k in ("S1", "S2", "S3", "S4", "S5", "S6")] == \
        ["已取消", "已取消", "待校验", "待校验", "待校验", "已取消"]
    assert got["S3"]["payment_status"] == "未付款"
    assert got["S4"]["payment_status"] == "已付款"
    assert got["S5"]["payment_status"] is None   # validate decides
    assert got["S1"]["channel"] is None          # validate fills the default
    code, text = run_cli("import", book, write_csv(tmp_path / "s2.csv", [dict(r, 订单号=r["订单号"] + "b")
                                                                         for r in rows], headers=headers))
    assert "其中已取消 3 行" in text and "3 of them cancelled" in text


def test_file_payment_status_wins_over_order_status(book, tmp_path):
    headers = ["订单号", "商品编码", "订单状态", "付款状态", "付款时间"]
    rows = [{"订单号": "P1", "商品编码": "A", "订单状态": "待付款", "付款状态": "货到付款"},
            {"订单号": "P2", "商品编码": "A", "付款状态": "未付款", "付款时间": "2026-11-26 10:00"}]
    f = write_csv(tmp_path / "p.csv", rows, headers=headers)
    imp(book, f)
    got = {g["order_id"]: g for g in read_orders(book)}
    assert got["P1"]["payment_status"] == "货到付款" and got["P2"]["payment_status"] == "未付款"


# -- user mapping --------------------------------------------------------------------------
def test_user_mapping_from_settings(book, tmp_path):
    set_mapping(book, "收货手机=phone； 宝贝编码=商品编码,\n 交易号 = 订单号; 状况=订单状态")
    headers = ["交易号", "宝贝编码", "收货手机", "状况", "留个言"]
    rows = [{"交易号": "M1", "宝贝编码": "WS1001", "收货手机": "13812345678", "状况": "交易关闭", "留个言": "x"}]
    f = write_csv(tmp_path / "m.csv", rows, headers=headers, encoding="gbk")
    code, data = imp(book, f)
    assert code == 0, data
    assert data["columns"] == {"交易号": "order_id", "宝贝编码": "sku", "收货手机": "phone", "状况": "order_status"}
    assert data["unmapped_columns"] == ["留个言"]
    got = read_orders(book)[0]
    assert (got["order_id"], got["sku"], got["phone"], got["status"]) == ("M1", "WS1001", "13812345678", "已取消")


def test_user_mapping_overrides_an_alias(book, tmp_path):
    set_mapping(book, "买家备注=customer")
    f = write_csv(tmp_path / "o.csv", [{"订单号": "O1", "商品编码": "A", "买家备注": "VIP 张总"}])
    imp(book, f)
    assert read_orders(book)[0]["customer"] == "VIP 张总"


@pytest.mark.parametrize("mapping,named", [("收货手机 phone", "收货手机 phone"), ("宝贝编码=不存在的列", "不存在的列"),
                                           ("=sku", "=sku"), ("a=b=c", "a=b=c"), ("x=校验结果", "校验结果")])
def test_bad_mapping_entry_is_refused_naming_it(book, tmp_path, mapping, named, capsys):
    set_mapping(book, f"收货手机=phone; {mapping}")
    f = write_csv(tmp_path / "o.csv", [{"订单号": "O1", "商品编码": "A"}])
    before = book.read_bytes()
    assert main(["import", str(book), str(f)]) == 2
    err = capsys.readouterr().err
    assert named in err and "导入列映射" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert book.read_bytes() == before


def test_parse_mapping():
    assert import_orders.parse_mapping("收货手机=phone; 宝贝编码=商品编码；卖家备注＝备注\n") == {
        "收货手机": "phone", "宝贝编码": "sku", "卖家备注": "remark"}
    assert import_orders.parse_mapping("") == {} and import_orders.parse_mapping(None) == {}
    with pytest.raises(ShipbookError, match="oops"):
        import_orders.parse_mapping("a=phone; oops")


# -- unmapped, rejected, formulas -----------------------------------------------------------
def test_unmapped_columns_are_reported(book, tmp_path, capsys):
    f = tmp_path / "u.csv"
    f.write_text("订单号,商品编码,优惠券,,达人ID,\nU1,A,5元,stray,,\n", encoding="utf-8")
    code, data = imp(book, f)
    assert code == 0
    assert data["unmapped_columns"] == ["优惠券", "列D", "达人ID"]
    assert main(["import", str(book), str(f)]) == 0
    out = capsys.readouterr().out
    assert "未识别的列" in out and "优惠券" in out and "unmapped columns" in out


def test_rejected_rows_with_reasons_and_empty_rows_ignored(book, tmp_path, capsys):
    rows = [line("J1"), line("", sku="WS1"), {h: "" for h in HEADERS}, line("J3", sku=""),
            line("", sku="", 备注="合计"), line('=""', sku="WS2"), line("J4")]
    f = write_csv(tmp_path / "j.csv", rows, encoding="gbk")
    code, data = imp(book, f)
    assert code == 1
    assert data["added"] == 2 and data["lines"] == 6  # the empty row is not a line
    rej = {r["line"]: r for r in data["rejected"]}
    assert sorted(rej) == [3, 5, 6, 7]
    assert rej[3]["codes"] == ["order_id.missing"] and "订单号" in rej[3]["reason"] and "order id" in rej[3]["reason"]
    assert rej[5]["codes"] == ["sku.missing"] and rej[5]["order_id"] == "J3"
    assert rej[6]["codes"] == ["order_id.missing", "sku.missing"]
    assert [g["order_id"] for g in read_orders(book)] == ["J1", "J4"]
    assert main(["import", str(book), str(f)]) == 1
    out = capsys.readouterr().out
    assert "拒绝 4 行" in out and "源文件第 3 行缺少订单号" in out


def test_formula_like_text_lands_as_text(book, tmp_path):
    rows = [line("F1", 备注='=HYPERLINK("http://x","y")', 客户="+8613800000000", 收件人="@王芳", 规格="-1")]
    f = write_csv(tmp_path / "f.csv", rows, encoding="gbk")
    code, data = imp(book, f)
    assert code == 0
    ws = openpyxl.load_workbook(book)[ORDERS.name]
    cols = {c.value: c.column for c in ws[1]}
    for header, value in (("备注", '=HYPERLINK("http://x","y")'), ("客户", "+8613800000000"), ("收件人", "@王芳"),
                          ("规格", "-1")):
        cell = ws.cell(2, cols[header])
        assert cell.value == value and cell.data_type == "s", header


def test_control_characters_are_removed_and_reported(book, tmp_path):
    f = write_csv(tmp_path / "c.csv", [line("K1", 备注="a\x07b\x1bc", 收件人="王\x00芳")])
    code, data = imp(book, f)
    assert code == 0 and data["control_chars_removed"] == 2
    got = read_orders(book)[0]
    assert got["remark"] == "abc" and got["recipient"] == "王芳"


ALPHABET = st.characters(codec="gbk", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    list(",;\t\"'=+-@ \n１２ＡＢ　，。"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(remarks=st.lists(st.text(ALPHABET, max_size=30), min_size=1, max_size=4),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]), delimiter=st.sampled_from([",", "\t", ";"]))
def test_free_text_roundtrips_exactly(tmp_path_factory, remarks, encoding, delimiter):
    tmp = tmp_path_factory.mktemp("rt")
    path = tmp / "book.xlsx"
    new_workbook().save(path)
    rows = [line(f"H{i}", 备注=r, 客户=r[::-1]) for i, r in enumerate(remarks)]
    f = write_csv(tmp / "h.csv", rows, encoding=encoding, delimiter=delimiter)
    code, data = imp(path, f)
    assert code == 0 and data["added"] == len(rows), data
    got = read_orders(path)
    assert [g["remark"] for g in got] == [r or None for r in remarks]
    assert [g["customer"] for g in got] == [r[::-1] or None for r in remarks]


# -- refusals and the CLI -------------------------------------------------------------------
def test_cli_exit_codes_and_one_line_errors(book, tmp_path, capsys):
    good = write_csv(tmp_path / "ok.csv", [line("E1")])
    bad = write_csv(tmp_path / "bad.csv", [line("")])
    assert main(["import", str(book), str(good)]) == 0
    assert main(["import", str(book), str(bad)]) == 1
    capsys.readouterr()
    before = book.read_bytes()
    notbook = tmp_path / "notes.xlsx"
    notbook.write_text("这不是工作簿 / not a workbook", encoding="utf-8")
    unsupported = tmp_path / "orders.pdf"
    unsupported.write_bytes(b"%PDF-1.4")
    noheader = write_csv(tmp_path / "nh.csv", [{"a": "1", "b": "2"}])
    binary = tmp_path / "junk.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    cases = [([str(book), str(tmp_path / "missing.csv")], "missing.csv"),
             ([str(book), str(unsupported)], ".pdf"),
             ([str(notbook), str(good)], "notes.xlsx"),
             ([str(tmp_path / "nobook.xlsx"), str(good)], "nobook.xlsx"),
             ([str(book), str(noheader)], "nh.csv"),
             ([str(book), str(binary)], "junk.csv"),
             ([str(book), str(tmp_path)], "")]
    for argv, named in cases:
        assert main(["import", *argv]) == 2, argv
        captured = capsys.readouterr()
        err = captured.err
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err and named in err and err.startswith("错误")
        assert captured.out == ""
    assert book.read_bytes() == before


def test_json_output_shape(book, tmp_path, capsys):
    f = write_csv(tmp_path / "o.csv", [line("J1"), line("", sku="X")], encoding="gbk")
    assert main(["import", "--json", str(book), str(f)]) == 1
    import json
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    data = json.loads(out)
    assert {"added", "skipped", "rejected", "skipped_orders", "unmapped_columns"} <= set(data)
    assert data["added"] == 1 and data["skipped"] == 0 and data["skipped_orders"] == []
    assert data["rejected"][0]["line"] == 3 and isinstance(data["rejected"][0]["reason"], str)
    assert isinstance(data["unmapped_columns"], list)


def test_run_on_a_book_object(book, tmp_path):
    """The Excel button calls run(book, ctx, file) on an open book."""
    f = write_csv(tmp_path / "o.csv", [line("B1")])
    ctx = Context(Identity("按钮"), dt.datetime(2026, 11, 26, 15, 0))
    with open_book(book) as b:
        result = import_orders.run(b, ctx, f)
    assert result.exit_code == 0 and result.rows == 1 and result.operation == "import"
    assert "新增 1 行" in result.zh and "1 lines added" in result.en
    log = read_sheet(book, LOG.name)[-1]
    assert log[1:6] == ("按钮", "import", "o.csv", 1, "ok")


def test_ten_thousand_lines_import_once(book, tmp_path):
    """A big export: all lines land once, a re-import skips every one (speed lives in bench/)."""
    rows = [line(f"2026112600{i:08d}", sku=f"WS{i % 40}") for i in range(10_000)]
    f = write_csv(tmp_path / "big.csv", rows, encoding="gbk")
    ctx = Context(Identity("t"), dt.datetime(2026, 11, 26, 15, 0))
    with open_book(book) as b:
        result = import_orders.run(b, ctx, f)
    assert result.data["added"] == 10_000
    with open_book(book) as b:
        result = import_orders.run(b, ctx, f)
    assert result.data["added"] == 0 and result.data["skipped"] == 10_000
    assert len(read_orders(book)) == 10_000


# -- legacy .xls (LibreOffice writes a real BIFF8 file) ----------------------------------------
@pytest.fixture(scope="module")
def real_xls(tmp_path_factory) -> Path:
    import shutil
    import subprocess
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) not installed")
    tmp = tmp_path_factory.mktemp("xls")
    src = make_export_xlsx(tmp / "export.xlsx")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/lo", "--convert-to", "xls",
                    "--outdir", str(tmp / "out"), str(src)], check=True, capture_output=True, timeout=180)
    out = tmp / "out" / "export.xls"
    assert out.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    return out


@pytest.mark.libreoffice
@pytest.mark.parametrize("reader", ["calamine", "xlrd"])
def test_real_xls_export(book, real_xls, reader, monkeypatch):
    from pyshipbook.book import sources
    if reader == "xlrd":  # calamine refuses: the xlrd fallback reads it
        def refuse(*a, **k):
            raise RuntimeError("calamine refused")
        monkeypatch.setattr(sources, "_calamine_rows", refuse)
    code, data = imp(book, real_xls)
    assert code == 1 and data["header_row"] == 3 and data["added"] == 2
    assert [r["line"] for r in data["rejected"]] == [7]
    got = read_orders(book)
    assert got[0]["order_id"] == "20261126001" and got[0]["phone"] == "13812345678"
    assert got[0]["ordered_at"] == dt.datetime(2026, 11, 26, 9, 30)
    assert got[1]["status"] == "已取消"


def test_decode_detects_encodings():
    from pyshipbook.book.sources import decode
    text = "订单号,商品编码\nA1,红色\n"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(text.encode("gbk")) == (text, "gb18030")
    assert decode(text.encode("gb18030")) == (text, "gb18030")
    assert decode(text.encode("utf-16-le")) == (text, "utf-16-le")   # no BOM
    assert decode(text.encode("utf-16")) == (text, "utf-16")
    assert decode(("订单号\x00,商品编码\n" + "A1,红色\n" * 20).encode("utf-8"))[1] == "utf-8"  # a stray NUL
    with pytest.raises(ShipbookError):
        decode(bytes(range(256)) * 4)


def test_an_import_file_that_is_a_zip_bomb_is_refused_before_reading(tmp_path):
    """An .xlsx export is an untrusted zip: refused by the package checks, book untouched."""
    import zipfile

    from pyshipbook.sample import make_book
    book = make_book(tmp_path / "book.xlsx")
    before = book.read_bytes()
    bomb = tmp_path / "export.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(600):
                f.write(chunk)
    code, text = run_cli("import", book, bomb)
    assert code == 2
    assert "Traceback" not in text and ("bomb" in text.lower() or "压缩" in text)
    assert book.read_bytes() == before
