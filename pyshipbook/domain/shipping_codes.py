"""Problem codes the shipping operations report (waybills, re-issue, delivery, completion).

Data only, beside the other code tables so that `catalogue.all_codes()` and the
contract (docs/WORKBOOK.md) list every code the product can report. The tracking-number codes are
here because two rule modules report them (carriers checks a number, tracking logs it).
"""

from __future__ import annotations

from .codes import Code, register

# used by ops/waybills.py
WAYBILL_OP_CODES: dict[str, Code] = register(
    Code("waybill.not_signed", "error", "订单所在的出库单尚未由财务总监和物流总监按当前内容签字 (缺签字或签字已失效)",
         "the order's slip is not signed by both directors on its current content (a signature is missing "
         "or void)", "slip_no"),
    Code("waybill.changed_not_signed", "error",
         "订单已有运单, 但之后所在出库单内容被修改, 尚未重开并按新内容双签; 原运单已过时, 不要交给快递",
         "the order's slip changed after its waybill row was made and is not yet re-issued and signed by both "
         "on its new content; the old waybill row is out of date: do not hand it to the courier", "slip_no"),
    Code("waybill.shipped_before_change", "error",
         "订单已发货 (已登记快递单号), 之后其内容 (收件人、电话、地址、商品或数量) 被修改; 包裹按修改前的运单寄出, "
         "运单未替换: 请与快递联系处理, 处理后删除该运单行",
         "the order shipped (a tracking number is logged) on a waybill made before its content (recipient, "
         "phone, address, SKU or qty) changed; the waybill was not replaced: deal with the parcel with the "
         "courier, then delete its 运单 row", "tracking_no"),
    Code("waybill.order_cancelled", "error",
         "订单的所有行都已取消, 但它已有运单: 不要交给快递; 若已上传到快递系统, 请在快递系统中取消该快递订单, "
         "然后删除该运单行",
         "every line of the order is 已取消 but it has a waybill row: do not hand it to the courier; if it was "
         "uploaded, cancel the courier order in the courier's system, then delete its 运单 row", "status"),
    Code("waybill.cancelled_after_shipping", "error",
         "订单已发货 (已登记快递单号) 后所有行被取消: 包裹已寄出, 运单未改动; 请联系快递拦截退回, 退回后删除该运单行; "
         "客户已收货要退货的按售后处理 (状态改为 售后, 而不是 已取消)",
         "every line of the order was cancelled after it shipped (a tracking number is logged): the parcel is "
         "out and its waybill is left as it is; have the courier intercept and return it, then delete its "
         "运单 row; if the customer has it and returns it, handle it as after-sales (状态 售后, not 已取消)",
         "tracking_no"),
    Code("waybill.order_missing", "warning",
         "运单行的订单号在订单表中已找不到 (订单行被删除了?): 若该运单已上传到快递系统而订单不再发货, 请在快递系统中"
         "取消; 然后删除该运单行 (取消订单请把状态改为 已取消, 不要删除订单行)",
         "the 运单 row's order is no longer on 订单 (its lines were deleted?): if the row was uploaded and the "
         "order is not to ship, cancel the courier order; then delete the 运单 row (to cancel an order set its "
         "状态 to 已取消 rather than deleting its lines)", "order_id"),
)


# used by ops/reissue.py
REISSUE_CODES: dict[str, Code] = register(
    Code("reissue.no_lines", "error", "出库单上已没有订单行, 无法重开", "no order line carries this slip any more; "
         "it cannot be re-issued", "slip_no"),
    Code("reissue.line_invalid", "error", "出库单上有不能开单的行 (商品编码不在库存、数量无效或未配货)",
         "a line of the slip cannot go on a slip (SKU not in 库存, bad quantity, or not allocated)", "slip_no"),
    Code("reissue.stock_short", "error", "库存可用数量不足以按修改后的数量重开出库单",
         "库存 可用 cannot cover the slip's changed quantities", "sku"),
)


# used by ops/delivered.py
DELIVERED_CODES: dict[str, Code] = register(
    Code("delivered.tracking_unknown", "error", "没有订单使用此快递单号", "no order has this tracking number",
         "tracking_no"),
    Code("delivered.not_shipped", "error", "订单尚未发货 (不是 已发货), 不能签收",
         "the order has not shipped (is not 已发货); it cannot be signed for", "status"),
    Code("delivered.time_invalid", "error", "签收时间无法识别", "the delivery time cannot be read", "delivered_at"),
)


# used by ops/close_completed.py
COMPLETE_CODES: dict[str, Code] = register(
    Code("complete.days_invalid", "error", "设置中的签收后完成天数不是非负整数", "设置 签收后完成天数 is not a whole "
         "number ≥ 0", "status"),
    Code("complete.delivered_at_missing", "warning", "已签收但签收时间缺失或无法识别, 无法判断是否完成",
         "已签收 without a readable 签收时间; cannot tell when it completes", "delivered_at"),
)


# used by domain/carriers.py (checking a number) and domain/tracking.py (logging it); tracking.CODES
TRACKING_CODES: dict[str, Code] = register(
    Code("tracking.missing", "error", "缺少快递单号", "no tracking number", "tracking_no"),
    Code("tracking.unreadable", "error",
         "快递单号无法识别 (被 Excel 存成数字后丢失了位数, 或含有字母数字以外的字符); 请将该列设为文本后重新填写",
         "the tracking number cannot be read (stored by Excel as a number that lost digits, or holds "
         "characters other than letters and digits); format the column as text and enter it again",
         "tracking_no"),
    Code("tracking.invalid", "error", "快递单号与所选快递公司的单号格式不符",
         "the tracking number does not match the chosen courier's format", "tracking_no"),
    Code("tracking.carrier_mismatch", "error", "快递单号的字母前缀属于另一家快递公司",
         "the tracking number's letter prefix belongs to another courier", "carrier"),
    Code("tracking.carrier_unknown", "error", "无法确定快递公司: 纯数字单号须指定快递公司, 或快递公司名称无法识别",
         "courier unknown: a numeric tracking number needs a courier, or the courier name is not recognised",
         "carrier"),
    Code("tracking.order_unknown", "error", "订单号不存在", "no such order", "order_id"),
    Code("tracking.order_not_ready", "error", "订单不是待发货或已发货, 不能登记快递单号",
         "the order is not 待发货 or 已发货; no tracking number can be logged", "status"),
    Code("tracking.used_by_other_order", "error", "快递单号已用于其他订单",
         "the tracking number is already used by another order", "tracking_no"),
    Code("tracking.platform_code_missing", "error", "该平台没有此快递公司的代码, 未写入批量发货文件",
         "the platform has no code for this courier; left out of the batch-ship file", "carrier"),
)
