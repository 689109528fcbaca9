"""The business's words for where things stand (WORKBOOK.md): statuses, payment kinds, slip states,
signature validity, tracking events, shortage kinds, and every set of them the rules use.

A leaf: it imports nothing of pyshipbook. book/schema.py offers these words as dropdowns and
re-exports them under the same names; the domain and the operations compare against these names,
never against the literal text.
"""

from __future__ import annotations

# -- 订单 状态: the order-line lifecycle ---------------------------------------------------------------
S_PENDING_CHECK = "待校验"
S_CHECK_FAILED = "校验失败"
S_AWAIT_PAYMENT = "待付款"
S_AWAIT_ALLOC = "待配货"
S_SHORT = "缺货"
S_ALLOCATED = "已配货"
S_ON_SLIP = "已开单"
S_AWAIT_SHIP = "待发货"
S_SHIPPED = "已发货"
S_DELIVERED = "已签收"
S_COMPLETED = "已完成"
S_CANCELLED = "已取消"
S_AFTER_SALES = "售后"
STATUSES = (S_PENDING_CHECK, S_CHECK_FAILED, S_AWAIT_PAYMENT, S_AWAIT_ALLOC, S_SHORT, S_ALLOCATED,
            S_ON_SLIP, S_AWAIT_SHIP, S_SHIPPED, S_DELIVERED, S_COMPLETED, S_CANCELLED, S_AFTER_SALES)
# Lines that hold stock: allocated and not yet shipped (the stock ledger counts only these).
HOLDING_STATUSES = frozenset({S_ALLOCATED, S_ON_SLIP, S_AWAIT_SHIP})
# Statuses that validate may (re)compute: nothing has been reserved or shipped yet.
VALIDATION_STATUSES = frozenset({"", S_PENDING_CHECK, S_CHECK_FAILED, S_AWAIT_PAYMENT, S_AWAIT_ALLOC})
# Lines past shipping (a tracking number was logged): a slip all of whose lines are here is done.
SHIPPED_ONWARD = frozenset({S_SHIPPED, S_DELIVERED, S_COMPLETED, S_AFTER_SALES})
# Lines on a slip, not yet shipped.
ON_SLIP_STATUSES = frozenset({S_ON_SLIP, S_AWAIT_SHIP})
# What allocate (re)tries, and what is not ready for it yet.
OPEN_STATUSES = frozenset({S_AWAIT_ALLOC, S_SHORT})
WAITING_STATUSES = frozenset({"", S_PENDING_CHECK, S_CHECK_FAILED, S_AWAIT_PAYMENT})
# Lines a tracking number may be logged for (a further parcel of a shipped order too).
READY_STATUSES = frozenset({S_AWAIT_SHIP, S_SHIPPED})

# -- 付款状态: payment kinds -----------------------------------------------------------------------------
UNPAID = "未付款"
PAID = "已付款"
COD = "货到付款"                     # cash on delivery: ships before it is paid
PAYMENT_STATUSES = (UNPAID, PAID, COD)
PAID_OR_COD = frozenset({PAID, COD})  # may be allocated and shipped
# what people and shops write for them (compared case-folded, without spaces) -> the kind
PAYMENT_SYNONYMS = {
    "已付款": PAID, "已支付": PAID, "已付": PAID, "付款成功": PAID, "paid": PAID,
    "未付款": UNPAID, "未支付": UNPAID, "待付款": UNPAID, "待支付": UNPAID, "unpaid": UNPAID,
    "货到付款": COD, "到付": COD, "cod": COD,
}

# -- 渠道 and 快递公司: the dropdown choices --------------------------------------------------------------
CHANNELS = ("微信", "小程序", "电话", "邮件", "经销商", "跨境")
CARRIER_CODES = ("SF", "ZTO", "YTO", "YUNDA", "STO", "JD", "EMS", "JT", "DBL")

# -- 出库单 状态 and numbers -------------------------------------------------------------------------------
SLIP_AWAIT_SIGNATURE = "待签字"
SLIP_SIGNED = "已签字"              # both roles signed the current content
SLIP_PREFIX = "CK"                 # CKyyyymmdd-NNN
VOID_SLIP_WORDS = ("作废", "取消", "void", "cancel")   # a 出库单 状态 holding one of these: the slip is void

# -- 签字记录 有效 --------------------------------------------------------------------------------------
SIGNATURE_VALID = "有效"
SIGNATURE_VOID = "失效"

# -- 物流跟踪 事件 ---------------------------------------------------------------------------------------
EVENT_SHIPPED = "已发货"            # the first parcel of an order, logged by 登记快递单号
EVENT_EXTRA_PARCEL = "追加包裹"     # a further parcel of the same order
EVENT_DELIVERED = "已签收"          # a parcel signed for (签收)
EXPORTED_EVENT = "已导出批量发货"   # "已导出批量发货 PLATFORM": the parcel went into that platform's batch-ship file

# -- 缺货 类型 -------------------------------------------------------------------------------------------
SHORT_KIND = "缺货"                # short orders wait on this SKU
REPLENISH_KIND = "补货"            # 可用 fell below 安全库存
