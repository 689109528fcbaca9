"""Validation's problem codes (WORKBOOK.md): the checks of domain/validate.py report these.

The record and the code type live in domain/codes.py (re-exported here); every code table of the
product is listed by domain/catalogue.all_codes().
"""

from __future__ import annotations

from .codes import Code, Problem, Severity, check_text, register

__all__ = ["CODES", "Code", "Problem", "Severity", "check_text"]

CODES: dict[str, Code] = register(
    Code("order_id.missing", "error", "缺少订单号", "no order id", "order_id"),
    Code("order.inconsistent", "error", "同一订单的收件人、电话或地址不一致",
         "lines of one order disagree on recipient, phone or address", "order_id"),
    Code("order.duplicate_line", "warning", "同一订单重复出现相同商品", "the same order and SKU appear twice",
         "sku"),
    Code("recipient.missing", "error", "缺少收件人", "no recipient", "recipient"),
    Code("phone.missing", "error", "缺少电话", "no phone number", "phone"),
    Code("phone.invalid", "error", "电话号码无效", "not a valid phone number", "phone"),
    Code("address.missing", "error", "缺少详细地址", "no address", "address"),
    Code("address.unresolved", "error", "无法从地址识别省市", "no province and city found for the address",
         "address"),
    Code("region.mismatch", "warning", "省/市/区县与地址不一致", "province/city/district disagree with the address",
         "province"),
    Code("sku.missing", "error", "缺少商品编码", "no SKU", "sku"),
    Code("sku.unknown", "error", "商品编码不在库存表中", "SKU not in 库存", "sku"),
    Code("qty.invalid", "error", "数量缺失、不是整数或不大于0", "quantity missing, not a whole number, or ≤ 0", "qty"),
    Code("price.invalid", "error", "单价缺失、为负或不是数字", "unit price missing, negative or not a number",
         "unit_price"),
    Code("price.differs", "warning", "单价与库存标价不同", "unit price differs from the list price", "unit_price"),
    Code("amount.mismatch", "error", "金额不等于数量×单价", "amount ≠ qty × unit price", "amount"),
    Code("paid_at.missing", "error", "已付款但缺少付款时间", "paid, but no payment time", "paid_at"),
    Code("date.invalid", "error", "日期或时间无法识别", "a date or time cannot be read", "ordered_at"),
    # added beyond the first contract table (WORKBOOK.md lists them too)
    Code("ordered_at.missing", "error", "缺少下单时间", "no order time", "ordered_at"),
    Code("payment.invalid", "error", "付款状态不是 未付款/已付款/货到付款",
         "payment status is not 未付款/已付款/货到付款", "payment_status"),
    Code("status.unknown", "warning", "状态不在流程中, 未改动", "status is not a lifecycle state; left as is",
         "status"),
    Code("cell.formula", "warning", "文本以 = + - @ 开头, 已按文本保存", "text began like a formula; kept as text",
         "remark"),
)
