"""What both workbook adapters share: header finding, settings, highlight rules.

Kept here so the openpyxl adapter (xlsx.py) and the xlwings adapter (live.py)
cannot drift apart: they differ only in how they reach cells.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable

import pandas as pd

from ..errors import ShipbookError

from .schema import SETTING_BY_ITEM, SETTING_BY_KEY, SETTINGS, SETTINGS_ROWS, Sheet, header_lookup, \
    normalise_header

HEADER_SCAN_ROWS = 6
# Our conditional-format rules search the check column for "[code]" (Excel reports them with a leading "=").
CF_MARK = re.compile(r'^=?(OR\()?ISNUMBER\(SEARCH\("[^"]*\[[a-z_]+\.[a-z_]+\]"')


def blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == "") \
        or v is pd.NaT


def is_our_rule(formula) -> bool:
    return isinstance(formula, str) and bool(CF_MARK.match(formula))


def search_literal(text: str) -> str:
    """A literal for an Excel formula string (SEARCH treats ? * ~ as wildcards)."""
    return text.replace("~", "~~").replace("?", "~?").replace("*", "~*").replace('"', '""')


def highlight_formula(tokens: Iterable[str], check_cell: str) -> str:
    """True when the check cell names one of the tokens (e.g. "[phone.invalid]")."""
    tests = [f'ISNUMBER(SEARCH("{search_literal(t)}",{check_cell}))' for t in tokens]
    return tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"


def find_header(rows: Iterable[Iterable], sheet: Sheet, extra_aliases=None) -> tuple[int, dict[str, int]]:
    """The header row among the first rows: the one naming most contract columns -> (row, key -> column)."""
    lookup = header_lookup(sheet, extra_aliases)
    best_row, best = 1, {}
    for r, values in enumerate(rows, 1):
        if r > HEADER_SCAN_ROWS:
            break
        found: dict[str, int] = {}
        for c, v in enumerate(values, 1):
            key = lookup.get(normalise_header(v))
            if key and key not in found:
                found[key] = c
        if len(found) > len(best):
            best_row, best = r, found
    return best_row, best


def require_columns(sheet: Sheet, cols: dict[str, int], required: Iterable[str]) -> None:
    """A sheet lacking a column the operation needs cannot be worked on: say which, in both languages."""
    missing = [k for k in required if k not in cols]
    if missing:
        names = "、".join(sheet.column(k).header for k in missing)
        raise ShipbookError(f"工作表「{sheet.name}」缺少列: {names}",
                            f"sheet '{sheet.name}' lacks column(s): {', '.join(missing)}")


def setting_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, dt.datetime):
        return v.strftime("%H:%M") if v.date() == dt.date(1899, 12, 30) else v.isoformat(" ")
    return str(v).strip()


class SettingsMixin:
    """设置 through the Book interface itself (read_table / write_columns / append_rows)."""

    def read_settings(self) -> dict[str, str]:
        out = {s.key: s.default for s in SETTINGS_ROWS}
        if not self.has_sheet(SETTINGS):
            return out
        t = self.read_table(SETTINGS)
        for item, value in zip(t.frame["item"], t.frame["value"]):
            if blank(item):
                continue
            name = str(item).strip()
            setting = SETTING_BY_ITEM.get(name) or SETTING_BY_KEY.get(name)
            out[setting.key if setting else name] = "" if blank(value) else setting_text(value)
        return out

    def write_setting(self, key: str, value: str) -> None:
        setting = SETTING_BY_KEY[key]
        if self.has_sheet(SETTINGS):
            t = self.read_table(SETTINGS)
            for r, item in t.frame["item"].items():
                if not blank(item) and str(item).strip() in (setting.item, setting.key):
                    self.write_columns(t, pd.DataFrame({"value": [value]}, index=[r], dtype=object))
                    return
        self.append_rows(SETTINGS, pd.DataFrame([[setting.item, value, setting.note]],
                                                columns=["item", "value", "note"], dtype=object))
