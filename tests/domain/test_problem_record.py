"""The one problem record: how a finding reads in --json, in the CLI and in a cell."""

from __future__ import annotations

from dataclasses import replace

from pyshipbook.domain.catalogue import all_codes
from pyshipbook.domain.codes import Problem, check_text


def test_as_dict_has_the_json_keys_in_order_then_the_extras():
    p = Problem("tracking.order_unknown", 4, "NOSUCH", "NOSUCH", {"tracking_no": None, "carrier": "SF"})
    assert list(p.as_dict()) == ["row", "order_id", "code", "severity", "message", "tracking_no", "carrier"]
    assert p.as_dict()["message"] == "订单号不存在 / no such order: NOSUCH"
    assert p.as_dict()["severity"] == "error" and p.order_id == "NOSUCH"


def test_the_message_has_no_colon_without_a_detail():
    assert Problem("complete.delivered_at_missing", 3).message == \
        "已签收但签收时间缺失或无法识别, 无法判断是否完成 / 已签收 without a readable 签收时间; cannot tell when it completes"
    assert Problem("complete.delivered_at_missing").severity == "warning"


def test_an_inline_detail_follows_each_language():
    p = Problem("sign.wrong_person", detail="物流总监: 赵物流", inline=True)
    assert p.message == ("签字人不是设置中为该角色指定的人(物流总监: 赵物流) / "
                         "the signer is not the person 设置 names for this role (物流总监: 赵物流)")


def test_cell_text_puts_errors_first():
    ps = [Problem("price.differs", 2, detail="标价 89.00"), Problem("phone.invalid", 2, detail="123")]
    assert check_text(ps) == "电话号码无效(123) [phone.invalid]; 单价与库存标价不同(标价 89.00) [price.differs]"
    assert check_text([]) == "OK"


def test_replace_places_a_problem_on_a_row_and_order():
    p = replace(Problem("waybill.weight_missing", order="A1", detail="WS1"), row=7)
    assert (p.row, p.order, p.as_dict()["order_id"]) == (7, "A1", "A1")


def test_every_code_of_the_catalogue_makes_a_message():
    for code in all_codes():
        assert " / " in Problem(code).message
