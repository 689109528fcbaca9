"""Waybills (运单): one record per order, laid out in a courier's batch-order format. Pure.

`waybill_records(lines, stock, settings)` makes one record per ORDER (not per
line) from the order lines to ship; `render(layout, records)` lays the records
out following a layout (templates/waybills/CODE.toml, loaded by
book/templates.py). A new courier is a new layout file, never code.

Record fields (RECORD_FIELDS), what a layout column may name:

* order_id, slip_no, carrier
* sender_name, sender_phone, sender_address -- 设置 发件人 / 发件电话 / 发件地址
* recipient, phone; mobile (phone when it is a mobile or +country number), landline (otherwise)
* province, city, district, address (详细地址 as written), street (详细地址 without the
  region names at its start), full_address (省+市+区县+详细地址, a region already written at
  the start of 详细地址 not repeated; for a municipality the city is not repeated after the province)
* goods -- "玫瑰精华面膜×2, 蚕丝眼罩×1" (same product name on several lines: quantities added),
  cut to the column's max_length by the layout
* pieces -- Σ 数量; parcels -- 1 (one parcel per order)
* weight_kg -- Σ 数量 × 单件重量kg from 库存. A SKU without a weight (blank, unreadable, ≤ 0,
  or not in 库存) leaves the weight blank and is reported (waybill.weight_missing): never guessed.
* cod_amount -- Σ 金额 of the order when it is 货到付款, else blank
* insured_value -- blank (nothing in the workbook says what to insure; a layout may use a constant)
* remark -- the order's 备注 (distinct, joined by "; ")

Formula-like text (= + - @ …) in rendered values: for target "csv" it is prefixed with "'" so a
spreadsheet opening the file shows it as text; for target "sheet" the value is left as it is,
because the adapter writes text cells as text (never as formulas) and the layout marks every
column text (Excel's "@" format), so long numbers such as phone numbers and order ids survive.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import normalize as nz
from . import problems as _validation  # noqa: F401 (validation's order.inconsistent is reported here too)
from .carriers import TemplateColumn, neutralise
from .cells import text as _text
from .codes import Code, Problem, register
from .lifecycle import COD, PAYMENT_SYNONYMS, S_CANCELLED

RECORD_FIELDS = (
    "order_id", "slip_no", "carrier",
    "sender_name", "sender_phone", "sender_address",
    "recipient", "phone", "mobile", "landline",
    "province", "city", "district", "address", "street", "full_address",
    "goods", "pieces", "parcels", "weight_kg", "cod_amount", "insured_value", "remark",
)
GOODS_SEP = ", "

# -- codes (beside their rules; catalogue.all_codes() and docs/WORKBOOK.md list them) ------------------
CODES: dict[str, Code] = register(
    Code("waybill.weight_missing", "warning", "商品缺少单件重量, 运单重量留空",
         "a SKU has no 单件重量kg in 库存; the waybill weight is left blank", "sku"),
    Code("waybill.sender_missing", "error", "设置中缺少发件人、发件电话或发件地址",
         "设置 lacks the sender name, phone or address", "order_id"),
    Code("waybill.qty_invalid", "error", "数量无法识别, 未计入运单", "a quantity cannot be read; not on the waybill",
         "qty"),
    Code("waybill.cod_unknown", "error", "货到付款订单的金额无法确定", "cash-on-delivery order whose amount cannot be read",
         "amount"),
)


# -- layouts (templates/waybills/*.toml) -----------------------------------------------------------------
class LayoutColumn(TemplateColumn):
    """One column of a courier's batch-order file: a record field or a constant."""

    FIELDS: ClassVar[tuple[str, ...]] = RECORD_FIELDS

    text: bool | None = None            # None: the layout's default
    max_length: int | None = Field(default=None, gt=1)


class WaybillLayout(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    carrier: str
    name: str
    note: str = ""
    text: bool = True                   # every cell text-formatted unless a column says otherwise
    columns: tuple[LayoutColumn, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_headers(self) -> WaybillLayout:
        seen: set[str] = set()
        for c in self.columns:
            if c.header in seen:
                raise ValueError(f"header {c.header!r} appears twice")
            seen.add(c.header)
        return self

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def is_text(self, column: LayoutColumn) -> bool:
        return self.text if column.text is None else column.text


# -- records ----------------------------------------------------------------------------------------
def _col(frame: pd.DataFrame, key: str) -> list:
    if key in frame.columns:
        return frame[key].astype(object).tolist()
    return [None] * len(frame)


def _positive(v) -> float | None:
    f = nz.parse_number(v)
    return f if isinstance(f, float) and f > 0 else None


_MOBILE = re.compile(r"1\d{10}")


def _is_mobile(phone: str) -> bool:
    digits = re.sub(r"[\s\-]", "", phone)
    return phone.startswith("+") or bool(_MOBILE.fullmatch(digits))


_REGION_SUFFIX = re.compile(r"(?:特别行政区|(?:壮族|回族|维吾尔)?自治区|自治州|地区|省|市|盟)$")
_STREET_AFTER = frozenset("路街道巷弄胡号大")
_PLACEHOLDER = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


def _region_at(text: str, name: str, allow_short: bool) -> int:
    """Length of `name` written at the start of `text` (in full, or short: 广东 for 广东省), else 0."""
    if text.startswith(name):
        return len(name)
    if allow_short:
        core = _REGION_SUFFIX.sub("", name)
        if 2 <= len(core) < len(name) and text.startswith(core):
            after = text[len(core):len(core) + 1]
            if after not in _STREET_AFTER:
                return len(core)
    return 0


def _core(name: str) -> str:
    core = _REGION_SUFFIX.sub("", name)
    return core if len(core) >= 2 else name


def compose_address(province: str | None, city: str | None, district: str | None,
                    address: str | None) -> tuple[str, str]:
    """(full_address, street): 省+市+区县+详细地址 without repeating what 详细地址 already starts with.

    The address keeps its own wording of a region it names (广东深圳南山区… stays so); a region
    it lacks is put in its place. Districts are only recognised in full (南山区, not 南山, which
    could begin a street name). street is 详细地址 after the region names it starts with.
    """
    address = address or ""
    regions: list[tuple[str, bool]] = []
    for name, short in ((province, True), (city, True), (district, False)):
        if not name or name in _PLACEHOLDER:
            continue
        if regions and _core(name) == _core(regions[-1][0]):
            continue      # 北京市 北京市: a municipality's city repeats its province
        regions.append((name, short))
    pos, parts = 0, []
    for name, short in regions:
        n = _region_at(address[pos:], name, short)
        if n:
            parts.append(address[pos:pos + n])
            pos += n
        else:
            parts.append(name)
    street = address[pos:]
    return "".join(parts) + street, street


def _number_text(v) -> str:
    if v is None or nz._is_missing(v):
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (float, Decimal)):
        f = float(v)
        if not math.isfinite(f):
            return ""
        return f"{f:.3f}".rstrip("0").rstrip(".")
    return str(v)


def waybill_records(lines: pd.DataFrame, stock: pd.DataFrame, settings: Mapping[str, object], *,
                    carrier: str | None = None) -> tuple[list[dict], list[Problem]]:
    """One waybill record per order of `lines` (first-appearance order), and the problems found.

    lines: the order lines to ship (订单 columns: order_id, recipient, phone, province, city,
    district, address, sku, product_name, qty, amount, unit_price, payment_status, remark, slip_no;
    missing columns count as blank; 已取消 lines are left out). stock: 库存 rows (sku, name,
    weight_kg). settings: 设置 by key (sender_name, sender_phone, sender_address, default_carrier).
    carrier: the courier code for the records (default: 设置 默认快递).
    """
    problems: list[Problem] = []
    sender = {k: _text(settings.get(k)) or "" for k in ("sender_name", "sender_phone", "sender_address")}
    missing = [k for k, v in sender.items() if not v]
    if missing:
        problems.append(Problem("waybill.sender_missing", order=None, detail=", ".join(missing)))
    code = _text(carrier) or _text(settings.get("default_carrier")) or ""

    weights: dict[str, float | None] = {}
    names: dict[str, str] = {}
    for s, name, w in zip(_col(stock, "sku"), _col(stock, "name"), _col(stock, "weight_kg")):
        s = _text(s)
        if s and s not in weights:
            weights[s] = _positive(w)
            names[s] = _text(name) or ""

    cols = {k: _col(lines, k) for k in ("order_id", "recipient", "phone", "province", "city", "district",
                                       "address", "sku", "product_name", "qty", "amount", "unit_price",
                                       "payment_status", "remark", "slip_no", "status")}
    orders: dict[str, list[int]] = {}
    for i, (oid, st) in enumerate(zip(cols["order_id"], cols["status"])):
        oid = _text(oid)
        if oid and _text(st) != S_CANCELLED:
            orders.setdefault(oid, []).append(i)

    records = []
    for oid, idx in orders.items():
        def first(key: str) -> str:
            return next((t for t in (_text(cols[key][i]) for i in idx) if t), "")

        for key in ("recipient", "phone", "address"):
            if len({_text(cols[key][i]) for i in idx if _text(cols[key][i])}) > 1:
                problems.append(Problem("order.inconsistent", order=oid, detail=key))
        goods: dict[str, int] = {}
        pieces = 0
        weight, no_weight = 0.0, []
        for i in idx:
            q = nz.parse_int(cols["qty"][i])
            sku = _text(cols["sku"][i]) or ""
            if not (isinstance(q, int) and not isinstance(q, bool) and q > 0):
                problems.append(Problem("waybill.qty_invalid", order=oid, detail=sku))
                continue
            name = _text(cols["product_name"][i]) or names.get(sku) or sku
            goods[name] = goods.get(name, 0) + q
            pieces += q
            w = weights.get(sku)
            if w is None:
                if sku not in no_weight:
                    no_weight.append(sku)
            else:
                weight += q * w
        if no_weight:
            problems.append(Problem("waybill.weight_missing", order=oid, detail="、".join(no_weight)))
        cod = None
        pays = {PAYMENT_SYNONYMS.get((_text(cols["payment_status"][i]) or "").casefold()) for i in idx}
        if COD in pays:
            total = 0.0
            for i in idx:
                a = nz.parse_number(cols["amount"][i])
                if not isinstance(a, float):
                    q, p = nz.parse_int(cols["qty"][i]), nz.parse_number(cols["unit_price"][i])
                    a = q * p if isinstance(q, int) and isinstance(p, float) else None
                if a is None:
                    total = None
                    break
                total += a
            if total is None:
                problems.append(Problem("waybill.cod_unknown", order=oid))
            else:
                cod = round(total, 2)
        phone = first("phone")
        full, street = compose_address(first("province") or None, first("city") or None,
                                       first("district") or None, first("address"))
        remarks = list(dict.fromkeys(t for t in (_text(cols["remark"][i]) for i in idx) if t))
        slips = list(dict.fromkeys(t for t in (_text(cols["slip_no"][i]) for i in idx) if t))
        records.append({
            "order_id": oid, "slip_no": ",".join(slips), "carrier": code,
            **sender,
            "recipient": first("recipient"), "phone": phone,
            "mobile": phone if phone and _is_mobile(phone) else "",
            "landline": phone if phone and not _is_mobile(phone) else "",
            "province": first("province"), "city": first("city"), "district": first("district"),
            "address": first("address"), "street": street, "full_address": full,
            "goods": GOODS_SEP.join(f"{n}×{q}" for n, q in goods.items()),
            "pieces": pieces, "parcels": 1,
            "weight_kg": None if no_weight else round(weight, 3),
            "cod_amount": cod, "insured_value": None,
            "remark": "; ".join(remarks),
        })
    return records, problems


# -- an order that already has a waybill row --------------------------------------------------------
Verdict = Literal["keep", "record", "reconfirm", "replace", "changed_not_signed", "shipped_before_change",
                  "order_cancelled", "cancelled_after_shipping"]


def _fp(v) -> str:
    t = _text(v)
    return t.casefold() if t else ""


def existing_verdict(recorded_slip: object, recorded_order: object, slip_now: str, order_now: str, *,
                     ready: bool, shipped: bool, signatures_voided: bool, cancelled: bool = False) -> Verdict:
    """What to do with the 运单 row an order already has.

    recorded_slip / recorded_order: the row's 出库单指纹 / 订单指纹 (the fingerprints of the order's slip
    and of its own lines when the row was made; blank on rows made before shipbook recorded them).
    slip_now / order_now: the same fingerprints over the current lines. ready: every line of the order
    is 待发货 on a slip both directors signed on its current content. shipped: a tracking number is
    logged for the order (or a line is 已发货 or later). signatures_voided: a signature of the order's
    slip was ever voided (its content changed at some point). cancelled: every line of the order is
    已取消 now (it has lines, none of them live).

    * "keep"      nothing to do: the row matches (or, shipped, the order's own content is unchanged)
    * "record"    a row without fingerprints whose slip never changed since it was signed: the row
                  was made from the current content; write the fingerprints
    * "reconfirm" the slip changed and is signed again, but this order's own content did not:
                  the row is still right; write the new slip fingerprint
    * "replace"   the order changed since the row was made and its slip is signed again: a fresh row
    * "changed_not_signed"     the slip changed since the row was made and is not signed again yet
    * "shipped_before_change"  shipped, and the order's own content changed since its row was made
    * "order_cancelled"        every line of the order was cancelled and it has not shipped: the row
                               must not reach the courier (a courier order made from it must be
                               cancelled by a person); never replaced, never deleted here
    * "cancelled_after_shipping"  every line was cancelled but a tracking number is logged: the parcel
                               is out, an after-sales / return matter; the row stays as it is
    A cancelled order is judged before anything else: its fingerprints do not matter (it has no live
    lines to compare with). An order cancelled only in part is not "cancelled": its live lines are
    its content, so the cancelled lines show as a change of content (fewer goods) like any other.
    A row without fingerprints whose slip did change at some time is taken as changed (what it was
    made from cannot be known); a shipped one is kept (nothing to compare it with).
    """
    if cancelled:
        return "cancelled_after_shipping" if shipped else "order_cancelled"
    slip_fp, order_fp = _fp(recorded_slip), _fp(recorded_order)
    if not slip_fp and not order_fp:
        if shipped:
            return "keep"
        if ready and not signatures_voided:
            return "record"
        slip_changed = order_changed = True
    else:
        slip_changed = not slip_fp or slip_fp != _fp(slip_now)
        order_changed = slip_changed if not order_fp else order_fp != _fp(order_now)
    if shipped:
        return "shipped_before_change" if order_changed else "keep"
    if not (slip_changed or order_changed):
        return "keep"
    if not ready:
        return "changed_not_signed"
    return "replace" if order_changed else "reconfirm"


# -- rendering --------------------------------------------------------------------------------------
def cut_text(text: str, limit: int | None) -> str:
    """`text` in at most `limit` characters: cut after the last whole item (", ") that fits, marked
    with "等" (and so on); with no item boundary in the second half, cut with "…"."""
    if not limit or len(text) <= limit:
        return text
    window = text[:limit - 1]
    i = window.rfind(GOODS_SEP)
    if i >= limit // 2:
        return text[:i] + "等"
    return window + "…"


def render(layout: WaybillLayout, records: list[Mapping], *,
           target: str = "sheet") -> tuple[list[str], list[list]]:
    """(headers, rows) of the courier's batch-order file, one row per record, columns as the layout.

    Text columns (all, in the shipped layouts) give str cells: numbers written out without
    a trailing ".0" (weights to 3 decimals at most), blanks as "". A column's max_length cuts
    its text (cut_text). target: "sheet" or "csv" (see the module docstring on formulas).
    """
    if target not in ("sheet", "csv"):
        raise ValueError(f"target must be 'sheet' or 'csv', not {target!r}")
    rows = []
    for rec in records:
        row = []
        for col in layout.columns:
            v = col.value if col.field is None else rec.get(col.field)
            if layout.is_text(col):
                text = cut_text(_number_text(v), col.max_length)
                row.append(neutralise(text, target))
            else:
                if isinstance(v, str):
                    v = neutralise(cut_text(v, col.max_length), target)
                row.append(None if v is None or nz._is_missing(v) else v)
        rows.append(row)
    return layout.headers, rows
