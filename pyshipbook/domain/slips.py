"""Outbound slips (出库单): which lines go on a slip, numbering, the content fingerprint, the printed page.

Pure: frames in, frames and data out.

The fingerprint (`fingerprint`, `canonical_form`) is what a signature signs:
the signature workflow recomputes it from the order lines to detect edits made
after a slip was made or signed. It must therefore stay stable; the canonical
form is versioned (CANONICAL_VERSION) and any change to it needs a new version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from .allocation import ledger_matches, line_problems, order_keys, service_rank
from .codes import Problem
from .lifecycle import (HOLDING_STATUSES, OPEN_STATUSES, S_ALLOCATED, S_CANCELLED, SLIP_PREFIX,
                        WAITING_STATUSES)
from .printing import Box, CellStyle, PrintCell, PrintPage

# -- the content fingerprint ----------------------------------------------------------------------
CANONICAL_VERSION = "shipbook-slip-v1"
FINGERPRINT_FIELDS = ("order_id", "sku", "qty", "recipient", "phone", "address")
FIELD_SEP = "\x1f"   # ASCII unit separator, between the fields of a line
LINE_SEP = "\x1e"    # ASCII record separator, after every line
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")   # Unicode categories Cc, Zl, Zp
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")   # zero-width characters (dropped, as clean_text does)


def canonical_value(v) -> str:
    """One field as canonical text.

    Blank (None, NaN, "") -> "". Whole numbers (2, 2.0) -> "2"; other numbers -> repr of the float.
    Text -> NFKC (full-width letters and digits become half-width, no-break and ideographic spaces
    plain spaces), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) dropped, control and
    line/paragraph separator characters made spaces, every run of whitespace one space, stripped
    (so cleaned and raw cell text give the same form). So 'ＷＳ1001 ', 'WS1001' are the same, while
    any change a person would see (another digit, another character) changes the text.
    """
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFKC", str(v))))
    return _SPACES.sub(" ", text).strip()


def canonical_form(lines: pd.DataFrame) -> str:
    """The canonical text of a slip's lines (what `fingerprint` hashes).

    lines: one row per order line with the columns FINGERPRINT_FIELDS (order_id, sku, qty,
    recipient, phone, address); other columns and the row order are ignored.

    Form: CANONICAL_VERSION, then "\\n", then for every line its fields in FINGERPRINT_FIELDS order,
    each `canonical_value`, joined by FIELD_SEP (\\x1f), followed by LINE_SEP (\\x1e). Lines are sorted
    by their canonical field tuples, so the same content in any row order gives the same form;
    separators are control characters, which `canonical_value` never leaves in a field, so no
    field can imitate a boundary.
    """
    missing = [f for f in FINGERPRINT_FIELDS if f not in lines.columns]
    if missing:
        raise KeyError(f"canonical_form needs columns {missing}")
    columns = []
    for f in FINGERPRINT_FIELDS:   # each distinct value made canonical once (addresses repeat per order)
        cache: dict = {}
        out = []
        for v in lines[f].tolist():
            k = (type(v), v)
            try:
                c = cache[k]
            except KeyError:
                c = cache[k] = canonical_value(v)
            except TypeError:   # an unhashable cell value
                c = canonical_value(v)
            out.append(c)
        columns.append(out)
    records = sorted(zip(*columns))
    return CANONICAL_VERSION + "\n" + "".join(FIELD_SEP.join(r) + LINE_SEP for r in records)


def fingerprint(lines: pd.DataFrame) -> str:
    """SHA-256 (hex, 64 characters) of `canonical_form(lines)` encoded as UTF-8."""
    return hashlib.sha256(canonical_form(lines).encode("utf-8")).hexdigest()


# -- numbering -----------------------------------------------------------------------------------
SLIP_NO = re.compile(rf"{SLIP_PREFIX}(\d{{8}})-(\d{{3,}})")


def slip_number(day: dt.date, n: int) -> str:
    return f"{SLIP_PREFIX}{day:%Y%m%d}-{n:03d}"


def next_slip_numbers(seen: Iterable[object], day: dt.date, count: int) -> list[str]:
    """`count` new numbers CKyyyymmdd-NNN for `day`, after every number of that day found in `seen`.

    seen: any texts that may contain slip numbers (slip sheets, 订单 出库单号, 日志 messages, the
    设置 row): a number ever issued is never issued again, even if its slip row was deleted.
    """
    stamp = f"{day:%Y%m%d}"
    top = 0
    for text in seen:
        if not isinstance(text, str):
            continue
        for m in SLIP_NO.finditer(text):
            if m.group(1) == stamp:
                top = max(top, int(m.group(2)))
    return [slip_number(day, k) for k in range(top + 1, top + count + 1)]


# -- choosing the lines --------------------------------------------------------------------------
@dataclass
class SlipDraft:
    slip_no: str
    order_ids: list[str]
    lines: pd.DataFrame      # order-line rows in pick order, with location, name, spec from 库存
    pieces: int
    amount: float
    fingerprint: str


@dataclass
class SlipPlan:
    groups: list[list[object]] = field(default_factory=list)   # order keys per slip, service order
    lines: pd.DataFrame | None = None                          # eligible lines (index = 订单 rows)
    issues: list[Problem] = field(default_factory=list)


def plan_slips(lines: pd.DataFrame, stock: pd.DataFrame, max_orders: int | None = None) -> SlipPlan:
    """Allocated lines not yet on a slip, as whole orders in service order, `max_orders` per slip.

    A line qualifies when it is 已配货, has no 出库单号, and its ledger (配货编码/配货数量) still
    matches its 商品编码 and 数量. An order goes on a slip only when every line of it that is still
    in play (not cancelled, not shipped) qualifies; otherwise it is reported (slip.order_changed).
    """
    st = lines["status"]
    key = order_keys(lines)
    ok = ((st == S_ALLOCATED) & lines["slip_no"].isna() & ledger_matches(lines)
          & (line_problems(lines, stock) == "")).astype(bool)
    in_play = st.isin(OPEN_STATUSES | WAITING_STATUSES | HOLDING_STATUSES) & (st != S_CANCELLED)
    flags = pd.DataFrame({"ok": ok, "bad": in_play & ~ok}, index=lines.index)
    per_order = flags.groupby(key.to_numpy(), sort=False).any()
    o = per_order.reindex(key.to_numpy()).set_axis(lines.index)
    eligible = ok & ~o["bad"]
    issues = []
    refused = (st == S_ALLOCATED) & lines["slip_no"].isna() & o["bad"]
    if refused.any():
        bad_rows = (in_play & ~ok & key.isin(set(key[refused]))).to_numpy()
        bad = pd.DataFrame({"key": key[bad_rows].to_numpy(), "row": lines.index[bad_rows],
                            "status": st[bad_rows].to_numpy()})
        for k, g in bad.groupby("key", sort=False):
            first = int(g["row"].iloc[0])
            states = "、".join(f"行{r} {s}" for r, s in zip(g["row"].head(5), g["status"].head(5)))
            issues.append(Problem("slip.order_changed", first, lines.at[first, "order_id"], states))
    chosen = lines.loc[eligible.to_numpy()]
    plan = SlipPlan(lines=chosen, issues=issues)
    if chosen.empty:
        return plan
    rank = service_rank(chosen)
    keys = list(rank.index)   # already in service order
    size = max_orders if max_orders and max_orders > 0 else len(keys)
    plan.groups = [keys[i:i + size] for i in range(0, len(keys), size)]
    return plan


def draft_slips(plan: SlipPlan, stock: pd.DataFrame, numbers: list[str]) -> list[SlipDraft]:
    """One SlipDraft per group of `plan`, numbered by `numbers`; lines in pick order (库位, SKU)."""
    chosen = plan.lines
    key = order_keys(chosen)
    rank = {k: i for i, k in enumerate(k for g in plan.groups for k in g)}
    loc = chosen["sku"].map(stock["location"]).astype(object)
    enriched = chosen.assign(
        location=loc.where(loc.notna(), None),
        name=chosen["product_name"].where(chosen["product_name"].notna(), chosen["sku"].map(stock["name"])),
        spec_text=chosen["spec"].where(chosen["spec"].notna(), chosen["sku"].map(stock["spec"])),
        _order=key.map(rank), _row=chosen.index, _noloc=loc.isna())
    drafts = []
    for slip_no, group in zip(numbers, plan.groups):
        part = enriched[key.isin(group).to_numpy()]
        part = part.sort_values(["_noloc", "location", "sku", "_order", "_row"], kind="stable",
                                key=lambda c: c.fillna("") if c.dtype == object else c)
        amount = round(float(np.nansum(part["amount"].astype(float).to_numpy())), 2)
        order_ids = part.sort_values(["_order", "_row"]).drop_duplicates("_order")["order_id"].map(str).tolist()
        drafts.append(SlipDraft(slip_no, order_ids, part, int(part["qty"].astype(np.int64).sum()), amount,
                                fingerprint(part)))
    return drafts


# -- the printed slip -----------------------------------------------------------------------------
@dataclass
class SlipPrint:
    """What a printed slip shows (from 出库单 and 出库明细)."""

    slip_no: str
    date: str
    maker: str
    orders: int
    pieces: int
    amount: float
    company: str
    lines: list[dict]          # location, sku, name, spec, qty, order_id, recipient
    fingerprint: str = ""
    state: str = ""


DEFAULT_STYLES = {
    "title": CellStyle(size=18, bold=True, align="center"),
    "subtitle": CellStyle(size=9, align="center"),
    "info": CellStyle(size=10, align="left"),
    "info_right": CellStyle(size=10, align="right"),
    "head": CellStyle(size=10, bold=True, align="center", border="all", fill="D9E1F2", wrap=True),
    "cell": CellStyle(size=10, align="left", border="all", wrap=True, indent=0),
    "cell_center": CellStyle(size=10, align="center", border="all"),
    "cell_number": CellStyle(size=10, align="right", border="all", number_format="0", indent=1),
    "total": CellStyle(size=10, bold=True, align="right", border="all", indent=1),
    "total_number": CellStyle(size=10, bold=True, align="right", border="all", number_format="0", indent=1),
    "total_text": CellStyle(size=10, bold=True, align="left", border="all", indent=1),
    "sign_role": CellStyle(size=11, bold=True, align="center", valign="center"),
    "sign_line": CellStyle(size=10, align="left", valign="bottom", indent=1),
    "note": CellStyle(size=9, align="left", wrap=True),
}


def text_width(text: str) -> float:
    """Approximate width at 10 pt in Excel column units (widths of '0' in the default font):
    an East Asian wide character ≈ 1.75, anything else ≈ 0.85."""
    return sum(1.75 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.85 for ch in text)


def text_lines(text: str, width: float) -> int:
    """Lines `text` needs when wrapped in a column `width` units wide."""
    return max(1, math.ceil(text_width(text) / max(1.0, width - 0.3)))


def _fmt(template: str, values: dict) -> str:
    """str.format over our own template text; values are plain strings (user text is never a template)."""
    return template.format_map(values)


def slip_page(layout: dict, slip: SlipPrint, *, sheet: str) -> PrintPage:
    """Lay out one slip on the print sheet named `sheet` following `layout` (templates/slip/slip.toml)."""
    columns = layout["columns"]
    ncols = len(columns)
    values = {"company": slip.company, "slip_no": slip.slip_no, "date": slip.date, "maker": slip.maker,
              "orders": str(slip.orders), "pieces": str(slip.pieces), "amount": f"{slip.amount:,.2f}",
              "lines": str(len(slip.lines)), "fingerprint": slip.fingerprint[:16], "state": slip.state}
    cells: list[PrintCell] = []
    heights: dict[int, float] = {}
    boxes: list[Box] = []
    r = 1
    title = layout.get("title", {})
    text = _fmt(title.get("text", "{company}出库单"), values) if slip.company else title.get("plain", "出库单")
    cells.append(PrintCell(r, 1, text, "title", r, ncols))
    heights[r] = float(title.get("height", 30))
    r += 1
    if title.get("subtitle"):
        cells.append(PrintCell(r, 1, _fmt(title["subtitle"], values), "subtitle", r, ncols))
        r += 1
    info = layout.get("info", {})
    spans = info.get("spans", [[1, ncols]])
    for texts in info.get("rows", []):
        for (a, b), t in zip(spans, texts):
            cells.append(PrintCell(r, a, _fmt(t, values), "info", r, b))
        heights[r] = float(info.get("height", 18))
        r += 1
    r += 1   # a gap before the table
    header_row = r
    for c, col in enumerate(columns, 1):
        cells.append(PrintCell(r, c, col["header"], "head"))
    heights[r] = float(layout.get("header_height", 20))
    r += 1
    styles_for = {"left": "cell", "center": "cell_center", "right": "cell_number"}
    line_height = float(layout.get("line_height", 15))
    for i, line in enumerate(slip.lines, 1):
        row_values = {**line, "seq": i, "check": ""}
        wrapped = 1
        for c, col in enumerate(columns, 1):
            v = row_values.get(col["key"])
            cells.append(PrintCell(r, c, "" if v is None else v, styles_for[col.get("align", "left")]))
            if isinstance(v, str) and col.get("align", "left") == "left":
                wrapped = max(wrapped, text_lines(v, float(col.get("width", 10))))
        if wrapped > 1:   # no spreadsheet grows a row for wrapped text on its own when printing from a file
            heights[r] = line_height * wrapped
        r += 1
    totals = layout.get("totals", {})
    qty_col = next((c for c, col in enumerate(columns, 1) if col["key"] == "qty"), ncols)
    if qty_col > 1:
        cells.append(PrintCell(r, 1, totals.get("label", "合计"), "total", r, qty_col - 1))
    cells.append(PrintCell(r, qty_col, slip.pieces, "total_number"))
    if qty_col < ncols:
        cells.append(PrintCell(r, qty_col + 1, _fmt(totals.get("text", ""), values), "total_text", r, ncols))
    heights[r] = 20.0
    r += 2
    sig = layout.get("signatures", {})
    sig_spans = sig.get("spans", spans)
    sig_lines = sig.get("lines", ["签字:", "日期:"])
    for (a, b), role in zip(sig_spans, sig.get("roles", [])):
        cells.append(PrintCell(r, a, role, "sign_role", r, b))
        for k, t in enumerate(sig_lines, 1):
            cells.append(PrintCell(r + k, a, t, "sign_line", r + k, b))
        boxes.append(Box(r, a, r + len(sig_lines), b))
    heights[r] = float(sig.get("role_height", 22))
    for k in range(1, len(sig_lines) + 1):
        heights[r + k] = float(sig.get("height", 30))
    r += len(sig_lines) + 1
    if layout.get("note"):
        r += 1
        cells.append(PrintCell(r, 1, _fmt(layout["note"], values), "note", r, ncols))
        heights[r] = float(layout.get("note_height", 28))
    page = layout.get("page", {})
    return PrintPage(
        sheet=sheet, cells=cells, styles=dict(DEFAULT_STYLES),
        widths=[float(col.get("width", 10)) for col in columns], heights=heights, boxes=boxes,
        title_rows=(1, header_row), paper=page.get("paper", "A4"), landscape=bool(page.get("landscape", False)),
        fit_to_width=bool(page.get("fit_to_width", True)),
        margins_cm={**{"left": 1.5, "right": 1.5, "top": 1.5, "bottom": 1.5}, **page.get("margins_cm", {})},
        footer=_fmt(page.get("footer", ""), {k: v.replace("&", "&&") for k, v in values.items()}),
        font=page.get("font", "等线"), pdf_font=page.get("pdf_font", "Noto Sans CJK SC"))
