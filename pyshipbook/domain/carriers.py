"""Couriers (快递公司), tracking numbers and platform carrier codes. Pure: data in, data out.

The couriers themselves are data (templates/carriers.toml, loaded by
book/templates.py into a `CarrierBook`); the functions here take that data as
an argument and never read files.

Tracking numbers:

* `normalise_tracking_number` reads a cell: spaces and dashes removed,
  full-width -> half-width, upper-case. Blank -> None. A number Excel stored
  as a float that cannot hold every digit (7.31234567890123e+13, anything from
  10^15 up, scientific text from a CSV) -> INVALID: never silently accepted.
  An exact whole float (73123456789012.0) is read as its digits.
* `detect_carrier` uses letter prefixes only (SF, YT, JD, JT, DPK). Numeric
  numbers are ambiguous across couriers (a ZTO sample matched the STO and
  Yunda patterns), so detection returns None for them and the courier chosen
  by the user decides (`check_tracking_number`).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from . import normalize as nz
from .codes import Problem
from .headers import normalise_header
from .normalize import INVALID
from .shipping_codes import TRACKING_CODES  # noqa: F401 (the codes TrackingCheck reports: registered)

__all__ = [
    "Carrier", "CarrierBook", "Platform", "PlatformColumn", "TrackingCheck",
    "carrier_code", "normalise_tracking_number", "split_tracking_numbers", "detect_carrier",
    "check_tracking_number", "platform_code", "batch_ship_rows", "tracking_import_key_of",
    "PLATFORM_FIELDS",
]


# -- the data ---------------------------------------------------------------------------------------
class Carrier(BaseModel):
    """One courier (templates/carriers.toml [carriers.CODE])."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    en: str = ""
    pattern: str
    prefixes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", v):
            raise ValueError(f"carrier code must be upper-case letters/digits: {v!r}")
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"bad tracking pattern {v!r}: {exc}") from None
        return v

    @field_validator("prefixes")
    @classmethod
    def _prefixes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if not re.fullmatch(r"[A-Z]+", p):
                raise ValueError(f"a detection prefix is upper-case letters only: {p!r}")
        return v

    def matches(self, number: str) -> bool:
        return re.fullmatch(self.pattern, number) is not None


def _alias_key(text: object) -> str:
    """How a courier name is compared: half-width, no spaces, case folded."""
    t = nz.clean_text(text)
    return normalise_header(t) if t else ""


class CarrierBook(BaseModel):
    """Every courier by internal code, plus the header aliases of a tracking import file."""

    model_config = ConfigDict(extra="forbid")

    carriers: dict[str, Carrier]
    tracking_import: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    _aliases: dict[str, str] = PrivateAttr(default_factory=dict)
    _prefixes: list[tuple[str, str]] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _codes_from_keys(cls, data: Any) -> Any:
        """TOML gives [carriers.SF] without a code field: the key is the code."""
        if isinstance(data, Mapping) and isinstance(data.get("carriers"), Mapping):
            data = dict(data)
            data["carriers"] = {k: ({"code": k, **v} if isinstance(v, Mapping) and "code" not in v else v)
                                for k, v in data["carriers"].items()}
        return data

    @model_validator(mode="after")
    def _index(self) -> CarrierBook:
        aliases: dict[str, str] = {}
        for code, c in self.carriers.items():
            if c.code != code:
                raise ValueError(f"carrier {code}: code field says {c.code}")
            for name in (code, c.name, c.en, *c.aliases):
                key = _alias_key(name)
                if not key:
                    continue
                if aliases.get(key, code) != code:
                    raise ValueError(f"alias {name!r} names both {aliases[key]} and {code}")
                aliases[key] = code
        prefixes = [(p, code) for code, c in self.carriers.items() for p in c.prefixes]
        seen: dict[str, str] = {}
        for p, code in prefixes:
            if seen.get(p, code) != code:
                raise ValueError(f"prefix {p} names both {seen[p]} and {code}")
            seen[p] = code
        for key in self.tracking_import:
            if key not in ("order_id", "tracking_no", "carrier"):
                raise ValueError(f"tracking_import: unknown key {key!r} (order_id, tracking_no, carrier)")
        self._aliases = aliases
        self._prefixes = sorted(prefixes, key=lambda pc: -len(pc[0]))   # longest prefix first
        return self

    def __getitem__(self, code: str) -> Carrier:
        return self.carriers[code]

    def __contains__(self, code: object) -> bool:
        return code in self.carriers

    @property
    def codes(self) -> list[str]:
        return list(self.carriers)


# -- courier names ----------------------------------------------------------------------------------
def carrier_code(text: object, carriers: CarrierBook) -> str | None:
    """The internal code for what a user typed in 快递公司 (code, Chinese name or alias), or None.

    Case, spaces and full-width forms are ignored: 'ＳＦ', ' 顺丰 ', 'sf express', 'J＆T' all work.
    Only whole aliases match; nothing is guessed from part of a name.
    """
    key = _alias_key(text)
    return carriers._aliases.get(key) if key else None


# -- tracking numbers -------------------------------------------------------------------------------
# Excel keeps 15 significant digits: a whole float below 10^15 is exactly what was typed;
# from 10^15 up the digits after the 15th may already be zeros.
_EXACT_FLOAT_LIMIT = 10 ** 15
_STRIP = re.compile(r"[\s\-_\u2010-\u2015\u2212\u30fc\uff0d]+")
_WHOLE_FLOAT_TEXT = re.compile(r"(\d+)\.0*")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d*)?E[+-]?\d+")
_NUMBER = re.compile(r"[0-9A-Z]{1,40}")
_SPLIT = re.compile(r"[,，;；、/|\n]+")


def _from_number(v: Any) -> object:
    if isinstance(v, numbers.Integral):
        n = int(v)
        return str(n) if n >= 0 else INVALID
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return INVALID
    if isinstance(v, Decimal):
        if not v.is_finite() or v != v.to_integral_value() or v < 0:
            return INVALID
        return str(int(v))
    if not math.isfinite(f) or not f.is_integer() or f < 0 or f >= _EXACT_FLOAT_LIMIT:
        return INVALID
    return str(int(f))


def normalise_tracking_number(raw: object):
    """A tracking number from a cell: the normalised text, None (blank) or INVALID (unreadable).

    Text: full-width -> half-width, spaces, dashes and underscores removed, upper-case;
    "73123456789012.0" (an exact float written out) -> its digits. Scientific text
    ("7.31234567890123E+13") and floats that cannot hold the number exactly (fractions,
    ≥ 10^15) -> INVALID, since digits may be lost. Anything but letters and digits -> INVALID.
    """
    try:
        if nz._is_missing(raw):
            return None
        if nz._is_bool(raw):
            return INVALID
        if isinstance(raw, (numbers.Number, Decimal)) and not isinstance(raw, str):
            return _from_number(raw)
        text = nz.clean_text(raw)
        if text is None:
            return None
        text = _STRIP.sub("", text).upper()
        if not text:
            return None
        if _SCIENTIFIC.fullmatch(text):
            return INVALID
        m = _WHOLE_FLOAT_TEXT.fullmatch(text)
        if m and "." in text:
            digits = m.group(1)
            return digits if int(digits) < _EXACT_FLOAT_LIMIT else INVALID
        return text if _NUMBER.fullmatch(text) else INVALID
    except Exception:  # noqa: BLE001 -- total, like the other normalisers
        return INVALID


def split_tracking_numbers(cell: object) -> list[str]:
    """The numbers in a 快递单号 cell that may hold several (joined by "," as shipbook writes them;
    "，" ";" "、" "/" and line breaks are accepted too). Each is normalised; unreadable parts are
    kept as their cleaned text so nothing a user typed is dropped."""
    if nz._is_missing(cell):
        return []
    if not isinstance(cell, str):
        n = normalise_tracking_number(cell)
        return [n] if isinstance(n, str) else ([nz.clean_text(cell)] if nz.clean_text(cell) else [])
    out: list[str] = []
    for part in _SPLIT.split(cell):
        n = normalise_tracking_number(part)
        if n is None:
            continue
        text = n if isinstance(n, str) else nz.clean_text(part)
        if text and text not in out:
            out.append(text)
    return out


def detect_carrier(number: object, carriers: CarrierBook) -> str | None:
    """The courier a number's letter prefix names (SF, YT, JD, JT, DPK …), or None.

    Numeric numbers always give None: they are ambiguous across couriers.
    """
    n = normalise_tracking_number(number)
    if not isinstance(n, str) or n[0].isdigit():
        return None
    for prefix, code in carriers._prefixes:
        if n.startswith(prefix):
            return code
    return None


@dataclass(frozen=True)
class TrackingCheck:
    """The verdict on one tracking number: ok (with the courier it belongs to) or a problem code
    (tracking.missing / unreadable / invalid / carrier_mismatch / carrier_unknown)."""

    ok: bool
    number: str | None            # normalised; None when blank or unreadable
    carrier: str | None           # the courier it was checked against (or detected)
    code: str | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        if self.ok:
            return "OK"
        return Problem(self.code, detail=self.detail).message


def check_tracking_number(number: object, carrier: object, carriers: CarrierBook) -> TrackingCheck:
    """Check a tracking number against the chosen courier (code, name or alias; blank: none chosen).

    * blank number -> tracking.missing; unreadable (lost float digits, odd characters) -> tracking.unreadable
    * a courier was named but is not one we know -> tracking.carrier_unknown
    * the letter prefix names another courier than the chosen one -> tracking.carrier_mismatch
    * no courier chosen: a letter prefix decides; a numeric number -> tracking.carrier_unknown
    * the number does not match the courier's pattern -> tracking.invalid
    """
    n = normalise_tracking_number(number)
    if n is None:
        return TrackingCheck(False, None, None, "tracking.missing")
    if n is INVALID:
        return TrackingCheck(False, None, None, "tracking.unreadable", _show(number))
    named = nz.clean_text(carrier) if not nz._is_missing(carrier) else None
    chosen = carrier_code(named, carriers) if named else None
    if named and chosen is None:
        return TrackingCheck(False, n, None, "tracking.carrier_unknown", named)
    detected = detect_carrier(n, carriers)
    if chosen and detected and chosen != detected:
        return TrackingCheck(False, n, chosen, "tracking.carrier_mismatch",
                             f"{n}: {carriers[detected].name} ≠ {carriers[chosen].name}")
    code = chosen or detected
    if code is None:
        return TrackingCheck(False, n, None, "tracking.carrier_unknown", n)
    if not carriers[code].matches(n):
        return TrackingCheck(False, n, code, "tracking.invalid", f"{n} ({carriers[code].name})")
    return TrackingCheck(True, n, code)


def _show(v: object) -> str:
    if isinstance(v, float):
        return repr(v)
    return (nz.clean_text(v) or "")[:40]


def tracking_import_key_of(carriers: CarrierBook, extra: Mapping[str, str] | None = None):
    """key_of(header) -> order_id / tracking_no / carrier / None, for book/sources.read_source.

    From carriers.toml [tracking_import]; the keys themselves always match."""
    table: dict[str, str] = {}
    for key in ("order_id", "tracking_no", "carrier"):
        table[normalise_header(key)] = key
        for name in carriers.tracking_import.get(key, ()):
            table[normalise_header(name)] = key
    for name, key in (extra or {}).items():
        table[normalise_header(name)] = key

    def key_of(header: object) -> str | None:
        return table.get(normalise_header(header))
    return key_of


# -- platforms (the shop's batch-ship file) -----------------------------------------------------------
PLATFORM_FIELDS = ("order_id", "tracking_no", "carrier_code", "carrier_name")


class TemplateColumn(BaseModel):
    """A column of a template file: filled from one of FIELDS, or a constant value."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    FIELDS: ClassVar[tuple[str, ...]] = ()

    header: str
    field: str | None = None      # one of FIELDS
    value: str | None = None      # a constant

    @model_validator(mode="after")
    def _one_source(self) -> TemplateColumn:
        if (self.field is None) == (self.value is None):
            raise ValueError(f"column {self.header!r}: give exactly one of field / value")
        if self.field is not None and self.field not in self.FIELDS:
            raise ValueError(f"column {self.header!r}: unknown field {self.field!r}; known: {', '.join(self.FIELDS)}")
        return self


class PlatformColumn(TemplateColumn):
    FIELDS: ClassVar[tuple[str, ...]] = PLATFORM_FIELDS


class Platform(BaseModel):
    """A shop platform's 批量发货 import file (templates/platforms/NAME.toml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    name: str
    note: str = ""
    one_row_per_order: bool = False   # the platform takes one number per order: the first is used
    columns: tuple[PlatformColumn, ...]
    codes: dict[str, str]             # internal carrier code -> the platform's code

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


def platform_code(carrier: object, platform_map: Mapping[str, str] | Platform) -> str | None:
    """The platform's code for an internal carrier code (SF -> 'SF', JT -> 'JTSD' on WeChat …), or None."""
    codes = platform_map.codes if isinstance(platform_map, Platform) else platform_map
    key = nz.clean_text(carrier)
    if not key:
        return None
    code = codes.get(key.upper())
    return code or None


def batch_ship_rows(platform: Platform, shipments: Iterable[Mapping], carriers: CarrierBook,
                    *, target: str = "sheet") -> tuple[list[str], list[list[str]], list[dict]]:
    """The shop's batch-ship file: (headers, rows, problems).

    shipments: one mapping per parcel with order_id, carrier (internal code), tracking_no, in the
    order they should appear (物流跟踪 order). Every cell is text. A courier the platform has no code
    for is left out and reported (tracking.platform_code_missing). target "csv" prefixes text that
    could run as a formula with "'"; "sheet" leaves it (the adapter writes text cells as text).
    """
    headers = platform.headers
    rows: list[list[str]] = []
    problems: list[dict] = []
    seen_orders: set[str] = set()
    for s in shipments:
        oid = nz.clean_text(s.get("order_id")) or ""
        number = nz.clean_text(s.get("tracking_no")) or ""
        carrier = nz.clean_text(s.get("carrier")) or ""
        if platform.one_row_per_order and oid in seen_orders:
            continue
        pcode = platform_code(carrier, platform)
        if pcode is None:
            problems.append({"order_id": oid, "tracking_no": number, "code": "tracking.platform_code_missing",
                             "detail": f"{platform.name}: {carrier or '?'}"})
            continue
        seen_orders.add(oid)
        values = {"order_id": oid, "tracking_no": number, "carrier_code": pcode,
                  "carrier_name": carriers[carrier].name if carrier in carriers else carrier}
        row = [values[c.field] if c.field else (c.value or "") for c in platform.columns]
        rows.append([neutralise(v, target) for v in row])
    return headers, rows, problems


def neutralise(text: str, target: str) -> str:
    """Text that a spreadsheet would run as a formula: prefixed with "'" for CSV; unchanged for
    the sheet, where the adapter stores it as a text cell (never a formula)."""
    if target == "csv" and nz.is_formula_like(text):
        return "'" + text
    return text
