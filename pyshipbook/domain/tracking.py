"""Logging tracking numbers (快递单号回填): which numbers are taken, what changes. Pure.

`plan_tracking(lines, events, records, carriers, now=…)` decides, for every
incoming record (order_id, tracking_no, carrier?), one of

* accepted  -- a new number for an order whose lines are 待发货, or already
               已发货 (a second parcel or a re-shipment is allowed);
* duplicate -- this order already has this number in 物流跟踪: a no-op, so
               re-importing the same file changes nothing;
* rejected  -- with a code: tracking.order_unknown, tracking.missing,
               tracking.unreadable, tracking.used_by_other_order,
               tracking.order_not_ready, tracking.carrier_unknown,
               tracking.carrier_mismatch, tracking.invalid.

Checks run in that order; "duplicate" is decided before the order's state is
looked at, so re-importing after delivery stays a quiet no-op.

Which courier a number is checked against: the record's own 快递公司 when the
file has one; else the number's letter prefix (SF, YT, JD, JT, DPK); else the
order's 快递公司 when it names exactly one courier; else `default_carrier`
(设置 默认快递, when the operation passes it). A numeric number with none of
these is rejected (tracking.carrier_unknown): numeric numbers are ambiguous.

What it returns (`TrackingPlan`), as data for the operation to write:

* `events`: the new 物流跟踪 rows (order_id, carrier code, tracking_no, event_at = now, event).
  物流跟踪 is the source of truth: one row per (order, number) with its courier.
* `line_updates`: per 订单 row (index) the new status / shipped_at / carrier / tracking_no.
  Several numbers of one order: 快递单号 holds them all joined by "," (no spaces; the order
  they were logged in; numbers already in the cell are kept first), and 快递公司 the distinct
  courier codes of those parcels joined by "," in the same way. 发货时间 is set once, when the
  line first becomes 已发货, and never moved by later parcels.
* `shipped`: stock leaving now, SKU -> quantity, counted only for lines that go from 待发货 to
  已发货 in this plan (the ledger 配货编码 / 配货数量 when set, else 商品编码 / 数量). A line
  already 已发货 never counts again, so stock leaves exactly once per line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from . import normalize as nz
from .carriers import (CarrierBook, carrier_code, check_tracking_number, detect_carrier,
                       normalise_tracking_number, split_tracking_numbers)
from .cells import text as _text
from .codes import Problem
from .lifecycle import EVENT_EXTRA_PARCEL, EVENT_SHIPPED, READY_STATUSES, S_AWAIT_SHIP, S_CANCELLED, S_SHIPPED
from .normalize import INVALID
from .shipping_codes import TRACKING_CODES

# -- codes: the table lives in shipping_codes.py (carriers' number checks report them too) -------------
CODES = TRACKING_CODES

EVENT_COLUMNS = ("order_id", "carrier", "tracking_no", "event_at", "event")
UPDATE_COLUMNS = ("status", "shipped_at", "carrier", "tracking_no")
JOIN = ","

Outcome = Literal["accepted", "duplicate", "rejected"]
CarrierFrom = Literal["record", "prefix", "order", "default", ""]


@dataclass(frozen=True)
class TrackingDecision:
    row: object                  # the record's row in the import file (its index)
    order_id: str | None
    tracking_no: str | None      # normalised, or the cleaned text when unreadable
    carrier: str | None          # internal code
    outcome: Outcome
    code: str | None = None
    detail: str = ""
    carrier_from: CarrierFrom = ""

    @property
    def message(self) -> str:
        if self.code is None:
            return {"accepted": "已登记 / logged", "duplicate": "已登记过, 未改动 / already logged, unchanged",
                    "rejected": ""}[self.outcome]
        return self.problem.message

    @property
    def problem(self) -> Problem | None:
        """Why it was rejected (None when it was not)."""
        if self.code is None:
            return None
        return Problem(self.code, self.row, self.order_id, self.detail,
                       {"tracking_no": self.tracking_no, "carrier": self.carrier})

    def as_dict(self) -> dict:
        return {"row": self.row, "order_id": self.order_id, "tracking_no": self.tracking_no,
                "carrier": self.carrier, "outcome": self.outcome, "code": self.code,
                "severity": CODES[self.code].severity if self.code else None, "message": self.message}


@dataclass
class TrackingPlan:
    decisions: list[TrackingDecision]
    events: pd.DataFrame                  # new 物流跟踪 rows, EVENT_COLUMNS
    line_updates: pd.DataFrame            # index = 订单 rows, UPDATE_COLUMNS (only rows that change)
    shipped: dict[str, int] = field(default_factory=dict)   # SKU -> qty leaving stock now
    shipped_rows: list = field(default_factory=list)        # 订单 rows that became 已发货 now

    def count(self, outcome: Outcome) -> int:
        return sum(d.outcome == outcome for d in self.decisions)

    @property
    def rejected(self) -> list[TrackingDecision]:
        return [d for d in self.decisions if d.outcome == "rejected"]


# -- helpers ------------------------------------------------------------------------------------------
def _frame(records) -> pd.DataFrame:
    if isinstance(records, pd.DataFrame):
        return records
    return pd.DataFrame(list(records))


def _col(frame: pd.DataFrame, key: str) -> pd.Series:
    if key in frame.columns:
        return frame[key].astype(object)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _int(v) -> int | None:
    p = nz.parse_int(v)
    return p if isinstance(p, int) and not isinstance(p, bool) else None


def _carrier_codes(cell, carriers: CarrierBook) -> list[str]:
    """Courier codes in a 快递公司 cell ("SF", "顺丰", "SF,YTO"); unknown parts kept as typed."""
    text = _text(cell)
    if not text:
        return []
    out: list[str] = []
    for part in text.replace("，", ",").replace("、", ",").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        code = carrier_code(part, carriers) or part
        if code not in out:
            out.append(code)
    return out


@dataclass
class _Order:
    rows: list                     # 订单 rows of the order, not cancelled
    statuses: list[str]
    carrier: str | None            # the one courier its lines name, if exactly one


def _orders(lines: pd.DataFrame, carriers: CarrierBook) -> dict[str, _Order]:
    ids = _col(lines, "order_id").map(_text)
    status = _col(lines, "status").map(lambda v: _text(v) or "")
    carrier = _col(lines, "carrier")
    orders: dict[str, _Order] = {}
    all_rows: dict[str, list] = {}
    for r, oid, st in zip(lines.index, ids, status):
        if not oid:
            continue
        all_rows.setdefault(oid, []).append(r)
        o = orders.setdefault(oid, _Order([], [], None))
        if st != S_CANCELLED:
            o.rows.append(r)
            o.statuses.append(st)
    for oid, o in orders.items():
        codes = {c for r in o.rows for c in _carrier_codes(carrier[r], carriers)}
        o.carrier = next(iter(codes)) if len(codes) == 1 and next(iter(codes)) in carriers else None
    return orders


def _ready(o: _Order) -> bool:
    return bool(o.rows) and all(st in READY_STATUSES for st in o.statuses)


# -- the plan -----------------------------------------------------------------------------------------
def plan_tracking(lines: pd.DataFrame, events: pd.DataFrame | Iterable[Mapping],
                  records: pd.DataFrame | Iterable[Mapping], carriers: CarrierBook, *,
                  now: dt.datetime, default_carrier: str | None = None) -> TrackingPlan:
    """Decide every incoming tracking record; see the module docstring for the rules.

    lines: 订单 (index = Excel rows) with order_id, status and, when present, carrier, tracking_no,
    shipped_at, sku, qty, alloc_sku, alloc_qty. events: 物流跟踪 rows (order_id, carrier,
    tracking_no, …). records: the import (index = its rows) with order_id, tracking_no, carrier
    (optional column). Never raises for bad cell values.
    """
    events = _frame(events)
    records = _frame(records)
    orders = _orders(lines, carriers)
    default = carrier_code(default_carrier, carriers) if default_carrier else None

    logged: set[tuple[str, str]] = set()
    owner: dict[str, str] = {}
    ev_ids, ev_nos = _col(events, "order_id").map(_text), _col(events, "tracking_no")
    for oid, cell in zip(ev_ids, ev_nos):
        for n in split_tracking_numbers(cell):
            if oid:
                logged.add((oid, n))
                owner.setdefault(n, oid)
    line_ids, line_nos = _col(lines, "order_id").map(_text), _col(lines, "tracking_no")
    status = _col(lines, "status").map(lambda v: _text(v) or "")
    for oid, cell, st in zip(line_ids, line_nos, status):
        if oid and st != S_CANCELLED:
            for n in split_tracking_numbers(cell):
                owner.setdefault(n, oid)

    decisions: list[TrackingDecision] = []
    accepted: dict[str, list[tuple[str, str]]] = {}      # order -> [(number, carrier)] in order
    shipped_now: set[str] = set()                         # orders whose first parcel is in this plan
    new_events: list[dict] = []
    rec_ids = _col(records, "order_id")
    rec_nos = _col(records, "tracking_no")
    rec_carriers = _col(records, "carrier")
    for row, raw_id, raw_no, raw_carrier in zip(records.index, rec_ids, rec_nos, rec_carriers):
        oid = _text(raw_id)

        def reject(code: str, detail: str = "", number=None, carrier=None, source: CarrierFrom = ""):
            decisions.append(TrackingDecision(row, oid, number, carrier, "rejected", code, detail, source))

        if not oid or oid not in orders:
            reject("tracking.order_unknown", oid or "")
            continue
        n = normalise_tracking_number(raw_no)
        if n is None:
            reject("tracking.missing")
            continue
        if n is INVALID:
            shown = repr(raw_no) if isinstance(raw_no, float) else (_text(raw_no) or "")[:40]
            reject("tracking.unreadable", shown, number=shown)
            continue
        if (oid, n) in logged:
            decisions.append(TrackingDecision(row, oid, n, None, "duplicate"))
            continue
        other = owner.get(n)
        if other is not None and other != oid:
            reject("tracking.used_by_other_order", f"{n} → {other}", number=n)
            continue
        order = orders[oid]
        if not _ready(order) and oid not in shipped_now:
            states = "、".join(sorted(set(order.statuses))) or S_CANCELLED
            reject("tracking.order_not_ready", states, number=n)
            continue
        named = _text(raw_carrier)
        if named:
            chosen, source = named, "record"
        elif detect_carrier(n, carriers):
            chosen, source = detect_carrier(n, carriers), "prefix"
        elif order.carrier:
            chosen, source = order.carrier, "order"
        elif default:
            chosen, source = default, "default"
        else:
            chosen, source = None, ""
        check = check_tracking_number(n, chosen, carriers)
        if not check.ok:
            reject(check.code, check.detail, number=n, carrier=check.carrier, source=source)
            continue
        first = oid not in shipped_now and any(st == S_AWAIT_SHIP for st in order.statuses)
        if first:
            shipped_now.add(oid)
        logged.add((oid, n))
        owner[n] = oid
        accepted.setdefault(oid, []).append((n, check.carrier))
        new_events.append({"order_id": oid, "carrier": check.carrier, "tracking_no": n, "event_at": now,
                           "event": EVENT_SHIPPED if first else EVENT_EXTRA_PARCEL})
        decisions.append(TrackingDecision(row, oid, n, check.carrier, "accepted", carrier_from=source))

    updates, shipped, shipped_rows = _line_updates(lines, orders, accepted, carriers, now)
    return TrackingPlan(decisions, pd.DataFrame(new_events, columns=list(EVENT_COLUMNS), dtype=object),
                        updates, shipped, shipped_rows)


def _line_updates(lines: pd.DataFrame, orders: dict[str, _Order], accepted: dict[str, list[tuple[str, str]]],
                  carriers: CarrierBook, now: dt.datetime):
    status = _col(lines, "status").map(lambda v: _text(v) or "")
    nos, carrier_cells, shipped_at = _col(lines, "tracking_no"), _col(lines, "carrier"), _col(lines, "shipped_at")
    sku, qty = _col(lines, "sku").map(_text), _col(lines, "qty")
    alloc_sku, alloc_qty = _col(lines, "alloc_sku").map(_text), _col(lines, "alloc_qty")
    rows_out: dict[object, dict] = {}
    shipped: dict[str, int] = {}
    shipped_rows: list = []
    for oid, parcels in accepted.items():
        for r in orders[oid].rows:
            numbers = split_tracking_numbers(nos[r])
            codes = _carrier_codes(carrier_cells[r], carriers)
            for n, c in parcels:
                if n not in numbers:
                    numbers.append(n)
                if c not in codes:
                    codes.append(c)
            new = {"status": status[r], "shipped_at": shipped_at[r],
                   "carrier": JOIN.join(codes), "tracking_no": JOIN.join(numbers)}
            if status[r] == S_AWAIT_SHIP:
                new["status"] = S_SHIPPED
                new["shipped_at"] = now
                shipped_rows.append(r)
                s, q = (alloc_sku[r], _int(alloc_qty[r])) if alloc_sku[r] and _int(alloc_qty[r]) else \
                    (sku[r], _int(qty[r]))
                if s and q:
                    shipped[s] = shipped.get(s, 0) + q
            elif nz._is_missing(new["shipped_at"]):
                new["shipped_at"] = now
            old = {"status": status[r], "shipped_at": shipped_at[r], "carrier": _text(carrier_cells[r]) or "",
                   "tracking_no": _text(nos[r]) or ""}
            if any(not _same(new[k], old[k]) for k in UPDATE_COLUMNS):
                rows_out[r] = new
    frame = pd.DataFrame.from_dict(rows_out, orient="index", columns=list(UPDATE_COLUMNS), dtype=object)
    if not rows_out:
        frame = pd.DataFrame(columns=list(UPDATE_COLUMNS), dtype=object)
    return frame, shipped, shipped_rows


def _same(a, b) -> bool:
    if nz._is_missing(a) and nz._is_missing(b):
        return True
    if nz._is_missing(a) or nz._is_missing(b):
        return False
    return a == b


def apply_plan(lines: pd.DataFrame, events: pd.DataFrame, plan: TrackingPlan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 订单 and 物流跟踪 frames after the plan (what the operation writes), as new frames."""
    out = lines.copy()
    for key in UPDATE_COLUMNS:
        if key not in out.columns:
            out[key] = None
        out[key] = out[key].astype(object)
    for r, upd in plan.line_updates.iterrows():
        for key in UPDATE_COLUMNS:
            out.at[r, key] = upd[key]
    ev = _frame(events)
    if plan.events.empty:
        return out, ev.copy()
    if ev.empty:
        return out, plan.events.copy()
    return out, pd.concat([ev, plan.events], ignore_index=True)
