"""订货明细单 (the daily order-detail list): which lines, the day's block, the mail text.

Pure: frames in, frames and text out.

A day's list holds the order lines paid in its window (货到付款 lines by
下单时间): after the previous day's cut-off, up to and including this day's
cut-off — (D-1 14:00, D 14:00]. A line paid at 14:00:00 is today's, one
paid at 14:00:01 tomorrow's. When the previous day's block exists, its
recorded cut-off is where this window starts, so a changed 截单时间 neither
repeats nor skips a line. Only lines that passed validation and are on
their way (状态 待配货 or later, not 已取消) are listed.

On the 订货明细单 sheet each day is one block of rows, and every row of
the block carries the day's cut-off moment in 日期 (2026-11-26 14:00): the
block is exactly the rows whose 日期 falls on that day, so re-running a day
replaces its block and nothing else. A block is its lines (by time), one
小计 row per product and one 合计 row (订单号 column), in that order; an
empty day is a block of one 合计 row.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parseaddr

import pandas as pd

from . import normalize as nz
from .cells import text as _text
from .lifecycle import (COD, PAYMENT_SYNONYMS, S_AFTER_SALES, S_ALLOCATED, S_AWAIT_ALLOC, S_AWAIT_PAYMENT,
                        S_AWAIT_SHIP, S_CANCELLED, S_CHECK_FAILED, S_COMPLETED, S_DELIVERED, S_ON_SLIP,
                        S_PENDING_CHECK, S_SHIPPED, S_SHORT)

DEFAULT_CUTOFF = dt.time(14, 0)
SUBTOTAL = "小计"
TOTAL = "合计"
# the 订货明细单 sheet's columns, in order (book/schema.py DAILY has these keys: a test checks)
SHEET_COLUMNS = ("date", "order_id", "product_name", "qty", "unit_price", "amount", "address", "recipient")
# validated and on its way: listed. Everything else is reported, never listed.
LISTED_STATUSES = frozenset({S_AWAIT_ALLOC, S_SHORT, S_ALLOCATED, S_ON_SLIP, S_AWAIT_SHIP, S_SHIPPED,
                             S_DELIVERED, S_COMPLETED, S_AFTER_SALES})
NOT_LISTED = {  # status -> why a line in the window is not on the list
    S_PENDING_CHECK: ("未校验", "not validated"),
    "": ("未校验", "not validated"),
    S_CHECK_FAILED: ("校验失败", "failed validation"),
    S_AWAIT_PAYMENT: ("待付款", "awaiting payment"),
    S_CANCELLED: ("已取消", "cancelled"),
}
UNKNOWN_STATUS = ("状态未知", "unknown status")


# -- cut-off and window ------------------------------------------------------------
_CUTOFF = re.compile(r"^(\d{1,2})(?:[:：点时](\d{1,2})?分?(?:[:：](\d{1,2})秒?)?)?$")


def parse_cutoff(text) -> dt.time:
    """'14:00', '14:00:00', '14点', '14点30分', '１４：００', a time cell -> time. ValueError otherwise."""
    if isinstance(text, dt.time):
        return text.replace(microsecond=0)
    if isinstance(text, dt.datetime):
        return text.time().replace(microsecond=0)
    s = nz.clean_text(text) or ""
    s = s.replace(" ", "")
    m = _CUTOFF.match(s)
    if not m and re.fullmatch(r"\d{4}", s):  # 1400
        m = _CUTOFF.match(f"{s[:2]}:{s[2:]}")
    if not m:
        raise ValueError(f"cannot read cut-off time {text!r}")
    h, mi, se = (int(g) if g else 0 for g in m.groups())
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= se <= 59):
        raise ValueError(f"cut-off time out of range {text!r}")
    return dt.time(h, mi, se)


def hhmm(t: dt.time) -> str:
    return t.strftime("%H:%M") if not t.second else t.strftime("%H:%M:%S")


@dataclass(frozen=True)
class Window:
    """(start, end]: a line belongs to the day when start < time <= end."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime

    @property
    def cutoff(self) -> dt.time:
        return self.end.time()

    def text_zh(self) -> str:
        return (f"付款时间 {self.start:%Y-%m-%d %H:%M} 之后至 {self.end:%Y-%m-%d %H:%M} (含); "
                "货到付款按下单时间")

    def text_en(self) -> str:
        return f"paid after {self.start:%Y-%m-%d %H:%M} up to {self.end:%Y-%m-%d %H:%M} (COD: by order time)"


def window_for(day: dt.date, cutoff: dt.time, blocks: dict[dt.date, dt.datetime]) -> Window:
    """This day's window: from the previous day's recorded cut-off (if it has a block) to day at cutoff."""
    end = dt.datetime.combine(day, cutoff)
    prev = blocks.get(day - dt.timedelta(days=1))
    start = prev if prev is not None and prev < end else end - dt.timedelta(days=1)
    return Window(day, start, end)


# -- selecting lines ---------------------------------------------------------------
def _free(v) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    s = str(v).strip()
    return s or None


def _address(province, city, district, address) -> str | None:
    """The full address; 省/市/区县 are put in front when the detail address lacks them."""
    a = _free(address) or ""
    parts = []
    for p in (_free(province), _free(city), _free(district)):
        if p and p not in a and p not in parts:
            parts.append(p)
    full = "".join(parts) + a
    return full or None


def _money(v) -> float | None:
    return round(v, 2) if isinstance(v, float) and v == v else None


def _label(name, spec, sku) -> str:
    n = _free(name) or _text(sku) or "(无商品名称)"
    s = _free(spec)
    return f"{n} {s}" if s and s not in n else n


@dataclass
class Selection:
    """Every order line with the time that places it in a window and whether it can be listed."""

    lines: pd.DataFrame  # index = orders rows; when, basis, listable, reason_zh, reason_en + line fields

    def in_window(self, w: Window) -> pd.DataFrame:
        when = self.lines["when"]
        mask = pd.Series([isinstance(t, dt.datetime) and w.start < t <= w.end for t in when], index=when.index,
                         dtype=bool)
        return self.lines.loc[mask]


def select(orders: pd.DataFrame, *, ref_year: int | None = None) -> Selection:
    """Per order line: its window time (付款时间, or 下单时间 for 货到付款) and listability."""
    idx = orders.index
    pay = nz.clean_texts(orders["payment_status"]).map(
        lambda v: PAYMENT_SYNONYMS.get(v.casefold(), v) if isinstance(v, str) else None)
    paid_at = nz.parse_datetimes(orders["paid_at"], ref_year)
    ordered_at = nz.parse_datetimes(orders["ordered_at"], ref_year)
    cod = pay.map(lambda v: v == COD).astype(bool)
    when = [t if isinstance(t, dt.datetime) else None for t in
            (o if c else p for c, o, p in zip(cod, ordered_at, paid_at))]
    status = nz.clean_texts(orders["status"]).map(lambda s: s or "")
    listable = status.isin(LISTED_STATUSES)
    reasons = [(None, None) if ok else NOT_LISTED.get(s, UNKNOWN_STATUS) for ok, s in zip(listable, status)]
    qty = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in nz.parse_ints(orders["qty"])]
    price = [_money(v) for v in nz.parse_numbers(orders["unit_price"])]
    amount = [a if a is not None else (round(q * p, 2) if q is not None and p is not None else None)
              for a, q, p in zip((_money(v) for v in nz.parse_numbers(orders["amount"])), qty, price)]
    lines = pd.DataFrame({
        "order_id": nz.clean_texts(orders["order_id"]),
        "product": [_label(n, s, k) for n, s, k in zip(orders["product_name"], orders["spec"], orders["sku"])],
        "qty": qty, "unit_price": price, "amount": amount,
        "address": [_address(*a) for a in zip(orders["province"], orders["city"], orders["district"],
                                                orders["address"])],
        "recipient": [_free(v) for v in orders["recipient"]],
        "when": when, "basis": ["ordered_at" if c else "paid_at" for c in cod],
        "status": status, "listable": listable,
        "reason_zh": [r[0] for r in reasons], "reason_en": [r[1] for r in reasons],
    }, index=idx, dtype=object)
    lines["listable"] = lines["listable"].astype(bool)
    return Selection(lines)


# -- the day's list ----------------------------------------------------------------
@dataclass
class DailyList:
    window: Window
    lines: pd.DataFrame      # listed lines, by time
    products: pd.DataFrame   # product, qty, amount, unit_price (one price or None), lines, orders
    skipped: pd.DataFrame    # lines in the window that are not listed, with reasons
    to: list[tuple[str, str]] = field(default_factory=list)   # (display name, address)
    cc: list[tuple[str, str]] = field(default_factory=list)

    @property
    def day(self) -> dt.date:
        return self.window.day

    @property
    def cutoff(self) -> dt.time:
        return self.window.cutoff

    @property
    def orders(self) -> int:
        return int(self.lines["order_id"].dropna().nunique())

    @property
    def qty(self) -> int:
        return int(sum(q for q in self.lines["qty"] if q is not None))

    @property
    def amount(self) -> float:
        return round(sum(a for a in self.lines["amount"] if a is not None), 2)

    @property
    def attachment_name(self) -> str:
        return f"订货明细单-{self.day:%Y-%m-%d}.xlsx"

    @property
    def subject(self) -> str:
        return f"订货明细单 {self.day:%Y-%m-%d} (截至{hhmm(self.cutoff)})"

    def skipped_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.skipped["reason_zh"].value_counts().items()}

    def block(self) -> pd.DataFrame:
        """The day's rows for the 订货明细单 sheet (SHEET_COLUMNS)."""
        end = self.window.end
        rows = [[end, r.order_id, r.product, r.qty, r.unit_price, r.amount, r.address, r.recipient]
                for r in self.lines.itertuples()]
        for p in self.products.itertuples():
            rows.append([end, SUBTOTAL, p.product, p.qty, p.unit_price, p.amount, None, None])
        rows.append([end, TOTAL, f"{self.orders} 单 {len(self.lines)} 行", self.qty, None, self.amount,
                     self.window.text_zh(), None])
        return pd.DataFrame(rows, columns=list(SHEET_COLUMNS), dtype=object)

    def body(self) -> str:
        """The mail's short Chinese text: counts, totals, per product."""
        out = ["各位好:", "",
               f"附件是 {self.day:%Y-%m-%d} 的订货明细单 ({self.attachment_name}), "
               f"截至 {hhmm(self.cutoff)}。",
               f"统计范围: {self.window.text_zh()}。", ""]
        if self.lines.empty:
            out.append("本期没有需要发货的订单。")
        else:
            out.append(f"共 {self.orders} 单, {len(self.lines)} 行, 合计 {self.qty} 件, 金额 {self.amount:,.2f} 元。")
            out += ["", "按商品:"]
            for p in self.products.itertuples():
                out.append(f"  {p.product}: {p.qty} 件, {p.amount:,.2f} 元")
        out += ["", "此邮件由 shipbook 自动生成, 明细以附件为准。"]
        return "\n".join(out) + "\n"


def compile_daily(selection: Selection, window: Window) -> DailyList:
    inside = selection.in_window(window)
    listed = inside[inside["listable"]].copy()
    listed["_row"] = listed.index
    listed = listed.sort_values(["when", "order_id", "_row"], kind="stable", key=_sort_key).drop(columns="_row")
    skipped = inside[~inside["listable"]]
    products = []
    for product, g in listed.groupby("product", sort=True):
        prices = {p for p in g["unit_price"] if p is not None}
        products.append({"product": product, "qty": int(sum(q for q in g["qty"] if q is not None)),
                         "amount": round(sum(a for a in g["amount"] if a is not None), 2),
                         "unit_price": prices.pop() if len(prices) == 1 else None,
                         "lines": len(g), "orders": int(g["order_id"].dropna().nunique())})
    products = pd.DataFrame(products, columns=["product", "qty", "amount", "unit_price", "lines", "orders"],
                            dtype=object)
    return DailyList(window, listed, products, skipped)


def _sort_key(col: pd.Series) -> pd.Series:
    if col.name == "order_id":
        return col.map(lambda v: v or "")
    return col


# -- the sheet's blocks ------------------------------------------------------------
def _day_of(v) -> dt.datetime | None:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time(0))
    p = nz.parse_datetime(v)
    return p if isinstance(p, dt.datetime) else None


def block_keys(sheet: pd.DataFrame) -> list[dt.date | None]:
    """The day each row belongs to: its 日期; a row without one stays with the row above."""
    keys: list[dt.date | None] = []
    current = None
    for v in sheet["date"]:
        d = _day_of(v)
        if d is not None:
            current = d.date()
        keys.append(current)
    return keys


def blocks(sheet: pd.DataFrame) -> dict[dt.date, dt.datetime]:
    """day -> the cut-off moment its block records (its first dated row)."""
    out: dict[dt.date, dt.datetime] = {}
    for v in sheet["date"]:
        d = _day_of(v)
        if d is not None and d.date() not in out:
            out[d.date()] = d
    return out


def listed_keys(sheet: pd.DataFrame, day: dt.date) -> Counter:
    """(订单号, 商品, 数量) of the lines a day's block lists (a multiset)."""
    keys = block_keys(sheet)
    out: Counter = Counter()
    for k, (_, r) in zip(keys, sheet.iterrows()):
        oid = _text(r["order_id"])
        if k == day and oid and oid not in (SUBTOTAL, TOTAL):
            out[(oid, _free(r["product_name"]), nz.parse_int(r["qty"]))] += 1
    return out


def unlisted(daily_lines: pd.DataFrame, sheet: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Listable lines of a day's window that its block (if any) does not list."""
    have = listed_keys(sheet, day)
    keep = []
    for r in daily_lines.itertuples():
        k = (r.order_id, r.product, r.qty)
        if have[k] > 0:
            have[k] -= 1
            keep.append(False)
        else:
            keep.append(True)
    return daily_lines.loc[pd.Series(keep, index=daily_lines.index, dtype=bool)]


def _cmp(v):
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return round(float(v), 2)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def merge_block(sheet: pd.DataFrame, day: dt.date, block: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """The sheet's whole body with `day`'s block replaced (or inserted in date order); changed?"""
    keys = block_keys(sheet)
    body = sheet.reset_index(drop=True)[list(SHEET_COLUMNS)].astype(object)
    groups: dict[dt.date | None, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    old = body.iloc[groups.get(day, [])]
    same = len(old) == len(block) and all(
        [_cmp(a) for a in x] == [_cmp(b) for b in y]
        for x, y in zip(old.itertuples(index=False), block.itertuples(index=False)))
    parts = []
    order = sorted((k for k in groups if k != day), key=lambda k: (k is not None, k or dt.date.min))
    placed = False
    for k in order:
        if not placed and k is not None and k > day:
            parts.append(block)
            placed = True
        parts.append(body.iloc[groups[k]])
    if not placed:
        parts.append(block)
    out = pd.concat([p.astype(object) for p in parts], ignore_index=True) if parts else block
    out = out.astype(object)
    return out.where(out.notna(), None), not same


# -- mail addresses ----------------------------------------------------------------
_SEPARATORS = re.compile(r"[,;，；、\r\n]+")
_ADDR = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


def parse_addresses(text) -> tuple[list[tuple[str, str]], list[str]]:
    """'a@x.cn, 张三 <b@y.com>；c@z.cn' -> ([(name, address)], [malformed entries]).

    Separators: , ; ， ； 、 and line breaks. Full-width letters, digits and ＠ are
    folded to ASCII (unambiguous); anything else not an address is malformed.
    """
    good, bad = [], []
    s = "" if text is None else str(text)
    for entry in _SEPARATORS.split(s):
        entry = entry.strip()
        if not entry:
            continue
        entry = unicodedata.normalize("NFKC", entry)
        name, addr = parseaddr(entry)
        addr = addr.strip()
        if not _ADDR.match(addr) or ("<" in entry and not entry.endswith(">")) or entry.count("@") != 1:
            bad.append(entry)
        else:
            good.append((name.strip(), addr))
    return good, bad
