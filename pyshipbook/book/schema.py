"""The workbook contract (../shared/WORKBOOK.md) as data.

Sheet names and Chinese headers live here and nowhere else: code uses the
English keys, users see the Chinese headers. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# The lifecycle words live in the domain (domain/lifecycle.py); they are re-exported here under
# their old names so the workbook layer and older callers keep importing them from schema.
from ..domain.headers import normalise_header
from ..domain.lifecycle import (CARRIER_CODES, CHANNELS, EVENT_DELIVERED, EVENT_EXTRA_PARCEL,  # noqa: F401
                                EVENT_SHIPPED, EXPORTED_EVENT, HOLDING_STATUSES, PAYMENT_STATUSES,  # noqa: F401
                                REPLENISH_KIND, S_AFTER_SALES, S_ALLOCATED, S_AWAIT_ALLOC,  # noqa: F401
                                S_AWAIT_PAYMENT, S_AWAIT_SHIP, S_CANCELLED, S_CHECK_FAILED,  # noqa: F401
                                S_COMPLETED, S_DELIVERED, S_ON_SLIP, S_PENDING_CHECK, S_SHIPPED,  # noqa: F401
                                S_SHORT, SHIPPED_ONWARD, SHORT_KIND, SIGNATURE_VALID, SIGNATURE_VOID,  # noqa: F401
                                SLIP_AWAIT_SIGNATURE, SLIP_PREFIX, SLIP_SIGNED, STATUSES,  # noqa: F401
                                VALIDATION_STATUSES)  # noqa: F401

Kind = Literal["text", "datetime", "integer", "money", "number"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: Kind = "text"
    width: float = 12
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    columns: tuple[Column, ...]
    # sheets the macros own are rebuilt or appended by code; users own the rest
    owned_by_macros: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


def _c(key, header, kind: Kind = "text", width=12, aliases=()):
    return Column(key, header, kind, width, tuple(aliases))


ORDERS = Sheet("orders", "订单", (
    _c("order_id", "订单号", width=20, aliases=("订单编号", "订单ID", "订单id", "主订单编号")),
    _c("ordered_at", "下单时间", "datetime", 17, ("创建时间", "订单创建时间", "下单日期")),
    _c("channel", "渠道", width=8, aliases=("订单来源", "来源")),
    _c("customer", "客户", width=12, aliases=("买家昵称", "买家", "买家会员名", "微信昵称", "经销商")),
    _c("recipient", "收件人", width=10, aliases=("收货人", "收货人姓名", "收件人姓名", "联系人")),
    _c("phone", "电话", width=15, aliases=("联系电话", "收货人手机", "手机号", "收件人电话", "手机", "收货人电话",
                                          "联系手机", "手机号码")),
    _c("province", "省", width=8, aliases=("省份", "收货省份", "所在省")),
    _c("city", "市", width=8, aliases=("城市", "收货城市", "所在市")),
    _c("district", "区县", width=8, aliases=("区", "县", "收货区县", "所在区")),
    _c("address", "详细地址", width=36, aliases=("收货地址", "收货人地址", "收件地址", "地址", "收货人详细地址")),
    _c("sku", "商品编码", width=12, aliases=("商家编码", "SKU编码", "sku编码", "商品货号", "货号", "规格编码")),
    _c("product_name", "商品名称", width=20, aliases=("宝贝标题", "商品标题", "品名")),
    _c("spec", "规格", width=12, aliases=("商品规格", "SKU属性", "sku属性", "销售属性", "颜色分类")),
    _c("qty", "数量", "integer", 6, ("购买数量", "商品数量", "件数")),
    _c("unit_price", "单价", "money", 9, ("商品单价", "价格", "销售单价")),
    _c("amount", "金额", "money", 10, ("实付金额", "小计", "商品金额", "应付金额")),
    _c("payment_status", "付款状态", width=10, aliases=("支付状态",)),
    _c("paid_at", "付款时间", "datetime", 17, ("支付时间", "付款日期")),
    _c("remark", "备注", width=20, aliases=("买家备注", "订单备注", "留言", "买家留言")),
    _c("status", "状态", width=10),
    _c("check", "校验结果", width=40),
    _c("slip_no", "出库单号", width=15),
    _c("carrier", "快递公司", width=10, aliases=("物流公司",)),
    _c("tracking_no", "快递单号", width=18, aliases=("运单号", "物流单号", "运单号码")),
    _c("shipped_at", "发货时间", "datetime", 17),
    _c("delivered_at", "签收时间", "datetime", 17),
    # the stock ledger (macros only): what this line reserved in 库存 when it was allocated. 已分配 of
    # a SKU is always the sum of 配货数量 over lines that hold stock (HOLDING_STATUSES) with that 配货编码.
    _c("alloc_sku", "配货编码", width=12),
    _c("alloc_qty", "配货数量", "integer", 8),
))

STOCK = Sheet("stock", "库存", (
    _c("sku", "商品编码", width=12, aliases=("商家编码", "SKU编码", "货号")),
    _c("name", "商品名称", width=20, aliases=("品名",)),
    _c("spec", "规格", width=12),
    _c("list_price", "标价", "money", 9, ("单价", "售价")),
    _c("on_hand", "库存数量", "integer", 9, ("库存", "数量", "现存量")),
    _c("allocated", "已分配", "integer", 8),
    _c("available", "可用", "integer", 8),
    _c("safety_stock", "安全库存", "integer", 9),
    _c("weight_kg", "单件重量kg", "number", 10, ("重量", "单件重量", "重量kg")),
    _c("location", "库位", width=8),
    _c("hs_code", "HS编码", width=12),
))

SLIPS = Sheet("slips", "出库单", (
    _c("slip_no", "出库单号", width=16),
    _c("date", "日期", "datetime", 12),
    _c("orders", "订单数", "integer", 8),
    _c("pieces", "件数", "integer", 8),
    _c("amount", "金额", "money", 10),
    _c("maker", "制单人", width=10),
    _c("finance_signer", "财务总监签字", width=12),
    _c("finance_signed_at", "财务签字时间", "datetime", 17),
    _c("logistics_signer", "物流总监签字", width=12),
    _c("logistics_signed_at", "物流签字时间", "datetime", 17),
    _c("fingerprint", "内容指纹", width=20),
    _c("state", "状态", width=10),
), owned_by_macros=True)

SLIP_LINES = Sheet("slip_lines", "出库明细", (
    _c("slip_no", "出库单号", width=16),
    _c("location", "库位", width=8),
    _c("sku", "商品编码", width=12),
    _c("name", "商品名称", width=20),
    _c("spec", "规格", width=12),
    _c("qty", "数量", "integer", 6),
    _c("order_id", "订单号", width=20),
    _c("recipient", "收件人", width=10),
), owned_by_macros=True)

SIGNATURES = Sheet("signatures", "签字记录", (
    _c("slip_no", "出库单号", width=16),
    _c("role", "角色", width=10),
    _c("signer", "签字人", width=10),
    _c("signed_at", "签字时间", "datetime", 17),
    _c("fingerprint", "签署指纹", width=20),
    _c("valid", "有效", width=8),
), owned_by_macros=True)

WAYBILLS = Sheet("waybills", "运单", (
    _c("order_id", "订单号", width=20),
    _c("carrier", "快递公司", width=10),
), owned_by_macros=True)
# The 运单 sheet is laid out at run time (ops/waybills.py): the pair above, the chosen courier's layout
# columns, then these two: what the row was made from, so a slip changed and re-issued after its
# waybill is noticed. 出库单指纹 = the 内容指纹 of the order's slip(s) (several joined by ","), as signed;
# 订单指纹 = the same fingerprint (domain/slips.fingerprint) over the order's own lines.
WAYBILL_FINGERPRINTS: tuple[Column, ...] = (
    _c("slip_fingerprint", "出库单指纹", width=20),
    _c("order_fingerprint", "订单指纹", width=20),
)

TRACKING = Sheet("tracking", "物流跟踪", (
    _c("order_id", "订单号", width=20),
    _c("carrier", "快递公司", width=10),
    _c("tracking_no", "快递单号", width=18),
    _c("event_at", "时间", "datetime", 17),
    _c("event", "事件", width=30),
), owned_by_macros=True)

SHORTAGES = Sheet("shortages", "缺货", (
    _c("sku", "商品编码", width=12),
    _c("name", "商品名称", width=20),
    _c("demand", "缺货需求", "integer", 9),
    _c("available", "可用", "integer", 8),
    _c("shortfall", "缺口", "integer", 8),
    _c("safety_stock", "安全库存", "integer", 9),
    _c("suggested", "建议生产/采购", "integer", 12),
    _c("orders", "等待订单", width=30),
    _c("kind", "类型", width=10),   # SHORT_KIND (orders wait on it) or REPLENISH_KIND (below 安全库存)
), owned_by_macros=True)

DAILY = Sheet("daily", "订货明细单", (
    _c("date", "日期", "datetime", 12),
    _c("order_id", "订单号", width=20),
    _c("product_name", "商品名称", width=20),
    _c("qty", "数量", "integer", 6),
    _c("unit_price", "单价", "money", 9),
    _c("amount", "金额", "money", 10),
    _c("address", "地址", width=36),
    _c("recipient", "收件人", width=10),
), owned_by_macros=True)

LOG = Sheet("log", "日志", (
    _c("time", "时间", "datetime", 19),
    _c("user", "用户", width=10),
    _c("operation", "操作", width=12),
    _c("arguments", "参数", width=24),
    _c("rows", "行数", "integer", 8),
    _c("result", "结果", width=8),
    _c("message", "说明", width=50),
), owned_by_macros=True)

SETTINGS = Sheet("settings", "设置", (
    _c("item", "项目", width=16),
    _c("value", "值", width=36),
    _c("note", "说明", width=50),
))

DASHBOARD = Sheet("dashboard", "看板", (
    _c("item", "项目", width=24),
    _c("value", "数值", "number", 12),
    _c("note", "说明", width=40),
), owned_by_macros=True)

# --- copies and lineage: one 版本 row per save (book/revisions.py, domain/lineage.py) ---
REVISIONS = Sheet("revisions", "版本", (
    _c("rev_id", "版本号", width=36),
    _c("parent_id", "上一版本", width=36),
    _c("saved_at", "时间", "datetime", 19),
    _c("user", "用户", width=10),
    _c("operation", "操作", width=20),
    _c("parent_sha256", "上一版文件指纹", width=20),  # SHA-256 of the file this save replaced
), owned_by_macros=True)

# Contract order: the order `shipbook new` creates them in.
SHEETS: tuple[Sheet, ...] = (ORDERS, STOCK, SLIPS, SLIP_LINES, SIGNATURES, WAYBILLS, TRACKING,
                             SHORTAGES, DAILY, DASHBOARD, LOG, SETTINGS, REVISIONS)
BY_KEY = {s.key: s for s in SHEETS}


@dataclass(frozen=True)
class Setting:
    key: str
    item: str          # the 项目 users see
    default: str
    note: str


SETTINGS_ROWS: tuple[Setting, ...] = (
    Setting("sender_name", "发件人", "", "运单上的寄件人 / sender on waybills"),
    Setting("sender_phone", "发件电话", "", "寄件人电话 / sender phone"),
    Setting("sender_address", "发件地址", "", "寄件详细地址 / sender address"),
    Setting("default_carrier", "默认快递", "SF", "SF ZTO YTO YUNDA STO JD EMS JT DBL"),
    Setting("cutoff", "截单时间", "14:00", "每日订货明细单的截止时间 / daily cut-off"),
    Setting("mail_to", "物流组邮箱", "", "逗号分隔 / comma-separated addresses"),
    Setting("mail_cc", "监管组邮箱", "", "逗号分隔 / comma-separated addresses"),
    Setting("signer_finance", "财务总监", "", "留空: 任何人可签 / blank: anyone may sign as finance"),
    Setting("signer_logistics", "物流总监", "", "留空: 任何人可签 / blank: anyone may sign as logistics"),
    Setting("complete_after_days", "签收后完成天数", "7", "签收后多少天自动完成 / days after delivery"),
    Setting("import_mapping", "导入列映射", "",
            "额外的导入表头映射, 如 收货手机=phone; 宝贝编码=sku / extra import header aliases"),
    Setting("last_slip_no", "末张出库单号", "",
            "生成出库单时自动填写, 编号永不重复使用; 请勿修改 / kept by 生成出库单 so slip numbers are never reused"),
    # copies and lineage
    Setting("book_id", "工作簿编号", "",
            "首次保存时自动生成, 副本共用; 请勿修改 / made on the first save, shared by copies; do not edit"),
    Setting("lock_wait_s", "等待时间", "30",
            "另一个命令正在使用工作簿时最多等待的秒数 / seconds to wait while another command holds the book"),
)
SETTING_BY_ITEM = {s.item: s for s in SETTINGS_ROWS}
SETTING_BY_KEY = {s.key: s for s in SETTINGS_ROWS}

# Dropdown choices (data validations on 订单): the business's words, from the domain.
CARRIERS = CARRIER_CODES


def header_lookup(sheet: Sheet, extra: dict[str, str] | None = None) -> dict[str, str]:
    """normalised header or alias -> key. Chinese header, English key and aliases all map."""
    out: dict[str, str] = {}
    for c in sheet.columns:
        for name in (c.key, *c.aliases):
            out.setdefault(normalise_header(name), c.key)
    for c in sheet.columns:  # the contract header always wins over another column's alias
        out[normalise_header(c.header)] = c.key
    for name, key in (extra or {}).items():
        out[normalise_header(name)] = key
    return out


# 出库单打印: one slip at a time, rebuilt by 打印 (not a contract table: free layout)
SLIP_PRINT_SHEET = "出库单打印"
