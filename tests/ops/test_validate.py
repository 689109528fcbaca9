"""validate on real workbook files: every problem code, messy variants, statuses, idempotence."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from conftest import good_line, read_orders, read_sheet, run_cli

from pyshipbook.book.schema import LOG, ORDERS
from pyshipbook.domain.problems import CODES


def validate(path):
    code, data = run_cli("validate", path, "--json")
    assert isinstance(data, dict), data
    return code, data


def codes_by_order(data) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in data["problems"]:
        out.setdefault(p["order_id"], set()).add(p["code"])
    return out


def test_clean_paid_line_is_ok_and_awaits_allocation(book_with):
    path = book_with([good_line()])
    code, data = validate(path)
    assert code == 0
    assert data["lines"] == 1 and data["errors"] == 0 and data["problems"] == []
    row = read_orders(path)[0]
    assert row["check"] == "OK"
    assert row["status"] == "待配货"
    assert (row["province"], row["city"], row["district"]) == ("广东省", "深圳市", "南山区")


def test_unpaid_line_awaits_payment_and_cod_awaits_allocation(book_with):
    path = book_with([good_line(order_id="U1", payment_status="未付款", paid_at=None),
                      good_line(order_id="C1", payment_status="货到付款", paid_at=None)])
    code, _ = validate(path)
    assert code == 0
    status = {r["order_id"]: r["status"] for r in read_orders(path)}
    assert status == {"U1": "待付款", "C1": "待配货"}


@pytest.mark.parametrize("field,value,code", [
    ("order_id", None, "order_id.missing"),
    ("order_id", "   ", "order_id.missing"),
    ("recipient", None, "recipient.missing"),
    ("recipient", "\u3000", "recipient.missing"),
    ("phone", None, "phone.missing"),
    ("phone", "1381234", "phone.invalid"),
    ("phone", "12345678901", "phone.invalid"),
    ("phone", "abc", "phone.invalid"),
    ("phone", "+1 415 555 2671", "phone.invalid"),  # +country only for cross-border
    ("address", None, "address.missing"),
    ("address", "请放门口", "address.unresolved"),
    ("address", "朝阳区建国路88号", "address.unresolved"),  # Beijing or Changchun: never a guess
    ("sku", None, "sku.missing"),
    ("sku", "WS9999", "sku.unknown"),
    ("qty", 0, "qty.invalid"),
    ("qty", -1, "qty.invalid"),
    ("qty", 2.5, "qty.invalid"),
    ("qty", "两件", "qty.invalid"),
    ("qty", None, "qty.invalid"),
    ("unit_price", None, "price.invalid"),
    ("unit_price", -5, "price.invalid"),
    ("unit_price", "免费?", "price.invalid"),
    ("amount", 999.0, "amount.mismatch"),
    ("amount", "一百", "amount.mismatch"),
    ("paid_at", None, "paid_at.missing"),
    ("ordered_at", "2026/13/45", "date.invalid"),
    ("ordered_at", "昨天下午", "date.invalid"),
    ("paid_at", "2026-02-30 10:00", "date.invalid"),
    ("ordered_at", None, "ordered_at.missing"),
    ("payment_status", "部分付款", "payment.invalid"),
])
def test_each_error_code_is_reported_and_fails_the_line(book_with, field, value, code):
    assert CODES[code].severity == "error"
    path = book_with([good_line(**{field: value})])
    exit_code, data = validate(path)
    assert exit_code == 1
    assert code in {p["code"] for p in data["problems"]}
    row = read_orders(path)[0]
    assert row["status"] == "校验失败"
    assert f"[{code}]" in row["check"]
    assert CODES[code].zh in row["check"]


@pytest.mark.parametrize("over,code", [
    ({"unit_price": 80.0, "amount": 160.0}, "price.differs"),
    ({"remark": "=1+2"}, "cell.formula"),
    ({"remark": "@SUM(A1)"}, "cell.formula"),
    ({"customer": "+cmd|' /C calc'!A0"}, "cell.formula"),
    ({"recipient": "-王芳"}, "cell.formula"),
    ({"remark": "\t=1+1"}, "cell.formula"),
    ({"spec": "\r@x"}, "cell.formula"),
    ({"remark": "＝1+1"}, "cell.formula"),
    ({"province": "江苏省", "city": "南京市"}, "region.mismatch"),
    ({"district": "福田区"}, "region.mismatch"),
])
def test_each_warning_code_is_reported_but_the_line_passes(book_with, over, code):
    assert CODES[code].severity == "warning"
    path = book_with([good_line(**over)])
    exit_code, data = validate(path)
    assert exit_code == 0
    assert [p["code"] for p in data["problems"]] == [code]
    row = read_orders(path)[0]
    assert row["status"] == "待配货"
    assert f"[{code}]" in row["check"]


def test_formula_text_stays_text_in_the_saved_file(book_with):
    path = book_with([good_line(remark='=HYPERLINK("http://evil","点我")')])
    validate(path)
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    col = ORDERS.keys.index("remark") + 1
    assert ws.cell(2, col).value == '=HYPERLINK("http://evil","点我")'
    assert ws.cell(2, col).data_type == "s"


def test_a_real_formula_in_a_text_column_is_neutralised(book_with):
    path = book_with([good_line(remark='=1+1')], raw_cells=True)  # openpyxl writes it as a formula
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    assert ws.cell(2, ORDERS.keys.index("remark") + 1).data_type == "f"
    _, data = validate(path)
    assert [p["code"] for p in data["problems"]] == ["cell.formula"]
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    assert ws.cell(2, ORDERS.keys.index("remark") + 1).data_type == "s"


def test_amount_formula_is_accepted_and_kept(book_with):
    # a real Excel formula in 金额 with no cached value: qty × price is used, the formula stays
    path = book_with([good_line(amount="=N2*O2")], raw_cells=True)
    code, data = validate(path)
    assert code == 0, data["problems"]
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    assert ws.cell(2, ORDERS.keys.index("amount") + 1).value == "=N2*O2"


def test_order_lines_that_disagree_are_inconsistent(book_with):
    path = book_with([good_line(), good_line(sku="WS1002", unit_price=59.0, amount=118.0, phone="13900000000")])
    code, data = validate(path)
    assert code == 1
    rows = {p["row"] for p in data["problems"] if p["code"] == "order.inconsistent"}
    assert rows == {2, 3}


def test_a_blank_on_one_line_is_missing_not_inconsistent(book_with):
    path = book_with([good_line(), good_line(sku="WS1002", unit_price=59.0, amount=118.0, recipient=None)])
    code, data = validate(path)
    assert code == 1
    assert sorted(p["code"] for p in data["problems"]) == ["recipient.missing"]


def test_invalid_qty_is_not_also_an_amount_mismatch(book_with):
    path = book_with([good_line(qty=0)])
    _, data = validate(path)
    assert [p["code"] for p in data["problems"]] == ["qty.invalid"]


def test_inconsistency_is_judged_after_normalising(book_with):
    # the same phone written two ways is the same phone
    path = book_with([good_line(), good_line(sku="WS1002", unit_price=59.0, amount=118.0,
                                             phone="+86 138-1234-5678")])
    code, data = validate(path)
    assert code == 0, data["problems"]


def test_duplicate_order_and_sku_is_a_warning_on_both_lines(book_with):
    path = book_with([good_line(), good_line()])
    code, data = validate(path)
    assert code == 0
    assert sorted(p["row"] for p in data["problems"] if p["code"] == "order.duplicate_line") == [2, 3]


@pytest.mark.parametrize("raw,expected", [
    ("１３８ １２３４ ５６７８", "13812345678"),
    ("+86 138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    (13812345678, "13812345678"),
    (13812345678.0, "13812345678"),
    (" 199 1234 5678 ", "19912345678"),
    ("166-1234-5678", "16612345678"),
])
def test_messy_mobile_numbers_are_normalised_silently(book_with, raw, expected):
    path = book_with([good_line(phone=raw)])
    code, data = validate(path)
    assert code == 0, data["problems"]
    assert str(read_orders(path)[0]["phone"]) == expected


def test_cross_border_line_accepts_a_foreign_number(book_with):
    path = book_with([good_line(channel="跨境", phone="+852 9123 4567")])
    code, data = validate(path)
    assert code == 0, data["problems"]
    assert read_orders(path)[0]["phone"] == "+85291234567"


@pytest.mark.parametrize("raw,expected", [
    ("2026/11/26 14:00", dt.datetime(2026, 11, 26, 14, 0)),
    ("2026-11-26 14:00:05", dt.datetime(2026, 11, 26, 14, 0, 5)),
    ("2026年11月26日 10:45", dt.datetime(2026, 11, 26, 10, 45)),
    ("11月26日 10:45", dt.datetime(2026, 11, 26, 10, 45)),
    (46352.5, dt.datetime(2026, 11, 26, 12, 0)),  # an Excel serial date
])
def test_text_and_serial_dates_become_real_dates(book_with, raw, expected):
    path = book_with([good_line(ordered_at=raw, paid_at=raw)])
    code, data = validate(path)
    assert code == 0, data["problems"]
    row = read_orders(path)[0]
    assert row["ordered_at"] == expected and row["paid_at"] == expected


def test_numbers_stored_as_text_and_spaces_are_normalised(book_with):
    path = book_with([good_line(qty=" 2 ", unit_price="¥89.00", amount="178", sku=" WS1001 ", recipient=" 王芳 ")])
    code, data = validate(path)
    assert code == 0, data["problems"]
    row = read_orders(path)[0]
    assert (row["qty"], row["unit_price"], row["amount"], row["sku"], row["recipient"]) == \
        (2, 89.0, 178.0, "WS1001", "王芳")


def test_blank_fills_come_from_stock_and_arithmetic(book_with):
    path = book_with([good_line(product_name=None, amount=None, channel=None)])
    code, data = validate(path)
    assert code == 0, data["problems"]
    row = read_orders(path)[0]
    assert row["product_name"] == "玫瑰精华面膜"
    assert row["amount"] == 178.0
    assert row["channel"] == "微信"


def test_current_divisions_are_resolved(book_with):
    path = book_with([good_line(order_id="N1", address="四川省成都市新津区五津街道兴园路1号"),
                      good_line(order_id="N2", address="浙江省杭州市临平区南苑街道1号", phone="13812345679"),
                      good_line(order_id="N3", address="上海浦东新区张江路1号", phone="13812345670")])
    code, data = validate(path)
    assert code == 0, data["problems"]
    regions = {r["order_id"]: (r["province"], r["city"], r["district"]) for r in read_orders(path)}
    assert regions["N1"] == ("四川省", "成都市", "新津区")
    assert regions["N2"] == ("浙江省", "杭州市", "临平区")
    assert regions["N3"][0] == "上海市" and regions["N3"][2] == "浦东新区"


def test_user_given_region_fills_an_address_without_one(book_with):
    path = book_with([good_line(address="建国路88号", province="北京市", city="北京市", district="朝阳区")])
    code, data = validate(path)
    assert code == 0, data["problems"]


def test_validate_twice_changes_no_order_cell(book_with):
    path = book_with([good_line(phone="+86 138 1234 5678", qty="2"), good_line(order_id="B", recipient=None)])
    validate(path)
    first = read_orders(path)
    code, data = validate(path)
    assert data["cells_changed"] == 0
    assert read_orders(path) == first


def test_rows_are_never_dropped_or_reordered(book_with):
    lines = [good_line(order_id=f"R{i}", phone=f"1381234{i:04d}", recipient=None if i % 3 == 0 else "王芳")
             for i in range(12)]
    path = book_with(lines)
    validate(path)
    assert [r["order_id"] for r in read_orders(path)] == [f"R{i}" for i in range(12)]


def test_lines_past_validation_keep_their_status(book_with):
    path = book_with([good_line(status="已发货"), good_line(order_id="X", status="已取消", recipient=None)])
    validate(path)
    assert [r["status"] for r in read_orders(path)] == ["已发货", "已取消"]


def test_fixed_line_moves_from_failed_to_awaiting_allocation(book_with):
    path = book_with([good_line(recipient=None)])
    validate(path)
    assert read_orders(path)[0]["status"] == "校验失败"
    wb = openpyxl.load_workbook(path)
    wb[ORDERS.name].cell(2, ORDERS.keys.index("recipient") + 1, "王芳")
    wb.save(path)
    code, _ = validate(path)
    assert code == 0
    assert read_orders(path)[0]["status"] == "待配货"


def test_error_cells_are_highlighted_by_conditional_formatting(book_with):
    path = book_with([good_line(phone="123")])
    validate(path)
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    phone_col = openpyxl.utils.get_column_letter(ORDERS.keys.index("phone") + 1)
    rules = {str(cf.sqref): [r.formula[0] for r in cf.rules] for cf in ws.conditional_formatting}
    phone_rules = [f for rng, fs in rules.items() if rng.startswith(phone_col + "2") for f in fs]
    assert any("[phone.invalid]" in f for f in phone_rules)
    validate(path)  # rules are replaced, not stacked
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    assert sum(len(cf.rules) for cf in ws.conditional_formatting) == sum(len(v) for v in rules.values())


def test_every_run_is_logged(book_with):
    path = book_with([good_line()])
    validate(path)
    validate(path)
    log = read_sheet(path, LOG.name)
    assert [r[2] for r in log[1:]] == ["validate", "validate"]
    assert log[1][1] == "测试员"


def test_extra_user_columns_and_column_order_are_tolerated(tmp_path):
    from pyshipbook.sample import make_book
    path = make_book(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    ws.delete_rows(1)
    headers = ["我的备注", " 收件人 ", "order_id", "电话", "详细地址", "商品编码", "数量", "单价", "下单时间", "付款状态",
               "付款时间"]
    ws.append(headers)
    ws.append(["别动我", "王芳", "Z1", "13812345678", "广东省深圳市南山区科技园1号", "WS1001", 1, 89,
               dt.datetime(2026, 11, 26, 9), "已付款", dt.datetime(2026, 11, 26, 9)])
    wb.save(path)
    code, data = validate(path)
    assert code == 0, data
    ws = openpyxl.load_workbook(path)[ORDERS.name]
    assert ws["A2"].value == "别动我"
    header = [c.value for c in ws[1]]
    assert header[:len(headers)] == headers  # user's columns untouched; ours appended after
    assert "校验结果" in header and "状态" in header


def test_missing_required_column_exits_2_with_one_line(tmp_path):
    from pyshipbook.sample import make_book
    path = make_book(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    wb[ORDERS.name].cell(1, ORDERS.keys.index("phone") + 1, "随便")
    wb.save(path)
    before = path.read_bytes()
    code, text = run_cli("validate", path)
    assert code == 2
    assert "电话" in text and "Traceback" not in text
    assert path.read_bytes() == before


@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b"not a workbook"),
    lambda p: None,  # missing
    lambda p: p.write_bytes(b""),
])
def test_unusable_book_exits_2_without_traceback(tmp_path, make):
    path = tmp_path / "x.xlsx"
    make(path)
    code, text = run_cli("validate", path)
    assert code == 2
    assert "Traceback" not in text
    assert text.count("\n") == 1


def test_human_summary_is_bilingual(book_with):
    path = book_with([good_line(recipient=None)])
    code, text = run_cli("validate", path)
    assert code == 1
    assert "校验" in text and "validated" in text and "recipient.missing" in text
