"""Validation of order lines: normalise what is unambiguous, report the rest.

Pure: frames in, frames and problems out. Each check is a small function
returning Problems as data (beancount style); `validate_lines` runs them all.
Columns are whole pandas Series; each column is held as codes into its
distinct cells (normalize.Distinct), so parsing, lookups and most checks run
once per distinct value, not once per line (50k lines: ~0.35 s without the
address parser).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .lifecycle import (PAID, PAYMENT_SYNONYMS, S_AWAIT_ALLOC, S_AWAIT_PAYMENT,  # noqa: F401 (re-exported)
                        S_CHECK_FAILED, STATUSES, UNPAID, VALIDATION_STATUSES)
from . import address as addr
from . import normalize as nz
from .problems import CODES, Problem, check_text

INVALID = nz.INVALID
# free-text columns: only surrounding spaces are trimmed (full-width punctuation is the user's)
FREE_TEXT = ("customer", "recipient", "address", "province", "city", "district", "product_name", "spec",
             "remark", "carrier")
# id-like columns: full-width digits/letters folded, Excel floats made whole
ID_TEXT = ("order_id", "sku", "tracking_no", "channel", "payment_status", "status")
FORMULA_CHECKED = ("order_id", "channel", "customer", "recipient", "province", "city", "district", "address",
                   "sku", "product_name", "spec", "payment_status", "remark", "carrier", "tracking_no")
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
    headers: Mapping[str, str] = field(default_factory=dict)  # key -> the 订单 header users see (in details)
    # raw columns and parse results as codes into their distinct values: work once per value
    distinct: dict[str, nz.Distinct] = field(default_factory=dict)

    def header(self, key: str) -> str:
        return self.headers.get(key, key)

    def raw_distinct(self, key: str) -> nz.Distinct:
        if "raw:" + key not in self.distinct:
            self.distinct["raw:" + key] = nz.Distinct.of(self.raw[key])
        return self.distinct["raw:" + key]


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
    return nz.Distinct.of(series).floats()


def _blank(series: pd.Series) -> pd.Series:
    return series.isna()


# -- normalising -------------------------------------------------------------
def _parse(lines: Lines, key: str, fn: Callable, shown: Callable = lambda v: v) -> pd.Series:
    """fn over a raw column once per distinct cell; the normalised column shows the parsed
    value, or the line's own cell as it was where fn says INVALID (kept for the user to fix)."""
    parsed = lines.raw_distinct(key).map(fn)
    lines.distinct[key] = parsed
    lines.parsed[key] = parsed.series()
    invalid = parsed.flags(lambda r: r is INVALID)
    values = parsed.map(lambda r: None if r is INVALID else shown(r)).series()
    return values.where(~invalid, lines.raw[key]).pipe(_objects) if invalid.any() else values


def normalise(raw: pd.DataFrame, stock: pd.DataFrame, *, ref_year: int | None,
              formula_cells: dict[str, set[int]] | None = None, region_cache: dict | None = None,
              headers: Mapping[str, str] | None = None) -> Lines:
    norm = pd.DataFrame(index=raw.index)
    lines = Lines(raw, norm, stock, formula_cells=formula_cells or {}, region_cache=region_cache,
                  headers=dict(headers or {}))
    for key in FREE_TEXT:
        lines.distinct[key] = lines.raw_distinct(key).map(_strip)
        norm[key] = lines.distinct[key].series()
    for key in ID_TEXT:
        lines.distinct[key] = lines.raw_distinct(key).map(nz.clean_text)
        norm[key] = lines.distinct[key].series()

    channel = norm["channel"]
    norm["channel"] = channel.where(~_blank(channel), DEFAULT_CHANNEL)
    cross_border = norm["channel"].eq("跨境").astype(bool)
    phones = nz.normalize_phones(lines.raw_distinct("phone"), cross_border)
    lines.parsed["phone_ok"] = phones["ok"]
    norm["phone"] = phones["value"].where(phones["ok"], lines.raw_distinct("phone").map(_strip).series())

    for key in ("ordered_at", "paid_at"):
        norm[key] = _parse(lines, key, lambda v: nz.parse_datetime(v, ref_year=ref_year))
    norm["qty"] = _parse(lines, "qty", nz.parse_int)
    norm["unit_price"] = _parse(lines, "unit_price", nz.parse_number, shown=_round_price)
    norm["amount"] = _parse(lines, "amount", nz.parse_number)

    pay = norm["payment_status"].map({v: PAYMENT_SYNONYMS.get(v.casefold(), INVALID)
                                      for v in norm["payment_status"].dropna().unique()})
    pay = _objects(pay)
    paid_at_present = ~_blank(norm["paid_at"])
    pay = pay.where(~(_blank(pay) & paid_at_present), PAID)
    pay = pay.where(~_blank(pay), UNPAID)
    lines.parsed["payment_status"] = pay
    norm["payment_status"] = pay.where(~_is(pay, INVALID), norm["payment_status"]).pipe(_objects)

    _fill_regions(lines)
    _fill_from_stock(lines)
    _fill_amount(lines)
    return lines


def _round_price(v):
    return round(v, 2) if isinstance(v, float) else v


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
    keys = lines.distinct["address"].map(lambda a: region_key(a) if isinstance(a, str) and a else None).compact()
    regions = addr.resolve_addresses([k for k in keys.values if k is not None], lines.region_cache)
    lines.regions = regions
    lines.distinct["region_key"] = keys
    lines.parsed["region_key"] = keys.series()
    # per distinct region, then mapped: only resolved regions fill blanks
    resolved = {k: r for k, r in regions.items() if r.resolved}
    for key in ("province", "city", "district"):
        found = keys.map(lambda k: getattr(resolved[k], key) if k in resolved else None).series()
        fill = _blank(norm[key]) & ~_blank(found)
        norm[key] = norm[key].where(~fill, found).pipe(_objects)


def _fill_from_stock(lines: Lines) -> None:
    norm = lines.norm
    names = dict(zip(lines.stock.index, lines.stock["name"]))
    found = _objects(lines.distinct["sku"].map(lambda s: names.get(s) if s is not None else None).series())
    fill = _blank(norm["product_name"]) & ~_blank(found)
    norm["product_name"] = norm["product_name"].where(~fill, found).pipe(_objects)


def _amount(q, p):
    # only from a valid qty and price: an invalid one is already reported, not compounded
    return round(q * p, 2) if nz.is_number(q) and q > 0 and nz.is_number(p) and p >= 0 else None


def _fill_amount(lines: Lines) -> None:
    computed = nz.Distinct.combine([lines.distinct["qty"], lines.distinct["unit_price"]], _amount)
    lines.distinct["amount_computed"] = computed
    lines.parsed["amount_computed"] = computed = computed.series()
    fill = _blank(lines.norm["amount"]) & ~_blank(computed)
    formula_rows = lines.formula_cells.get("amount", set())
    if formula_rows:  # a formula with no cached value: use qty × price (the cell keeps its formula)
        fill |= pd.Series(lines.norm.index.isin(list(formula_rows)), index=lines.norm.index) & \
            _blank(lines.norm["amount"])
    lines.norm["amount"] = lines.norm["amount"].where(~fill, computed).pipe(_objects)


# -- checks --------------------------------------------------------------------
def _missing(key: str, code: str) -> Check:
    def check(lines: Lines) -> list[Problem]:
        return [Problem(code, r) for r in _rows(_blank(lines.norm[key]))]
    check.__name__ = f"check_{key}_missing"
    return check


def check_phone(lines: Lines) -> list[Problem]:
    bad = ~_blank(lines.norm["phone"]) & ~lines.parsed["phone_ok"].astype(bool)
    return [Problem("phone.invalid", r, detail=str(lines.norm.at[r, "phone"])) for r in _rows(bad)]


def check_address_resolved(lines: Lines) -> list[Problem]:
    norm = lines.norm
    known = ~_blank(norm["province"]) & ~_blank(norm["city"])
    bad = ~_blank(norm["address"]) & ~known
    out = []
    for r in _rows(bad):
        region = lines.regions.get(lines.parsed["region_key"][r])
        out.append(Problem("address.unresolved", r, detail=region.note if region and region.note else ""))
    return out


def check_region(lines: Lines) -> list[Problem]:
    """Given 省/市/区县 vs the address text; each distinct combination judged once."""
    norm = lines.norm
    match = functools.lru_cache(maxsize=None)(addr.region_matches)  # few distinct (given, parsed) pairs

    def judge(k, p, c, d):
        region = lines.regions.get(k) if k else None
        if not region or not region.resolved:
            return None
        wrong = [lines.header(key) for key, given in (("province", p), ("city", c), ("district", d))
                 if not match(given, getattr(region, key))]
        return "、".join(wrong) or None

    parts = [lines.distinct["region_key"], *(nz.Distinct.of(norm[k]) for k in ("province", "city", "district"))]
    verdict = nz.Distinct.combine(parts, judge).series()
    return [Problem("region.mismatch", r, detail=v) for r, v in verdict[verdict.notna()].items()]


def check_sku_known(lines: Lines) -> list[Problem]:
    sku = lines.norm["sku"]
    bad = ~_blank(sku) & ~sku.isin(lines.stock.index)
    return [Problem("sku.unknown", r, detail=str(sku[r])) for r in _rows(bad)]


def check_qty(lines: Lines) -> list[Problem]:
    bad = lines.distinct["qty"].flags(lambda v: not (isinstance(v, int) and not isinstance(v, bool) and v > 0))
    return [Problem("qty.invalid", int(r)) for r in lines.norm.index[bad]]


def check_price(lines: Lines) -> list[Problem]:
    bad = lines.distinct["unit_price"].flags(lambda v: not (nz.is_number(v) and v >= 0))
    return [Problem("price.invalid", int(r)) for r in lines.norm.index[bad]]


def check_price_differs(lines: Lines) -> list[Problem]:
    prices = dict(zip(lines.stock.index, lines.stock["list_price"]))
    listed = lines.distinct["sku"].map(lambda s: prices.get(s) if s is not None else None)
    list_price = listed.series()
    lp, p = listed.floats(), lines.distinct["unit_price"].floats()
    with np.errstate(invalid="ignore"):
        rows = lines.norm.index[np.abs(p - lp) > 0.005]
    return [Problem("price.differs", r, detail=f"标价 {list_price[r]:.2f}") for r in rows]


def check_amount(lines: Lines) -> list[Problem]:
    amount, computed = lines.norm["amount"], lines.parsed["amount_computed"]
    a, c = _floats(amount), lines.distinct["amount_computed"].floats()
    with np.errstate(invalid="ignore"):
        off = np.abs(a - c) > 0.01 + 1e-9
    unreadable = np.isnan(a) & ~np.isnan(c) & amount.notna().to_numpy()
    out = [Problem("amount.mismatch", r, detail=f"应为 {computed[r]:.2f}") for r in amount.index[off]]
    out += [Problem("amount.mismatch", r, detail=f"{amount[r]!s:.20}") for r in amount.index[unreadable]]
    return out


def check_payment(lines: Lines) -> list[Problem]:
    pay = lines.parsed["payment_status"]
    out = [Problem("payment.invalid", r, detail=str(lines.norm.at[r, "payment_status"]))
           for r in _rows(_is(pay, INVALID))]
    no_time = pay.map(lambda v: v == PAID) & _blank(lines.norm["paid_at"])
    return out + [Problem("paid_at.missing", r) for r in _rows(no_time)]


def check_dates(lines: Lines) -> list[Problem]:
    out = []
    for key in ("ordered_at", "paid_at"):
        out += [Problem("date.invalid", r, detail=lines.header(key), column=key)
                for r in _rows(_is(lines.parsed[key], INVALID))]
    return out


def check_orders_consistent(lines: Lines) -> list[Problem]:
    """Lines of one order must agree on recipient, phone and address (blanks are reported as missing)."""
    norm = lines.norm
    order = nz.Distinct.of(norm["order_id"])
    has_order = order.flags(lambda o: o is not None)
    out = []
    for key in ("recipient", "phone", "address"):
        value = nz.Distinct.of(norm[key])
        given = has_order & value.flags(lambda v: v is not None)
        pair = order.codes.astype(np.int64) * len(value.values) + value.codes
        # count the distinct non-blank values of each order: more than one flags every line of it
        first = np.unique(pair[given], return_index=True)[1]
        counts = np.bincount(order.codes[given][first], minlength=len(order.values))
        bad = (counts[order.codes] > 1) & has_order
        out += [Problem("order.inconsistent", int(r), detail=lines.header(key)) for r in norm.index[bad]]
    return out


def check_duplicate_lines(lines: Lines) -> list[Problem]:
    norm = lines.norm[~_blank(lines.norm["order_id"]) & ~_blank(lines.norm["sku"])]
    dup = norm.duplicated(["order_id", "sku", "spec"], keep=False)
    return [Problem("order.duplicate_line", r, detail=str(norm.at[r, "sku"])) for r in _rows(dup)]


def check_formula_text(lines: Lines) -> list[Problem]:
    out = []
    for key in FORMULA_CHECKED:
        # raw: cleaning strips the leading tab/CR forms
        looks = lines.raw_distinct(key).flags(nz.is_formula_like)  # any text (str subclasses too)
        rows = set(lines.raw.index[looks]) | lines.formula_cells.get(key, set())
        out += [Problem("cell.formula", r, detail=lines.header(key), column=key) for r in sorted(rows)]
    return out


def check_status_known(lines: Lines) -> list[Problem]:
    st = lines.norm["status"]
    bad = ~_blank(st) & ~st.isin(STATUSES)
    return [Problem("status.unknown", r, detail=str(st[r])) for r in _rows(bad)]


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
                   checks: tuple[Check, ...] = CHECKS, region_cache: dict | None = None,
                   headers: Mapping[str, str] | None = None) -> Validation:
    """Run every check over the order lines; never raises for bad cell values.

    headers: key -> the 订单 header users see, named in problem details (the key when not given)."""
    lines = normalise(raw, stock, ref_year=today.year, formula_cells=formula_cells, region_cache=region_cache,
                      headers=headers)
    problems: list[Problem] = []
    for check in checks:
        problems += check(lines)
    problems.sort(key=lambda p: (p.row, CODES[p.code].severity != "error"))
    by_row: dict[int, list[Problem]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    # lines without problems read OK; only the rows with problems are written out one by one
    texts = {r: check_text(ps) for r, ps in by_row.items()}
    check_col = pd.Series(raw.index.map(texts), index=raw.index, dtype=object).fillna(check_text([]))
    errors = {r for r, ps in by_row.items() if any(p.severity == "error" for p in ps)}
    has_error = pd.Series(raw.index.isin(list(errors)), index=raw.index, dtype=bool)
    status = lines.norm["status"].copy()
    recompute = status.isin(VALIDATION_STATUSES) | (status.isna() & ("" in VALIDATION_STATUSES))
    pay = lines.parsed["payment_status"]
    new = pd.Series(S_AWAIT_ALLOC, index=raw.index, dtype=object)
    new = new.where(~pay.map(lambda v: v == UNPAID), S_AWAIT_PAYMENT)
    new = new.where(~has_error, S_CHECK_FAILED)
    status = status.where(~recompute, new).pipe(_objects)
    return Validation(lines, problems, check_col, status)


def stock_index(stock: pd.DataFrame) -> pd.DataFrame:
    """库存 rows keyed by cleaned SKU, with name and numeric list price (first row wins)."""
    sku = nz.clean_texts(stock["sku"]).tolist()
    names = stock["name"].map(_strip).tolist()
    prices = [v if nz.is_number(v) else None for v in nz.parse_numbers(stock["list_price"]).tolist()]
    out = pd.DataFrame({"name": names, "list_price": prices}, index=pd.Index(sku, dtype=object), dtype=object)
    out = out[[s is not None for s in sku]]
    return out[~out.index.duplicated()]
