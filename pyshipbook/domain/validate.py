"""Validation of order lines: normalise what is unambiguous, report the rest.

Pure: frames in, frames and problems out. Each check is a small function
returning Problems as data (beancount style); `validate_lines` runs them all.
Columns are whole pandas Series; each distinct value is parsed once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ..book.schema import (ORDERS, S_AWAIT_ALLOC, S_AWAIT_PAYMENT, S_CHECK_FAILED, STATUSES,
                           VALIDATION_STATUSES)
from . import address as addr
from . import normalize as nz
from .problems import CODES, Problem, check_text

INVALID = nz.INVALID
HEADER = {c.key: c.header for c in ORDERS.columns}
# free-text columns: only surrounding spaces are trimmed (full-width punctuation is the user's)
FREE_TEXT = ("customer", "recipient", "address", "province", "city", "district", "product_name", "spec",
             "remark", "carrier")
# id-like columns: full-width digits/letters folded, Excel floats made whole
ID_TEXT = ("order_id", "sku", "tracking_no", "channel", "payment_status", "status")
FORMULA_CHECKED = ("order_id", "channel", "customer", "recipient", "province", "city", "district", "address",
                   "sku", "product_name", "spec", "payment_status", "remark", "carrier", "tracking_no")
PAYMENT_SYNONYMS = {
    "已付款": "已付款", "已支付": "已付款", "已付": "已付款", "付款成功": "已付款", "paid": "已付款",
    "未付款": "未付款", "未支付": "未付款", "待付款": "未付款", "待支付": "未付款", "unpaid": "未付款",
    "货到付款": "货到付款", "到付": "货到付款", "cod": "货到付款",
}
DEFAULT_CHANNEL = "微信"


@dataclass
class Lines:
    """Order lines being validated: raw cells, normalised values, parse results."""

    raw: pd.DataFrame
    norm: pd.DataFrame
    stock: pd.DataFrame            # index sku -> name, list_price
    regions: dict[str, addr.Region] = field(default_factory=dict)
    parsed: dict[str, pd.Series] = field(default_factory=dict)  # key -> values incl. INVALID
    formula_cells: dict[str, set[int]] = field(default_factory=dict)


Check = Callable[[Lines], list[Problem]]


def _strip(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        s = v.strip()
        return s or None
    return nz.clean_text(v)


def _rows(mask: pd.Series) -> list[int]:
    return [int(r) for r in mask.index[mask.fillna(False).astype(bool)]]


def _is(series: pd.Series, sentinel) -> pd.Series:
    return series.map(lambda v: v is sentinel)


def _blank(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is None or (isinstance(v, float) and pd.isna(v)))


# -- normalising -------------------------------------------------------------
def normalise(raw: pd.DataFrame, stock: pd.DataFrame, *, ref_year: int | None,
              formula_cells: dict[str, set[int]] | None = None) -> Lines:
    norm = pd.DataFrame(index=raw.index)
    for key in FREE_TEXT:
        norm[key] = raw[key].map(_strip).astype(object)
    for key in ID_TEXT:
        norm[key] = nz.clean_texts(raw[key]).astype(object)
    lines = Lines(raw, norm, stock, formula_cells=formula_cells or {})

    channel = norm["channel"]
    norm["channel"] = channel.where(~_blank(channel), DEFAULT_CHANNEL)
    cross_border = norm["channel"].map(lambda c: c == "跨境")
    phones = nz.normalize_phones(raw["phone"], cross_border)
    lines.parsed["phone_ok"] = phones["ok"]
    norm["phone"] = phones["value"].where(phones["ok"], raw["phone"].map(_strip)).astype(object)

    for key in ("ordered_at", "paid_at"):
        parsed = nz.parse_datetimes(raw[key], ref_year)
        lines.parsed[key] = parsed
        norm[key] = parsed.where(~_is(parsed, INVALID), raw[key]).astype(object)
    qty = nz.parse_ints(raw["qty"])
    price = nz.parse_numbers(raw["unit_price"])
    amount = nz.parse_numbers(raw["amount"])
    lines.parsed.update(qty=qty, unit_price=price, amount=amount)
    norm["qty"] = qty.where(~_is(qty, INVALID), raw["qty"]).astype(object)
    norm["unit_price"] = price.map(lambda v: round(v, 2) if isinstance(v, float) else v)
    norm["unit_price"] = norm["unit_price"].where(~_is(price, INVALID), raw["unit_price"]).astype(object)
    norm["amount"] = amount.where(~_is(amount, INVALID), raw["amount"]).astype(object)

    pay = norm["payment_status"].map(lambda v: PAYMENT_SYNONYMS.get(v.casefold(), INVALID) if v else None)
    paid_at_present = ~_blank(norm["paid_at"])
    pay = pay.where(~(_blank(pay) & paid_at_present), "已付款")
    pay = pay.where(~_blank(pay), "未付款")
    lines.parsed["payment_status"] = pay
    norm["payment_status"] = pay.where(~_is(pay, INVALID), norm["payment_status"]).astype(object)

    _fill_regions(lines)
    _fill_from_stock(lines)
    _fill_amount(lines)
    return lines


def _fill_regions(lines: Lines) -> None:
    norm = lines.norm
    lines.regions = addr.resolve_addresses(norm["address"].dropna().unique())
    for key, attr in (("province", "province"), ("city", "city"), ("district", "district")):
        found = norm["address"].map(lambda a, at=attr: getattr(lines.regions.get(a), at, None) if a else None)
        resolved = norm["address"].map(lambda a: bool(a) and lines.regions.get(a) is not None
                                       and lines.regions[a].resolved)
        fill = _blank(norm[key]) & resolved & ~_blank(found)
        norm[key] = norm[key].where(~fill, found).astype(object)


def _fill_from_stock(lines: Lines) -> None:
    norm = lines.norm
    names = norm["sku"].map(lambda s: lines.stock["name"].get(s) if s else None)
    fill = _blank(norm["product_name"]) & ~_blank(names)
    norm["product_name"] = norm["product_name"].where(~fill, names).astype(object)


def _fill_amount(lines: Lines) -> None:
    q, p = lines.parsed["qty"], lines.parsed["unit_price"]
    computed = pd.Series([round(a * b, 2) if _num(a) and _num(b) else None for a, b in zip(q, p)],
                         index=q.index, dtype=object)
    lines.parsed["amount_computed"] = computed
    fill = _blank(lines.norm["amount"]) & ~_blank(computed)
    formula_rows = lines.formula_cells.get("amount", set())
    if formula_rows:  # a formula with no cached value: use qty × price (the cell keeps its formula)
        fill |= pd.Series(lines.norm.index.isin(list(formula_rows)), index=lines.norm.index) & \
            _blank(lines.norm["amount"])
    lines.norm["amount"] = lines.norm["amount"].where(~fill, computed).astype(object)


def _num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v is not INVALID


# -- checks --------------------------------------------------------------------
def _missing(key: str, code: str) -> Check:
    def check(lines: Lines) -> list[Problem]:
        return [Problem(r, code) for r in _rows(_blank(lines.norm[key]))]
    check.__name__ = f"check_{key}_missing"
    return check


def check_phone(lines: Lines) -> list[Problem]:
    bad = ~_blank(lines.norm["phone"]) & ~lines.parsed["phone_ok"].astype(bool)
    return [Problem(r, "phone.invalid", str(lines.norm.at[r, "phone"])) for r in _rows(bad)]


def check_address_resolved(lines: Lines) -> list[Problem]:
    norm = lines.norm
    known = ~_blank(norm["province"]) & ~_blank(norm["city"])
    bad = ~_blank(norm["address"]) & ~known
    out = []
    for r in _rows(bad):
        region = lines.regions.get(norm.at[r, "address"])
        out.append(Problem(r, "address.unresolved", region.note if region and region.note else ""))
    return out


def check_region(lines: Lines) -> list[Problem]:
    out = []
    norm = lines.norm
    for r, a in norm["address"].items():
        region = lines.regions.get(a) if a else None
        if not region or not region.resolved:
            continue
        wrong = [HEADER[k] for k in ("province", "city", "district")
                 if not addr.region_matches(norm.at[r, k], getattr(region, k))]
        if wrong:
            out.append(Problem(r, "region.mismatch", "、".join(wrong)))
    return out


def check_sku_known(lines: Lines) -> list[Problem]:
    sku = lines.norm["sku"]
    bad = ~_blank(sku) & ~sku.isin(lines.stock.index)
    return [Problem(r, "sku.unknown", str(sku[r])) for r in _rows(bad)]


def check_qty(lines: Lines) -> list[Problem]:
    bad = lines.parsed["qty"].map(lambda v: not (isinstance(v, int) and not isinstance(v, bool) and v > 0))
    return [Problem(r, "qty.invalid") for r in _rows(bad)]


def check_price(lines: Lines) -> list[Problem]:
    bad = lines.parsed["unit_price"].map(lambda v: not (_num(v) and v >= 0))
    return [Problem(r, "price.invalid") for r in _rows(bad)]


def check_price_differs(lines: Lines) -> list[Problem]:
    list_price = lines.norm["sku"].map(lambda s: lines.stock["list_price"].get(s) if s else None)
    out = []
    for r, p in lines.parsed["unit_price"].items():
        lp = list_price[r]
        if _num(p) and _num(lp) and abs(p - lp) > 0.005:
            out.append(Problem(r, "price.differs", f"标价 {lp:.2f}"))
    return out


def check_amount(lines: Lines) -> list[Problem]:
    out = []
    amount, computed = lines.norm["amount"], lines.parsed["amount_computed"]
    for r, a in amount.items():
        c = computed[r]
        if c is None or a is None:
            continue
        if not _num(a):
            out.append(Problem(r, "amount.mismatch", f"{a!s:.20}"))
        elif abs(a - c) > 0.01 + 1e-9:
            out.append(Problem(r, "amount.mismatch", f"应为 {c:.2f}"))
    return out


def check_payment(lines: Lines) -> list[Problem]:
    pay = lines.parsed["payment_status"]
    out = [Problem(r, "payment.invalid", str(lines.norm.at[r, "payment_status"])) for r in _rows(_is(pay, INVALID))]
    no_time = pay.map(lambda v: v == "已付款") & _blank(lines.norm["paid_at"])
    return out + [Problem(r, "paid_at.missing") for r in _rows(no_time)]


def check_dates(lines: Lines) -> list[Problem]:
    out = []
    for key in ("ordered_at", "paid_at"):
        out += [Problem(r, "date.invalid", HEADER[key], key) for r in _rows(_is(lines.parsed[key], INVALID))]
    return out


def check_orders_consistent(lines: Lines) -> list[Problem]:
    norm = lines.norm[~_blank(lines.norm["order_id"])]
    out = []
    if norm.empty:
        return out
    for key in ("recipient", "phone", "address"):
        n = norm.groupby("order_id")[key].transform(lambda s: s.fillna("").nunique())
        out += [Problem(r, "order.inconsistent", HEADER[key]) for r in _rows(n > 1)]
    return out


def check_duplicate_lines(lines: Lines) -> list[Problem]:
    norm = lines.norm[~_blank(lines.norm["order_id"]) & ~_blank(lines.norm["sku"])]
    dup = norm.duplicated(["order_id", "sku", "spec"], keep=False)
    return [Problem(r, "order.duplicate_line", str(norm.at[r, "sku"])) for r in _rows(dup)]


def check_formula_text(lines: Lines) -> list[Problem]:
    out = []
    for key in FORMULA_CHECKED:
        looks = lines.norm[key].map(lambda v: isinstance(v, str) and nz.is_formula_like(v))
        formulas = lines.formula_cells.get(key, set())
        rows = set(_rows(looks)) | formulas
        out += [Problem(r, "cell.formula", HEADER[key], key) for r in sorted(rows)]
    return out


def check_status_known(lines: Lines) -> list[Problem]:
    st = lines.norm["status"]
    bad = ~_blank(st) & ~st.isin(STATUSES)
    return [Problem(r, "status.unknown", str(st[r])) for r in _rows(bad)]


CHECKS: tuple[Check, ...] = (
    _missing("order_id", "order_id.missing"),
    _missing("ordered_at", "ordered_at.missing"),
    _missing("recipient", "recipient.missing"),
    _missing("phone", "phone.missing"),
    check_phone,
    _missing("address", "address.missing"),
    check_address_resolved,
    check_region,
    _missing("sku", "sku.missing"),
    check_sku_known,
    check_qty,
    check_price,
    check_price_differs,
    check_amount,
    check_payment,
    check_dates,
    check_orders_consistent,
    check_duplicate_lines,
    check_formula_text,
    check_status_known,
)


@dataclass
class Validation:
    lines: Lines
    problems: list[Problem]
    check: pd.Series   # 校验结果 per row
    status: pd.Series  # 状态 per row

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)


def validate_lines(raw: pd.DataFrame, stock: pd.DataFrame, *, today: dt.date,
                   formula_cells: dict[str, set[int]] | None = None,
                   checks: tuple[Check, ...] = CHECKS) -> Validation:
    """Run every check over the order lines; never raises for bad cell values."""
    lines = normalise(raw, stock, ref_year=today.year, formula_cells=formula_cells)
    problems: list[Problem] = []
    for check in checks:
        problems += check(lines)
    problems.sort(key=lambda p: (p.row, CODES[p.code].severity != "error"))
    by_row: dict[int, list[Problem]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    check_col = pd.Series([check_text(by_row.get(r, [])) for r in raw.index], index=raw.index, dtype=object)
    has_error = pd.Series([any(p.severity == "error" for p in by_row.get(r, [])) for r in raw.index],
                          index=raw.index)
    status = lines.norm["status"].copy()
    recompute = status.map(lambda s: (s or "") in VALIDATION_STATUSES)
    pay = lines.parsed["payment_status"]
    new = pd.Series(S_AWAIT_ALLOC, index=raw.index, dtype=object)
    new = new.where(~pay.map(lambda v: v == "未付款"), S_AWAIT_PAYMENT)
    new = new.where(~has_error, S_CHECK_FAILED)
    status = status.where(~recompute, new).astype(object)
    return Validation(lines, problems, check_col, status)


def stock_index(stock: pd.DataFrame) -> pd.DataFrame:
    """库存 rows keyed by cleaned SKU, with name and numeric list price (first row wins)."""
    sku = nz.clean_texts(stock["sku"]).tolist()
    names = stock["name"].map(_strip).tolist()
    prices = [v if _num(v) else None for v in nz.parse_numbers(stock["list_price"]).tolist()]
    out = pd.DataFrame({"name": names, "list_price": prices}, index=pd.Index(sku, dtype=object), dtype=object)
    out = out[[s is not None for s in sku]]
    return out[~out.index.duplicated()]
