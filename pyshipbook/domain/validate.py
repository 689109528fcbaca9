"""Validation of order lines: normalise what is unambiguous, report the rest.

Pure: frames in, frames and problems out. Each check is a small function
returning Problems as data (beancount style); `validate_lines` runs them all.
Columns are whole pandas Series; each distinct value is parsed once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
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
    region_cache: dict | None = None  # region text -> Region from earlier runs (filled as we go)


Check = Callable[[Lines], list[Problem]]


def _strip(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        s = v.strip()
        return s or None
    return nz.clean_text(v)


def _objects(series: pd.Series) -> pd.Series:
    """Object dtype with None for missing (pandas 3 infers str dtype and NaN otherwise)."""
    out = series.astype(object)
    return out.where(out.notna(), None)


def _rows(mask: pd.Series) -> list[int]:
    return [int(r) for r in mask.index[mask.fillna(False).astype(bool)]]


def _is(series: pd.Series, sentinel) -> pd.Series:
    return pd.Series([v is sentinel for v in series.values], index=series.index, dtype=bool)


def _floats(series: pd.Series) -> np.ndarray:
    """Numbers as floats, anything else (None, INVALID, text) as NaN."""
    return np.array([float(v) if _num(v) else np.nan for v in series.values], dtype=float)


def _blank(series: pd.Series) -> pd.Series:
    return series.isna()


# -- normalising -------------------------------------------------------------
def normalise(raw: pd.DataFrame, stock: pd.DataFrame, *, ref_year: int | None,
              formula_cells: dict[str, set[int]] | None = None, region_cache: dict | None = None) -> Lines:
    norm = pd.DataFrame(index=raw.index)
    for key in FREE_TEXT:
        norm[key] = _objects(nz.map_distinct(raw[key], _strip))
    for key in ID_TEXT:
        norm[key] = _objects(nz.clean_texts(raw[key]))
    lines = Lines(raw, norm, stock, formula_cells=formula_cells or {}, region_cache=region_cache)

    channel = norm["channel"]
    norm["channel"] = channel.where(~_blank(channel), DEFAULT_CHANNEL)
    cross_border = norm["channel"].map(lambda c: c == "跨境")
    phones = nz.normalize_phones(raw["phone"], cross_border)
    lines.parsed["phone_ok"] = phones["ok"]
    norm["phone"] = phones["value"].where(phones["ok"], nz.map_distinct(raw["phone"], _strip)).pipe(_objects)

    for key in ("ordered_at", "paid_at"):
        parsed = nz.parse_datetimes(raw[key], ref_year)
        lines.parsed[key] = parsed
        norm[key] = parsed.where(~_is(parsed, INVALID), raw[key]).pipe(_objects)
    qty = nz.parse_ints(raw["qty"])
    price = nz.parse_numbers(raw["unit_price"])
    amount = nz.parse_numbers(raw["amount"])
    lines.parsed.update(qty=qty, unit_price=price, amount=amount)
    norm["qty"] = qty.where(~_is(qty, INVALID), raw["qty"]).pipe(_objects)
    norm["unit_price"] = price.map(lambda v: round(v, 2) if isinstance(v, float) else v)
    norm["unit_price"] = norm["unit_price"].where(~_is(price, INVALID), raw["unit_price"]).pipe(_objects)
    norm["amount"] = amount.where(~_is(amount, INVALID), raw["amount"]).pipe(_objects)

    pay = norm["payment_status"].map({v: PAYMENT_SYNONYMS.get(v.casefold(), INVALID)
                                      for v in norm["payment_status"].dropna().unique()})
    pay = _objects(pay)
    paid_at_present = ~_blank(norm["paid_at"])
    pay = pay.where(~(_blank(pay) & paid_at_present), "已付款")
    pay = pay.where(~_blank(pay), "未付款")
    lines.parsed["payment_status"] = pay
    norm["payment_status"] = pay.where(~_is(pay, INVALID), norm["payment_status"]).pipe(_objects)

    _fill_regions(lines)
    _fill_from_stock(lines)
    _fill_amount(lines)
    return lines


_HOUSE_NUMBER = re.compile(r"[0-9]")


def region_key(address: str) -> str:
    """The part of an address that names the region: everything before the first digit.

    Division names never contain ASCII digits, house numbers always come after
    them, so parsing this prefix gives the same region while repeat streets
    and buildings are parsed once (50k lines: ~30k addresses, ~2k streets).
    """
    m = _HOUSE_NUMBER.search(address)
    return address[:m.start()] if m and m.start() >= 4 else address


def _fill_regions(lines: Lines) -> None:
    norm = lines.norm
    address = norm["address"]
    keys = address.map(lambda a: region_key(a) if isinstance(a, str) and a else None)
    regions = addr.resolve_addresses(keys.dropna().unique(), lines.region_cache)
    lines.regions = regions
    lines.parsed["region_key"] = keys
    # per distinct region, then mapped: only resolved regions fill blanks
    resolved = {k: r for k, r in regions.items() if r.resolved}
    for key in ("province", "city", "district"):
        found = _objects(keys.map({k: getattr(r, key) for k, r in resolved.items()}))
        fill = _blank(norm[key]) & ~_blank(found)
        norm[key] = norm[key].where(~fill, found).pipe(_objects)


def _fill_from_stock(lines: Lines) -> None:
    norm = lines.norm
    names = _objects(norm["sku"].map(dict(zip(lines.stock.index, lines.stock["name"]))))
    fill = _blank(norm["product_name"]) & ~_blank(names)
    norm["product_name"] = norm["product_name"].where(~fill, names).pipe(_objects)


def _fill_amount(lines: Lines) -> None:
    q, p = lines.parsed["qty"], lines.parsed["unit_price"]
    # only from a valid qty and price: an invalid one is already reported, not compounded
    computed = pd.Series([round(a * b, 2) if _num(a) and a > 0 and _num(b) and b >= 0 else None
                          for a, b in zip(q, p)],
                         index=q.index, dtype=object)
    lines.parsed["amount_computed"] = computed
    fill = _blank(lines.norm["amount"]) & ~_blank(computed)
    formula_rows = lines.formula_cells.get("amount", set())
    if formula_rows:  # a formula with no cached value: use qty × price (the cell keeps its formula)
        fill |= pd.Series(lines.norm.index.isin(list(formula_rows)), index=lines.norm.index) & \
            _blank(lines.norm["amount"])
    lines.norm["amount"] = lines.norm["amount"].where(~fill, computed).pipe(_objects)


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
        region = lines.regions.get(lines.parsed["region_key"][r])
        out.append(Problem(r, "address.unresolved", region.note if region and region.note else ""))
    return out


def check_region(lines: Lines) -> list[Problem]:
    """Given 省/市/区县 vs the address text; each distinct combination judged once."""
    norm, keys = lines.norm, lines.parsed["region_key"]
    combos = pd.DataFrame({"k": keys, "p": norm["province"], "c": norm["city"], "d": norm["district"]})
    verdict: dict[tuple, str] = {}
    for combo in combos.drop_duplicates().itertuples(index=False):
        region = lines.regions.get(combo.k) if combo.k else None
        if not region or not region.resolved:
            continue
        wrong = [HEADER[k] for k, given in (("province", combo.p), ("city", combo.c), ("district", combo.d))
                 if not addr.region_matches(given, getattr(region, k))]
        if wrong:
            verdict[tuple(combo)] = "、".join(wrong)
    if not verdict:
        return []
    return [Problem(r, "region.mismatch", verdict[t]) for r, t in
            zip(combos.index, combos.itertuples(index=False, name=None)) if t in verdict]


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
    list_price = lines.norm["sku"].map(dict(zip(lines.stock.index, lines.stock["list_price"])))
    lp, p = _floats(list_price), _floats(lines.parsed["unit_price"])
    with np.errstate(invalid="ignore"):
        rows = lines.norm.index[np.abs(p - lp) > 0.005]
    return [Problem(r, "price.differs", f"标价 {list_price[r]:.2f}") for r in rows]


def check_amount(lines: Lines) -> list[Problem]:
    amount, computed = lines.norm["amount"], lines.parsed["amount_computed"]
    a, c = _floats(amount), _floats(computed)
    with np.errstate(invalid="ignore"):
        off = np.abs(a - c) > 0.01 + 1e-9
    unreadable = np.isnan(a) & ~np.isnan(c) & amount.notna().to_numpy()
    out = [Problem(r, "amount.mismatch", f"应为 {computed[r]:.2f}") for r in amount.index[off]]
    out += [Problem(r, "amount.mismatch", f"{amount[r]!s:.20}") for r in amount.index[unreadable]]
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
        # blanks are reported as missing, not as a disagreement
        n = norm[key].map(lambda v: None if v is None else str(v)).groupby(norm["order_id"]).transform("nunique")
        out += [Problem(r, "order.inconsistent", HEADER[key]) for r in _rows(n > 1)]
    return out


def check_duplicate_lines(lines: Lines) -> list[Problem]:
    norm = lines.norm[~_blank(lines.norm["order_id"]) & ~_blank(lines.norm["sku"])]
    dup = norm.duplicated(["order_id", "sku", "spec"], keep=False)
    return [Problem(r, "order.duplicate_line", str(norm.at[r, "sku"])) for r in _rows(dup)]


def check_formula_text(lines: Lines) -> list[Problem]:
    out = []
    for key in FORMULA_CHECKED:
        values = lines.raw[key]  # raw: cleaning strips the leading tab/CR forms
        looks = [type(v) is str and nz.is_formula_like(v) for v in values.to_numpy(dtype=object)]
        rows = set(values.index[looks]) | lines.formula_cells.get(key, set())
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
                   checks: tuple[Check, ...] = CHECKS, region_cache: dict | None = None) -> Validation:
    """Run every check over the order lines; never raises for bad cell values."""
    lines = normalise(raw, stock, ref_year=today.year, formula_cells=formula_cells, region_cache=region_cache)
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
    status = status.where(~recompute, new).pipe(_objects)
    return Validation(lines, problems, check_col, status)


def stock_index(stock: pd.DataFrame) -> pd.DataFrame:
    """库存 rows keyed by cleaned SKU, with name and numeric list price (first row wins)."""
    sku = nz.clean_texts(stock["sku"]).tolist()
    names = stock["name"].map(_strip).tolist()
    prices = [v if _num(v) else None for v in nz.parse_numbers(stock["list_price"]).tolist()]
    out = pd.DataFrame({"name": names, "list_price": prices}, index=pd.Index(sku, dtype=object), dtype=object)
    out = out[[s is not None for s in sku]]
    return out[~out.index.duplicated()]
