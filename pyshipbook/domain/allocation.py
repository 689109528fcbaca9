"""Stock allocation (检查库存) and the shortage plan (缺货). Pure: frames in, frames out.

The stock ledger lives on the order lines themselves: 配货编码 / 配货数量
(`alloc_sku`, `alloc_qty`) say what a line reserved when it was allocated.
A line holds stock while its 状态 is in HOLDING_STATUSES (已配货, 已开单,
待发货), so for every SKU

    库存 已分配 = sum of 配货数量 over holding lines whose 配货编码 is that SKU
    库存 可用   = 库存数量 − 已分配

and both are recomputed from the ledger on every run (never incremented), so
they cannot drift. The ledger moves with its row when users sort 订单.

Rules (`allocate`):

* Candidates are orders whose lines are 待配货 or 缺货 (validated without
  errors, re-tried each run), paid (已付款) or cash on delivery (货到付款).
* Service order (`service_rank`): 付款时间 (COD: 下单时间), then 下单时间, then
  the first row of the order.
* An order is allocated whole or not at all (one parcel): if any SKU of it
  cannot be served from 可用 it becomes 缺货 and reserves nothing, so later
  orders may still take what is left.
* Orders already allocated keep their stock. An allocated order that changed
  since (a line's 数量 or 商品编码 differs from its ledger, or lines were
  added) is released and re-checked whole: never double-counted. An order
  already on a slip (已开单 / 待发货) is never changed silently: it keeps what
  it reserved and is reported (`alloc.slip_changed`) so the slip can be voided.
* Cancelled lines (已取消) release their stock.
* Lines that are not validated or not paid (待校验, 校验失败, 待付款) are left
  alone; an order with such a line waits whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import normalize as nz
from .codes import Code, Problem, register
from .lifecycle import COD, HOLDING_STATUSES, ON_SLIP_STATUSES, OPEN_STATUSES, WAITING_STATUSES  # noqa: F401
from .lifecycle import (PAID_OR_COD, PAYMENT_SYNONYMS, REPLENISH_KIND, S_ALLOCATED, S_AWAIT_ALLOC, S_AWAIT_PAYMENT,
                        S_CANCELLED, S_SHORT, SHORT_KIND)
from .problems import CODES

PAID = PAID_OR_COD   # may be allocated: paid, or cash on delivery


# -- issues: what allocate / slips report (in --json, never written to 校验结果) --------------------
ISSUE_CODES: dict[str, Code] = register(
    Code("alloc.slip_changed", "error", "订单已开出库单, 之后又被修改 (数量/商品/新增行); 库存未改动, 需重开该出库单 "
         "(重开出库单 按钮 / shipbook slips --reissue)",
         "the order is on a slip and changed since (qty, SKU or lines); its stock is kept as it was: "
         "re-issue the slip (button 重开出库单 / shipbook slips --reissue)"),
    Code("alloc.cancelled_on_slip", "warning",
         "已取消的行在出库单上; 库存已释放, 需重开该出库单 (重开出库单 按钮 / shipbook slips --reissue)",
         "a cancelled line was on a slip; its stock was released: re-issue the slip "
         "(button 重开出库单 / shipbook slips --reissue)"),
    Code("alloc.released", "warning", "订单配货后被修改, 已释放库存并重新检查",
         "the order changed after allocation; its stock was released and it was checked again"),
    Code("alloc.order_waiting", "warning", "订单中有未校验或未付款的行, 整单等待",
         "the order has lines not yet validated or paid; it waits whole"),
    Code("alloc.line_invalid", "error", "此行无法配货 (请重新校验)", "this line cannot be allocated (validate again)"),
    Code("stock.on_hand_invalid", "error", "库存数量无法识别, 按 0 计", "库存数量 cannot be read; counted as 0"),
    Code("stock.duplicate_sku", "warning", "商品编码在库存表中重复, 以第一行为准",
         "the SKU appears twice in 库存; the first row is used"),
    Code("slip.order_changed", "error", "订单配货后被修改或未整单配货, 请先检查库存",
         "the order changed after allocation or is not allocated whole: run 检查库存 first"),
)


# -- reading the frames ----------------------------------------------------------------------------
def _objects(values) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.astype(object)
    return s.where(s.notna(), None)


def _ints(values: pd.Series) -> pd.Series:
    """Whole numbers as int, anything else (blank, text, 2.5) as None."""
    parsed = nz.parse_ints(values)
    return _objects(parsed.map(lambda v: v if isinstance(v, int) and not isinstance(v, bool) else None))


_CODE_IN_CHECK = re.compile(r"\[([a-z_]+\.[a-z_]+)\]")


def _has_error(check) -> bool:
    if not isinstance(check, str):
        return False
    return any(CODES[c].severity == "error" for c in _CODE_IN_CHECK.findall(check) if c in CODES)


def order_lines(raw: pd.DataFrame, *, ref_year: int | None = None) -> pd.DataFrame:
    """The 订单 columns allocation and slips need, cleaned (object dtype, None for blank).

    raw: the sheet as read (contract keys, index = Excel rows). qty and alloc_qty are ints or None;
    payment is 已付款 / 未付款 / 货到付款 or None; times are datetimes or None; `check_error` says
    whether 校验结果 names an error code.
    """
    out = pd.DataFrame(index=raw.index)
    for key in ("order_id", "sku", "status", "slip_no", "alloc_sku", "payment_status"):
        out[key] = _objects(nz.clean_texts(raw[key]))
    for key in ("recipient", "phone", "address", "product_name", "spec"):
        out[key] = _objects(nz.clean_texts(raw[key]))
    out["qty"] = _ints(raw["qty"])
    out["alloc_qty"] = _ints(raw["alloc_qty"])
    amount = nz.parse_numbers(raw["amount"])
    out["amount"] = _objects(amount.map(lambda v: float(v) if isinstance(v, (int, float)) and
                                        not isinstance(v, bool) and v is not nz.INVALID else None))
    for key in ("ordered_at", "paid_at"):
        parsed = nz.parse_datetimes(raw[key], ref_year)
        out[key] = _objects(parsed.map(lambda v: None if v is nz.INVALID else v))
    pay = out["payment_status"]
    out["payment"] = _objects(pay.map({v: PAYMENT_SYNONYMS.get(v.casefold()) for v in pay.dropna().unique()}))
    out["check_error"] = raw["check"].map(_has_error).astype(bool)
    out["status"] = out["status"].map(lambda s: s or "")
    return out


def stock_table(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """库存 keyed by cleaned SKU (first row wins): row, on_hand, safety_stock, name, spec, location."""
    issues: list[Problem] = []
    sku = _objects(nz.clean_texts(raw["sku"]))
    parsed = nz.parse_ints(raw["on_hand"])
    bad = parsed.map(lambda v: v is nz.INVALID or isinstance(v, float))
    on_hand = parsed.map(lambda v: v if isinstance(v, int) and not isinstance(v, bool) else 0)
    safety = _ints(raw["safety_stock"]).map(lambda v: v if v is not None else 0)
    frame = pd.DataFrame({"row": raw.index.to_numpy(), "on_hand": on_hand.to_numpy(dtype=np.int64),
                          "safety_stock": safety.to_numpy(dtype=np.int64),
                          "name": _objects(nz.clean_texts(raw["name"])).to_numpy(),
                          "spec": _objects(nz.clean_texts(raw["spec"])).to_numpy(),
                          "location": _objects(nz.clean_texts(raw["location"])).to_numpy()},
                         index=pd.Index(sku.to_numpy(), dtype=object, name="sku"))
    for r in raw.index[(bad & sku.notna()).to_numpy()]:
        issues.append(Problem("stock.on_hand_invalid", int(r), None,
                              f"{sku[r]}: {raw.at[r, 'on_hand']!s:.20}"))
    frame = frame[sku.notna().to_numpy()]
    dup = frame.index.duplicated()
    for r, s in zip(frame["row"][dup], frame.index[dup]):
        issues.append(Problem("stock.duplicate_sku", int(r), None, str(s)))
    return frame[~dup], issues


# -- service order ---------------------------------------------------------------------------------
def order_keys(lines: pd.DataFrame) -> pd.Series:
    """The order a line belongs to: its 订单号, or the line alone when it has none."""
    rows = pd.Series(lines.index.map(lambda r: f"\x00row{r}"), index=lines.index, dtype=object)
    return lines["order_id"].where(lines["order_id"].notna(), rows)


def _times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype(object), errors="coerce")


def service_rank(lines: pd.DataFrame) -> pd.Series:
    """Order key -> rank (0 first): 付款时间 (COD: 下单时间), then 下单时间, then first row."""
    if lines.empty:
        return pd.Series(dtype=np.int64)
    key = order_keys(lines)
    ordered = _times(lines["ordered_at"])
    paid = _times(lines["paid_at"])
    use_paid = (lines["payment"] != COD).to_numpy() & paid.notna().to_numpy()
    pay_time = ordered.where(~use_paid, paid)
    f = pd.DataFrame({"key": key.to_numpy(), "t1": pay_time.to_numpy(), "t2": ordered.to_numpy(),
                      "row": lines.index.to_numpy()})
    agg = f.groupby("key", sort=False).agg(t1=("t1", "min"), t2=("t2", "min"), row=("row", "min"))
    agg = agg.sort_values(["t1", "t2", "row"], na_position="last", kind="stable")
    return pd.Series(np.arange(len(agg), dtype=np.int64), index=agg.index)


def ledger_matches(lines: pd.DataFrame) -> pd.Series:
    """The line's ledger says it reserved exactly its current 商品编码 and 数量."""
    return (lines["alloc_qty"].notna() & lines["qty"].notna() & lines["alloc_sku"].notna()
            & (lines["alloc_sku"] == lines["sku"]).fillna(False)
            & (lines["alloc_qty"].astype(object) == lines["qty"].astype(object)).fillna(False)).astype(bool)


def line_problems(lines: pd.DataFrame, stock: pd.DataFrame) -> pd.Series:
    """Why a line cannot be allocated ('' when it can): no order id, unknown SKU, bad qty, errors."""
    reasons = pd.Series("", index=lines.index, dtype=object)
    checks = (
        (lines["order_id"].isna(), "缺少订单号"),
        (~lines["sku"].isin(stock.index), "商品编码不在库存表"),
        (lines["qty"].map(lambda q: not (isinstance(q, int) and q > 0)).astype(bool), "数量无效"),
        (lines["check_error"], "校验结果有错误"),
    )
    for mask, text in checks:
        mask = mask.to_numpy(dtype=bool)
        reasons[mask] = reasons[mask].map(lambda r, t=text: f"{r}, {t}" if r else t)
    return reasons


# -- allocation ----------------------------------------------------------------------------------
@dataclass
class Allocation:
    status: pd.Series         # new 状态 per row
    alloc_sku: pd.Series      # new 配货编码 per row
    alloc_qty: pd.Series      # new 配货数量 per row
    position: pd.DataFrame    # per SKU of 库存: on_hand, allocated, available, safety_stock
    allocated_orders: list[str] = field(default_factory=list)   # allocated by this run, service order
    short_orders: list[str] = field(default_factory=list)       # candidates that could not be served
    released_orders: list[str] = field(default_factory=list)
    kept_orders: int = 0
    issues: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(i.severity == "error" for i in self.issues)


def stock_position(stock: pd.DataFrame, status: pd.Series, alloc_sku: pd.Series,
                   alloc_qty: pd.Series) -> pd.DataFrame:
    """已分配 and 可用 per SKU from the ledger: the sum of 配货数量 over holding lines."""
    hold = status.isin(HOLDING_STATUSES) & alloc_qty.notna() & alloc_sku.notna()
    held = pd.Series(alloc_qty[hold].to_numpy(dtype=np.int64), index=alloc_sku[hold].to_numpy())
    allocated = held.groupby(level=0).sum().reindex(stock.index, fill_value=0).astype(np.int64)
    out = pd.DataFrame({"on_hand": stock["on_hand"].astype(np.int64), "allocated": allocated,
                        "safety_stock": stock["safety_stock"].astype(np.int64)}, index=stock.index)
    out["available"] = out["on_hand"] - out["allocated"]
    return out


def _first_rows(key: pd.Series, mask: pd.Series) -> pd.Series:
    """Per order key, the first row where mask holds."""
    return pd.Series(key[mask].index, index=key[mask].to_numpy()).groupby(level=0).min()


def allocate(lines: pd.DataFrame, stock: pd.DataFrame) -> Allocation:
    """One allocation run over every order line (see the module docstring for the rules)."""
    st = lines["status"].astype(object)
    key = order_keys(lines)
    paid = lines["payment"].isin(PAID)
    open_ = st.isin(OPEN_STATUSES)
    unpaid_open = open_ & ~paid
    open_ &= paid
    waiting = st.isin(WAITING_STATUSES) | unpaid_open
    holding = st.isin(HOLDING_STATUSES)
    on_slip = st.isin(ON_SLIP_STATUSES)
    allocated_line = st == S_ALLOCATED
    matches = ledger_matches(lines)
    changed = holding & ~matches
    reasons = line_problems(lines, stock)
    invalid = (open_ | allocated_line) & (reasons != "")
    pool = open_ | allocated_line   # lines an allocation of their order would (re)serve

    flags = pd.DataFrame({"on_slip": on_slip, "changed": changed, "open": open_, "waiting": waiting,
                          "allocated": allocated_line, "invalid": invalid}, index=lines.index).astype(bool)
    per_order = flags.groupby(key.to_numpy(), sort=False).any()
    o = per_order.reindex(key.to_numpy()).set_axis(lines.index)
    frozen = o["on_slip"]
    release = ~frozen & o["allocated"] & (o["changed"] | o["open"] | o["waiting"] | o["invalid"])
    keep = ~frozen & o["allocated"] & ~release
    active = ~frozen & ~keep & (o["open"] | release)
    candidate = active & ~o["waiting"] & ~o["invalid"]
    wait_order = active & o["waiting"]
    bad_order = active & ~o["waiting"] & o["invalid"]

    status = st.copy()
    status[unpaid_open] = S_AWAIT_PAYMENT
    status[pool & (wait_order | bad_order)] = S_AWAIT_ALLOC
    alloc_sku = lines["alloc_sku"].copy()
    alloc_qty = lines["alloc_qty"].copy()

    issues: list[Problem] = []
    oid = lines["order_id"]

    # orders on a slip: nothing moves, changes are reported
    slip_report = frozen & (changed | open_)
    if slip_report.any():
        has_slip = lines["slip_no"].notna()
        slip_of = pd.Series(lines["slip_no"][has_slip].to_numpy(), index=key[has_slip].to_numpy())
        slip_of = slip_of[~slip_of.index.duplicated()]
        for r in lines.index[slip_report.to_numpy()]:
            what = "新增行" if open_[r] else f"数量/商品 {lines.at[r, 'alloc_sku']}×{lines.at[r, 'alloc_qty']} → " \
                                            f"{lines.at[r, 'sku']}×{lines.at[r, 'qty']}"
            slip = slip_of.get(key[r], "")
            issues.append(Problem("alloc.slip_changed", int(r), oid[r], f"{slip} {what}".strip()))

    cancelled = st == S_CANCELLED
    for r in lines.index[(cancelled & lines["alloc_qty"].notna() & lines["slip_no"].notna()).to_numpy()]:
        issues.append(Problem("alloc.cancelled_on_slip", int(r), oid[r], str(lines.at[r, "slip_no"])))

    released_keys = _first_rows(key, release & allocated_line)
    for k, r in released_keys.items():
        issues.append(Problem("alloc.released", int(r), oid[r]))
    waiting_firsts = _first_rows(key, wait_order & pool)
    if len(waiting_firsts):
        in_waiting = (wait_order & waiting).to_numpy()
        states_of = pd.Series(st[in_waiting].map(lambda s: s or "空").to_numpy(), index=key[in_waiting].to_numpy())
        states_of = states_of.groupby(level=0).agg(lambda v: "、".join(sorted(set(v))))
        for k, r in waiting_firsts.items():
            issues.append(Problem("alloc.order_waiting", int(r), oid[r], states_of.get(k, "")))
    for r in lines.index[(bad_order & invalid).to_numpy()]:
        issues.append(Problem("alloc.line_invalid", int(r), oid[r], reasons[r]))

    # the ledger: kept and frozen orders keep what they hold; everything else in play is cleared
    in_play = st.isin(OPEN_STATUSES | WAITING_STATUSES) | cancelled | (allocated_line & ~keep & ~frozen)
    alloc_sku[in_play] = None
    alloc_qty[in_play] = None
    position = stock_position(stock, status.where(~in_play, ""), alloc_sku, alloc_qty)

    # FIFO over candidate orders, whole orders only
    cand = lines.loc[(candidate & pool).to_numpy(), ["sku", "qty"]]
    rank = service_rank(lines.loc[(candidate & pool).to_numpy()])
    cand_key = key[cand.index]
    order_rank = cand_key.map(rank).to_numpy(dtype=np.int64)
    sorter = np.lexsort((cand.index.to_numpy(), order_rank))
    cand = cand.iloc[sorter]
    ranks = order_rank[sorter]
    sku_pos = stock.index.get_indexer(cand["sku"].to_numpy()).tolist()
    qtys = [int(q) for q in cand["qty"].to_numpy()]
    avail = position["available"].to_numpy(dtype=np.int64).tolist()
    starts = np.flatnonzero(np.r_[True, ranks[1:] != ranks[:-1]]).tolist() if len(ranks) else []
    ends = starts[1:] + [len(ranks)]
    served = np.zeros(len(cand), dtype=bool)
    for a, b in zip(starts, ends):
        if b - a == 1:
            s, q = sku_pos[a], qtys[a]
            if avail[s] >= q:
                avail[s] -= q
                served[a] = True
            continue
        need: dict[int, int] = {}
        for i in range(a, b):
            need[sku_pos[i]] = need.get(sku_pos[i], 0) + qtys[i]
        if all(avail[s] >= q for s, q in need.items()):
            for s, q in need.items():
                avail[s] -= q
            served[a:b] = True
    got = cand.index[served]
    short = cand.index[~served]
    status[got] = S_ALLOCATED
    status[short] = S_SHORT
    alloc_sku[got] = cand.loc[got, "sku"]
    alloc_qty[got] = cand.loc[got, "qty"]
    position = stock_position(stock, status, alloc_sku, alloc_qty)

    def keys_in_order(idx) -> list[str]:
        ks = pd.unique(cand_key[idx].to_numpy())
        return [str(k) for k in sorted(ks, key=lambda k: rank[k])]

    result = Allocation(_objects(status), _objects(alloc_sku), _objects(alloc_qty), position,
                        keys_in_order(got), keys_in_order(short),
                        [str(k) for k in released_keys.index],
                        int(pd.unique(key[keep & allocated_line].to_numpy()).size), issues)
    issues.sort(key=lambda i: (i.row if i.row is not None else -1, i.code))
    return result


# -- the shortage plan --------------------------------------------------------------------------------
MAX_ORDERS_TEXT = 1000  # characters of 等待订单 in one cell (the rest is counted)


def shortage_plan(lines: pd.DataFrame, status: pd.Series, stock: pd.DataFrame,
                  position: pd.DataFrame) -> pd.DataFrame:
    """Per SKU: demand of short orders, 可用, shortfall and the suggested production/purchase.

    demand    = sum of 数量 over 缺货 lines of the SKU
    shortfall = max(0, demand − 可用)
    suggested = max(0, demand + 安全库存 − 可用)   (= shortfall + 安全库存 when short)
    A row for every SKU with suggested > 0: 类型 缺货 when short orders wait on it (shortfall > 0),
    补货 when only 可用 has fallen below 安全库存 (the replenishment list). Sorted 缺货 first, then SKU.
    orders: the short orders needing the SKU, in service order.
    """
    short = (status == S_SHORT) & lines["sku"].isin(stock.index) & lines["qty"].map(
        lambda q: isinstance(q, int) and q > 0).astype(bool)
    sl = lines.loc[short.to_numpy(), ["order_id", "sku", "qty"]]
    demand = sl.groupby("sku")["qty"].sum().astype(np.int64) if len(sl) else pd.Series(dtype=np.int64)
    demand = demand.reindex(stock.index, fill_value=0).astype(np.int64)
    available = position["available"].astype(np.int64)
    safety = position["safety_stock"].astype(np.int64)
    shortfall = (demand - available).clip(lower=0)
    suggested = (demand + safety - available).clip(lower=0)
    keep = suggested > 0
    plan = pd.DataFrame({"sku": stock.index, "name": stock["name"].to_numpy(), "demand": demand.to_numpy(),
                         "available": available.to_numpy(), "shortfall": shortfall.to_numpy(),
                         "safety_stock": safety.to_numpy(), "suggested": suggested.to_numpy()})[keep.to_numpy()]
    plan["kind"] = np.where(plan["shortfall"] > 0, SHORT_KIND, REPLENISH_KIND)
    if len(sl):
        rank = service_rank(lines.loc[sl.index])
        sl = sl.assign(rank=order_keys(lines.loc[sl.index]).map(rank))
        waiting = sl.sort_values(["rank"], kind="stable").groupby("sku")["order_id"].agg(
            lambda s: list(dict.fromkeys(x for x in s if x)))
    else:
        waiting = pd.Series(dtype=object)
    plan["orders"] = plan["sku"].map(lambda s: waiting.get(s, []))
    plan = plan.sort_values(["kind", "sku"], key=lambda c: c.map({SHORT_KIND: 0, REPLENISH_KIND: 1})
                            if c.name == "kind" else c, kind="stable")
    return plan.reset_index(drop=True)


def orders_text(orders: list[str], limit: int = MAX_ORDERS_TEXT) -> str:
    """等待订单 as one cell: comma-separated, cut at `limit` characters with the count of the rest."""
    text = ", ".join(orders)
    if len(text) <= limit:
        return text
    shown = []
    size = 0
    for o in orders:
        if size + len(o) + 2 > limit - 20:
            break
        shown.append(o)
        size += len(o) + 2
    return ", ".join(shown) + f" … 共 {len(orders)} 单"
