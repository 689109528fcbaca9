"""看板 (dashboard): the figures, from the order lines and the sheets the macros write. Pure.

Lines and orders by 状态 (an order counts under the earliest state of its
lines that are not cancelled; all cancelled: 已取消), today's movements (from
the date columns: 付款时间, 发货时间, 签收时间; 出库单 日期 and signature
times), shortages and replenishment (缺货, by 类型), slips waiting for a signature (出库单 with an empty
财务总监签字 or 物流总监签字), orders shipped more than STALE_DAYS ago with no
tracking event (物流跟踪), and the last SERIES_DAYS days' shipments.

The sheet is rows of 项目 | 数值 | 说明 (`rows`); the 14-day series is a
table in it that the chart draws from (`series_items`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from . import normalize as nz
from .lifecycle import (COD, PAYMENT_SYNONYMS, REPLENISH_KIND, S_ALLOCATED, S_CANCELLED, S_PENDING_CHECK,
                        S_SHIPPED, S_SHORT, SHORT_KIND, STATUSES, VOID_SLIP_WORDS)

STALE_DAYS = 3
SERIES_DAYS = 14
SERIES_TITLE = f"近{SERIES_DAYS}天发货 (订单数)"
RANK = {s: i for i, s in enumerate(STATUSES)}


@dataclass
class Dashboard:
    rows: list[tuple[str, float | int | None, str | None]] = field(default_factory=list)
    series: list[tuple[dt.date, int]] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["item", "value", "note"], dtype=object)

    @property
    def series_items(self) -> list[str]:
        return [series_label(d) for d, _ in self.series]


def series_label(d: dt.date) -> str:
    return f"{d:%m-%d}"


def _dates(values: pd.Series, ref_year: int) -> pd.Series:
    parsed = nz.parse_datetimes(values, ref_year)
    return parsed.map(lambda t: t if isinstance(t, dt.datetime) else None)


def _texts(values: pd.Series) -> pd.Series:
    return nz.clean_texts(values)


def _empty(v) -> bool:
    return nz.clean_text(v) is None


def _day(t) -> dt.date | None:
    return t.date() if isinstance(t, dt.datetime) else None


def order_status(statuses: pd.Series, order_ids: pd.Series) -> pd.Series:
    """order id -> its state: the earliest lifecycle state of its lines not cancelled (all cancelled: 已取消)."""
    out = {}
    frame = pd.DataFrame({"o": order_ids, "s": statuses})
    for oid, g in frame.dropna(subset=["o"]).groupby("o", sort=True):
        live = [s for s in g["s"] if s != S_CANCELLED]
        if not live:
            out[oid] = S_CANCELLED
        else:
            out[oid] = min(live, key=lambda s: RANK.get(s, -1))
    return pd.Series(out, dtype=object)


def build(orders: pd.DataFrame, *, now: dt.datetime, slips: pd.DataFrame | None = None,
          tracking: pd.DataFrame | None = None, shortages: pd.DataFrame | None = None,
          user: str = "") -> Dashboard:
    today = now.date()
    year = today.year
    oid = _texts(orders["order_id"])
    status = _texts(orders["status"]).map(lambda s: s or S_PENDING_CHECK)
    pay = _texts(orders["payment_status"]).map(lambda v: PAYMENT_SYNONYMS.get(v.casefold(), v) if v else None)
    paid_at = _dates(orders["paid_at"], year)
    ordered_at = _dates(orders["ordered_at"], year)
    shipped_at = _dates(orders["shipped_at"], year)
    delivered_at = _dates(orders["delivered_at"], year)
    live = status != S_CANCELLED
    d = Dashboard()
    rows = d.rows
    rows.append(("看板更新时间", None, f"{now:%Y-%m-%d %H:%M}" + (f" · {user}" if user else "")))

    # -- by status ----------------------------------------------------------------
    known = list(STATUSES) + sorted(set(status) - set(STATUSES))
    by_line = status.value_counts()
    ostat = order_status(status, oid)
    by_order = ostat.value_counts()
    rows.append(("【订单行按状态】", None, "每一行订单 (商品) 一个状态"))
    for s in known:
        rows.append((f"行 · {s}", int(by_line.get(s, 0)), None if s in RANK else "不在流程中的状态"))
    rows.append(("行 · 合计", int(len(status)), None))
    rows.append(("【订单按状态】", None, "订单按其最靠前的一行状态计 (已取消的行不计)"))
    for s in known:
        rows.append((f"订单 · {s}", int(by_order.get(s, 0)), None))
    no_id = int(oid.isna().sum())
    rows.append(("订单 · 合计", int(len(ostat)), f"另有 {no_id} 行没有订单号" if no_id else None))
    d.data["lines_by_status"] = {s: int(by_line.get(s, 0)) for s in known}
    d.data["orders_by_status"] = {s: int(by_order.get(s, 0)) for s in known}

    # -- today ---------------------------------------------------------------------
    rows.append((f"【今日 {today:%Y-%m-%d}】", None, None))
    cod = pay.map(lambda v: v == COD).astype(bool)
    pay_time = pd.Series([o if c else p for c, o, p in zip(cod, ordered_at, paid_at)], index=orders.index,
                         dtype=object)
    today_mask = lambda times: times.map(lambda t: _day(t) == today).astype(bool)  # noqa: E731
    today_data: dict[str, dict] = {}

    def count_orders(key: str, label: str, mask: pd.Series, note: str = "") -> None:
        n_orders = int(oid[mask].dropna().nunique())
        n_lines = int(mask.sum())
        today_data[key] = {"orders": n_orders, "lines": n_lines}
        rows.append((label, n_orders, f"{n_lines} 行" + (f"; {note}" if note else "")))

    count_orders("paid", "今日付款 (订单)", today_mask(pay_time) & live, "货到付款按下单时间")
    if "allocated_at" in orders.columns:
        count_orders("allocated", "今日配货 (订单)", today_mask(_dates(orders["allocated_at"], year)) & live)
    else:
        mask = status == S_ALLOCATED
        n_orders = int(oid[mask].dropna().nunique())
        today_data["allocated"] = {"orders": n_orders, "lines": int(mask.sum()), "current": True}
        rows.append(("已配货待开单 (订单)", n_orders, f"{int(mask.sum())} 行; 订单表没有配货时间, 显示当前数"))
    slips_today = _slips_today(slips, today, year)
    today_data["slipped"] = slips_today["slipped"]
    rows.append(("今日开单 (出库单)", slips_today["slipped"]["slips"],
                 f"{slips_today['slipped']['orders']} 单, {slips_today['slipped']['pieces']} 件"))
    today_data["signed"] = slips_today["signed"]
    rows.append(("今日签字 (次)", slips_today["signed"]["signatures"],
                 f"其中 {slips_today['signed']['completed']} 张出库单今日签齐"))
    count_orders("shipped", "今日发货 (订单)", today_mask(shipped_at))
    count_orders("delivered", "今日签收 (订单)", today_mask(delivered_at))
    d.data["today"] = today_data

    # -- shortages -------------------------------------------------------------------
    short_lines = status == S_SHORT
    rows.append(("【缺货】", None, "来自 缺货 表 (检查库存 / 缺货 按钮生成)"))
    plan = _shortages(shortages)
    short = [s for s in plan if s["kind"] != REPLENISH_KIND]
    replenish = [s for s in plan if s["kind"] == REPLENISH_KIND]
    rows.append(("缺货商品 (SKU)", len(short),
                 f"缺货状态的订单行 {int(short_lines.sum())} 行, {int(oid[short_lines].dropna().nunique())} 单"))
    for s in short:
        rows.append((f"缺货 · {s['sku']} {s['name'] or ''}".rstrip(), s["shortfall"],
                     f"缺口; 需求 {_n(s['demand'])}, 可用 {_n(s['available'])}, 建议生产/采购 {_n(s['suggested'])}"
                     + (f"; 等待订单 {s['orders']}" if s["orders"] else "")))
    rows.append(("需补货商品 (SKU)", len(replenish), "可用低于安全库存"))
    for s in replenish:
        rows.append((f"补货 · {s['sku']} {s['name'] or ''}".rstrip(), s["suggested"],
                     f"建议生产/采购; 可用 {_n(s['available'])}, 安全库存 {_n(s['safety_stock'])}"))
    d.data["shortages"] = short
    d.data["replenish"] = replenish

    # -- slips waiting for a signature -------------------------------------------------
    waiting = _waiting(slips, year)
    rows.append(("【待签字出库单】", None, None))
    n_fin = sum("财务总监" in w["waiting_for"] for w in waiting)
    n_log = sum("物流总监" in w["waiting_for"] for w in waiting)
    rows.append(("待签字出库单", len(waiting), f"待财务总监 {n_fin}, 待物流总监 {n_log}"))
    for w in waiting:
        rows.append((f"待签字 · {w['slip_no']}", w["orders"],
                     f"等待 {'、'.join(w['waiting_for'])} 签字"
                     + (f"; {w['date']}" if w["date"] else "") + (f"; {w['pieces']} 件" if w["pieces"] else "")))
    d.data["awaiting_signature"] = waiting

    # -- shipped, no tracking event ------------------------------------------------------
    stale = _stale(orders, oid, status, shipped_at, tracking, now)
    rows.append((f"【异常: 发货超过 {STALE_DAYS} 天无物流跟踪】", None, None))
    rows.append(("发货超时无跟踪 (订单)", len(stale), f"状态 已发货, 发货时间早于 {STALE_DAYS} 天前, 物流跟踪中没有事件"))
    for s in stale:
        rows.append((f"异常 · {s['order_id']}", s["days"],
                     f"已发货 {s['days']} 天 ({s['shipped_at'][:16]})"
                     + (f", {s['carrier']}" if s["carrier"] else "")
                     + (f" {s['tracking_no']}" if s["tracking_no"] else "") + ", 无物流跟踪"))
    d.data["stale_shipments"] = stale

    # -- the last 14 days' shipments -----------------------------------------------------
    days = [today - dt.timedelta(days=i) for i in range(SERIES_DAYS - 1, -1, -1)]
    shipped_day = shipped_at.map(_day)
    per_day = (pd.DataFrame({"o": oid, "d": shipped_day}).dropna().drop_duplicates()
               .groupby("d").size().to_dict())
    d.series = [(day, int(per_day.get(day, 0))) for day in days]
    rows.append((f"【{SERIES_TITLE}】", None, f"{days[0]:%Y-%m-%d} 至 {days[-1]:%Y-%m-%d}, 按发货时间"))
    for day, n in d.series:
        rows.append((series_label(day), n, None))
    d.data["shipments"] = [{"date": day.isoformat(), "orders": n} for day, n in d.series]
    return d


def _n(v) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def _num(v):
    p = nz.parse_number(v)
    if isinstance(p, float):
        return int(p) if p.is_integer() else p
    return None


def _shortages(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    out = []
    for r in frame.itertuples():
        sku = nz.clean_text(r.sku)
        if not sku:
            continue
        demand, available, shortfall = _num(r.demand), _num(r.available), _num(r.shortfall)
        if shortfall is None and demand is not None and available is not None:
            shortfall = max(demand - available, 0)
        kind = nz.clean_text(getattr(r, "kind", None)) or SHORT_KIND
        out.append({"sku": sku, "name": nz.clean_text(r.name), "kind": kind, "demand": demand,
                    "available": available, "shortfall": shortfall, "safety_stock": _num(r.safety_stock),
                    "suggested": _num(r.suggested), "orders": nz.clean_text(r.orders)})
    return out


def _live_slips(slips: pd.DataFrame | None) -> pd.DataFrame | None:
    if slips is None or slips.empty:
        return None
    state = slips["state"].map(lambda v: (nz.clean_text(v) or "").casefold())
    void = state.map(lambda s: any(w in s for w in VOID_SLIP_WORDS))
    keep = slips[~void.astype(bool) & slips["slip_no"].map(lambda v: not _empty(v)).astype(bool)]
    return keep if not keep.empty else None


def _slips_today(slips: pd.DataFrame | None, today: dt.date, year: int) -> dict:
    out = {"slipped": {"slips": 0, "orders": 0, "pieces": 0}, "signed": {"signatures": 0, "completed": 0}}
    live = _live_slips(slips)
    if live is None:
        return out
    made = _dates(live["date"], year).map(_day) == today
    out["slipped"] = {"slips": int(made.sum()),
                      "orders": int(sum(_num(v) or 0 for v in live.loc[made, "orders"])),
                      "pieces": int(sum(_num(v) or 0 for v in live.loc[made, "pieces"]))}
    fin = _dates(live["finance_signed_at"], year)
    log = _dates(live["logistics_signed_at"], year)
    fin_ok = live["finance_signer"].map(lambda v: not _empty(v))
    log_ok = live["logistics_signer"].map(lambda v: not _empty(v))
    sig_today = int(((fin.map(_day) == today) & fin_ok).sum() + ((log.map(_day) == today) & log_ok).sum())
    both = fin_ok & log_ok
    last = [max(a, b) if a and b else None for a, b in zip(fin, log)]
    completed = int(sum(1 for ok, t in zip(both, last) if ok and t is not None and t.date() == today))
    out["signed"] = {"signatures": sig_today, "completed": completed}
    return out


def _waiting(slips: pd.DataFrame | None, year: int) -> list[dict]:
    live = _live_slips(slips)
    if live is None:
        return []
    out = []
    dates = _dates(live["date"], year)
    for (row, r), when in zip(live.iterrows(), dates):
        need = [role for role, key in (("财务总监", "finance_signer"), ("物流总监", "logistics_signer"))
                if _empty(r[key])]
        if need:
            out.append({"row": int(row), "slip_no": nz.clean_text(r["slip_no"]), "waiting_for": need,
                        "date": f"{when:%Y-%m-%d}" if when else None,
                        "orders": _num(r["orders"]), "pieces": _num(r["pieces"])})
    return out


def _stale(orders: pd.DataFrame, oid: pd.Series, status: pd.Series, shipped_at: pd.Series,
           tracking: pd.DataFrame | None, now: dt.datetime) -> list[dict]:
    limit = now - dt.timedelta(days=STALE_DAYS)
    with_events: set[str] = set()
    if tracking is not None and not tracking.empty:
        has_event = [not (_empty(e) and _empty(t)) for e, t in zip(tracking["event"], tracking["event_at"])]
        with_events = set(_texts(tracking["order_id"])[has_event].dropna())
    out: dict[str, dict] = {}
    frame = pd.DataFrame({"o": oid, "s": status, "t": shipped_at}, index=orders.index)
    for o, g in frame[frame["s"] == S_SHIPPED].dropna(subset=["o"]).groupby("o", sort=True):
        times = [t for t in g["t"] if t is not None]
        if not times or o in with_events:
            continue
        shipped = max(times)
        if shipped >= limit:
            continue
        first = g.index[0]
        out[o] = {"order_id": o, "shipped_at": shipped.isoformat(sep=" "), "days": (now - shipped).days,
                  "carrier": nz.clean_text(orders.at[first, "carrier"]),
                  "tracking_no": nz.clean_text(orders.at[first, "tracking_no"]), "rows": [int(r) for r in g.index]}
    return list(out.values())
