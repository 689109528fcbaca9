"""Pure normalisation helpers for messy order-book cells (no I/O).

Every public function is total: it never raises, whatever the input.

Three outcomes are distinguished throughout:

* ``None``    -- the cell is blank (None, NaN, NaT, empty or whitespace-only text);
* ``INVALID`` -- something is there but cannot be read unambiguously;
* a value     -- the normalised value.

The ``*s`` helpers (``clean_texts``, ``parse_numbers``, ``parse_ints``,
``parse_datetimes``, ``normalize_phones``) work on whole columns: each
distinct value is computed once and mapped back, the index is preserved.
``Distinct`` is the machinery under them: a column as codes into its distinct
(type, value)s, factorized by pandas in C.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Final

import numpy as np
import pandas as pd
import phonenumbers
from pandas.api.types import infer_dtype

__all__ = [
    "INVALID",
    "clean_text",
    "clean_texts",
    "excel_serial_to_datetime",
    "is_formula_like",
    "is_number",
    "normalize_phone",
    "normalize_phones",
    "parse_datetime",
    "parse_datetimes",
    "parse_int",
    "parse_ints",
    "parse_number",
    "parse_numbers",
]


class _Invalid:
    """Sentinel: a value was present but cannot be read. Distinct from None (blank)."""

    _instance: _Invalid | None = None
    __slots__ = ()

    def __new__(cls) -> _Invalid:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"

    def __reduce__(self) -> str:  # pickles / copies as the singleton
        return "INVALID"

    def __copy__(self) -> _Invalid:
        return self

    def __deepcopy__(self, memo: Any) -> _Invalid:
        return self


INVALID: Final = _Invalid()

# Inputs longer than this are never a number, a date or a phone number.
_MAX_FIELD = 64

# --------------------------------------------------------------------------- text

_TEXT_TABLE: dict[int, Any] = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_TEXT_TABLE.update(
    {
        0x3000: " ",  # ideographic space
        0x00A0: " ",  # no-break space (kept as a separator inside text, stripped at the ends)
        0x2007: " ",  # figure space
        0x202F: " ",  # narrow no-break space
        0x200B: None,  # zero-width space
        0x200C: None,  # zero-width non-joiner
        0x200D: None,  # zero-width joiner
        0x2060: None,  # word joiner
        0xFEFF: None,  # BOM / zero-width no-break space
    }
)

_FORMULA_LEAD: Final = frozenset("=+-@\t\r\0＝＋－＠")


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):  # includes numpy.float64
        return math.isnan(v)
    if isinstance(v, np.floating):
        return bool(np.isnan(v))
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def _is_bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_))


def _number_text(v: Any) -> str:
    """Text of a non-bool number, whole floats without '.0' (Excel phone numbers, ids)."""
    if isinstance(v, numbers.Integral):
        try:
            return str(int(v))
        except ValueError:  # more digits than int->str allows
            return f"<{int(v).bit_length()}-bit integer>"
    f = float(v)
    if math.isfinite(f) and f.is_integer():
        return str(int(f))
    return str(v)


def clean_text(v: Any) -> str | None:
    """Normalise a text cell; None for blank.

    Full-width ASCII and the ideographic space become half-width, no-break
    spaces become plain spaces, zero-width characters are removed, the result
    is stripped. Whole floats (13812345678.0) lose their '.0'; bytes are decoded
    as UTF-8; any other value is str().
    """
    try:
        if _is_missing(v):
            return None
        if isinstance(v, str):
            s = v
        elif _is_bool(v):
            s = str(bool(v))
        elif isinstance(v, (numbers.Number, Decimal)):
            s = _number_text(v) if isinstance(v, numbers.Real) else str(v)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            s = bytes(v).decode("utf-8", errors="replace")
        else:
            s = str(v)
        s = s.translate(_TEXT_TABLE).strip()
        return s or None
    except Exception:  # noqa: BLE001 -- total by contract (e.g. a __str__ that raises)
        return None


def is_formula_like(s: Any) -> bool:
    """True if text would be taken as a formula by a spreadsheet (OWASP CSV injection).

    Checks the first character for = + - @ tab CR NUL (and their full-width
    forms, which clean_text turns into the ASCII ones). Apply it to the raw
    cell text: clean_text strips a leading tab or CR.
    """
    return isinstance(s, str) and len(s) > 0 and s[0] in _FORMULA_LEAD


# --------------------------------------------------------------------------- numbers

_NUM_RE = re.compile(
    r"""
    (?P<sign1>[+-])?
    (?:¥|￥|RMB|CNY|人民币)?
    (?P<sign2>[+-])?
    (?P<num>\d+(?:\.\d*)?|\.\d+|\d{1,3}(?:,\d{3})+(?:\.\d*)?)
    (?:元|RMB|CNY)?
    """,
    re.VERBOSE | re.IGNORECASE,
)


def _parse_decimal_text(s: str) -> Decimal | None | _Invalid:
    t = clean_text(s)
    if t is None:
        return None
    if len(t) > _MAX_FIELD:
        return INVALID
    t = t.replace(" ", "")
    m = _NUM_RE.fullmatch(t)
    if not m or (m["sign1"] and m["sign2"]):
        return INVALID
    try:
        d = Decimal(m["num"].replace(",", ""))
    except InvalidOperation:
        return INVALID
    return -d if (m["sign1"] or m["sign2"]) == "-" else d


def _parse_number(v: Any) -> float | None | _Invalid:
    if _is_missing(v):
        return None
    if _is_bool(v):
        return INVALID
    if isinstance(v, str):
        d = _parse_decimal_text(v)
        if d is None or d is INVALID:
            return d
        f = float(d)
    elif isinstance(v, (numbers.Real, Decimal)):
        if isinstance(v, Decimal) and v.is_nan():
            return None
        f = float(v)
    else:
        return INVALID
    return f if math.isfinite(f) else INVALID


def parse_number(v: Any) -> float | None | _Invalid:
    """A number from a cell: float, None (blank) or INVALID.

    Accepts numbers and text such as "１２.５", "¥1,299.00", "RMB 12", "12元",
    "-3". bool, inf and anything else -> INVALID; NaN -> None.
    """
    try:
        return _parse_number(v)
    except Exception:  # noqa: BLE001
        return INVALID


def _parse_int(v: Any) -> int | None | _Invalid:
    if _is_missing(v):
        return None
    if _is_bool(v):
        return INVALID
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, str):
        d = _parse_decimal_text(v)
        if d is None or d is INVALID:
            return d
        if not d.is_finite() or d != d.to_integral_value():
            return INVALID
        return int(d)
    f = _parse_number(v)
    if f is None or f is INVALID:
        return f
    return int(f) if float(f).is_integer() else INVALID


def parse_int(v: Any) -> int | None | _Invalid:
    """A whole number: 3, 3.0, "3", "3.0", "３" -> 3; "2.5", bool, text -> INVALID; blank -> None."""
    try:
        return _parse_int(v)
    except Exception:  # noqa: BLE001
        return INVALID


# --------------------------------------------------------------------------- dates

_EXCEL_EPOCH: Final = datetime(1899, 12, 30)
_SERIAL_MIN: Final = 20000  # 1954-10-03
_SERIAL_MAX: Final = 80000  # 2119-01-11


def excel_serial_to_datetime(serial: float) -> datetime | _Invalid:
    """Excel 1900-system serial -> datetime, as openpyxl's ``from_excel`` does.

    Serials 1..59 are shifted by a day because Excel counts the non-existent
    1900-02-29 (serial 60, which therefore maps to 1900-02-28 like openpyxl).
    The fraction is the time of day, rounded to the millisecond. Serials
    below 1 (pure times), non-finite values and bool are INVALID.
    """
    try:
        if _is_bool(serial) or not isinstance(serial, numbers.Real):
            return INVALID
        value = float(serial)
        if not math.isfinite(value) or value < 1:
            return INVALID
        day, fraction = divmod(value, 1)
        diff = timedelta(milliseconds=round(fraction * 86_400_000))
        if value < 60:
            day += 1
        return _EXCEL_EPOCH + timedelta(days=day) + diff
    except Exception:  # noqa: BLE001 -- overflow beyond year 9999
        return INVALID


_DATE_YMD = re.compile(r"(?P<y>\d{4})\s*(?P<sep>[-/.])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})")
_DATE_CN = re.compile(r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?")
_DATE_MD = re.compile(r"(?P<m>\d{1,2})\s*[/-]\s*(?P<d>\d{1,2})(?=$|\s)")
_DATE_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:\s*(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?")
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")

_TIME_COLON = re.compile(
    r"(?P<p1>上午|下午|晚上|凌晨|早上|AM|PM)?\s*"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?"
    r"\s*(?P<p2>AM|PM)?",
    re.IGNORECASE,
)
_TIME_CN = re.compile(
    r"(?P<p1>上午|下午|晚上|凌晨|早上)?\s*"
    r"(?P<H>\d{1,2})\s*[时點点]\s*(?:(?P<M>\d{1,2})\s*分)?\s*(?:(?P<S>\d{1,2})\s*秒)?"
)
_PM: Final = frozenset({"下午", "晚上", "PM"})
_AM: Final = frozenset({"上午", "凌晨", "早上", "AM"})


def _parse_time(rest: str) -> tuple[int, int, int, int] | None:
    """(h, m, s, µs) for an optional time part; (0,0,0,0) if empty; None if unreadable."""
    rest = rest.strip()
    if rest[:1] in ("T", "t"):
        rest = rest[1:].lstrip()
    if not rest:
        return (0, 0, 0, 0)
    m = _TIME_COLON.fullmatch(rest) or _TIME_CN.fullmatch(rest)
    if not m:
        return None
    groups = m.groupdict()
    hour = int(m["H"])
    minute = int(m["M"] or 0)
    second = int(m["S"] or 0)
    micro = int((groups.get("f") or "0").ljust(6, "0"))
    marks = {x.upper() if x.isascii() else x for x in (groups.get("p1"), groups.get("p2")) if x}
    if len(marks) > 1:
        return None
    if marks:
        if not 1 <= hour <= 12 and not (marks <= _PM and 13 <= hour <= 23):
            return None
        if marks <= _PM and hour < 12:
            hour += 12
        elif marks <= _AM and hour == 12:
            hour = 0
    return hour, minute, second, micro


def _build(y: int, mo: int, d: int, t: tuple[int, int, int, int] | None) -> datetime | _Invalid:
    if t is None:
        return INVALID
    try:
        return datetime(y, mo, d, *t)
    except (ValueError, OverflowError, TypeError):
        return INVALID


def _parse_datetime_text(s: str, ref_year: int | None) -> datetime | None | _Invalid:
    t = clean_text(s)
    if t is None:
        return None
    if len(t) > _MAX_FIELD:
        return INVALID
    if _SERIAL_TEXT.fullmatch(t):
        f = float(t)
        return excel_serial_to_datetime(f) if _SERIAL_MIN <= f <= _SERIAL_MAX else INVALID
    m = _DATE_COMPACT.fullmatch(t)
    if m:
        tm = (int(m["H"]), int(m["M"]), int(m["S"] or 0), 0) if m["H"] else (0, 0, 0, 0)
        return _build(int(m["y"]), int(m["m"]), int(m["d"]), tm)
    m = _DATE_YMD.match(t) or _DATE_CN.match(t)
    if m is None:
        m = _DATE_MD.match(t)
    if m is None:
        return INVALID
    year = m.groupdict().get("y")
    if year is None:
        if ref_year is None or _is_bool(ref_year) or not isinstance(ref_year, numbers.Integral):
            return INVALID  # no year written and none given: never guess
        y = int(ref_year)
    else:
        y = int(year)
    return _build(y, int(m["m"]), int(m["d"]), _parse_time(t[m.end():]))


def _parse_datetime(v: Any, ref_year: int | None) -> datetime | None | _Invalid:
    if type(v) is datetime:  # what openpyxl reads from a date cell: the common case first
        return v if v.tzinfo is None else v.replace(tzinfo=None)
    if _is_missing(v):
        return None
    if _is_bool(v):
        return INVALID
    if isinstance(v, pd.Timestamp):  # avoid to_pydatetime()'s nanosecond warning
        return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
    if isinstance(v, datetime):
        return v.replace(tzinfo=None) if v.tzinfo is not None else v
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    if isinstance(v, np.datetime64):
        return _parse_datetime(pd.Timestamp(v), ref_year)
    if isinstance(v, str):
        return _parse_datetime_text(v, ref_year)
    if isinstance(v, (numbers.Real, Decimal)):
        f = float(v)
        if not math.isfinite(f) or not _SERIAL_MIN <= f <= _SERIAL_MAX:
            return INVALID
        return excel_serial_to_datetime(f)
    return INVALID  # time of day only, timedelta, bytes, containers ...


def parse_datetime(v: Any, *, ref_year: int | None = None) -> datetime | None | _Invalid:
    """A naive datetime from a cell: datetime, None (blank) or INVALID.

    Accepts datetime/date/Timestamp, Excel serials 20000..80000 (also as
    text), "2026/11/26 14:00", "2026-11-26T14:00:00", "2026.11.26",
    "2026年11月26日 10:45", "2026年11月26日10时45分", "20261126 1430",
    and year-less "11月26日 10:45" / "11/26 10:45" (only with ref_year,
    else INVALID). Impossible dates and ambiguous forms (26/11/2026) -> INVALID.
    """
    try:
        return _parse_datetime(v, ref_year)
    except Exception:  # noqa: BLE001
        return INVALID


# --------------------------------------------------------------------------- phones

_CN_META = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_MOBILE = re.compile(_CN_META.mobile.national_number_pattern)
_CN_FIXED = re.compile(_CN_META.fixed_line.national_number_pattern)  # cheap pre-filter only
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/_—–·]+")
_PHONE_EXT = re.compile(r"(?P<main>.*?\d)\s*(?:转|分机|ext\.?|x|#)\s*(?P<ext>\d{1,6})", re.IGNORECASE)
_LANDLINE_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def _cn_mobile_ok(digits: str) -> bool:
    """11-digit mainland mobile, per phonenumbers' CN mobile metadata (same as is_valid_number)."""
    return len(digits) == 11 and _CN_MOBILE.fullmatch(digits) is not None


def _cn_landline(nsn: str, ext: str | None) -> str | None:
    """Format a mainland landline (national significant number, no trunk 0) as 0AAA-NNNNNNNN[-EXT]."""
    if _CN_FIXED.fullmatch(nsn) is None:  # phonenumbers could not call it a fixed line either
        return None
    try:
        num = phonenumbers.parse("+86" + nsn, None)
    except phonenumbers.NumberParseException:
        return None
    # number_type() is UNKNOWN for an invalid number, so it also does is_valid_number()'s job
    if phonenumbers.number_type(num) not in _LANDLINE_TYPES:
        return None
    sig = phonenumbers.national_significant_number(num)
    area = phonenumbers.length_of_geographical_area_code(num)
    if area <= 0:
        return None
    out = f"0{sig[:area]}-{sig[area:]}"
    return f"{out}-{ext}" if ext else out


def _national(s: str) -> tuple[str, bool] | None:
    """Mainland number written without +: mobile (optionally 86-prefixed) or 0-landline."""
    ext = None
    m = _PHONE_EXT.fullmatch(s)
    if m:
        s, ext = m["main"], m["ext"]
    groups = [g for g in _PHONE_SEPARATORS.split(s) if g]
    digits = "".join(groups)
    if not digits.isdecimal() or not digits.isascii():
        return None
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    if digits.startswith("1"):
        if ext is None and _cn_mobile_ok(digits):
            return digits, True
        return None
    if digits.startswith("0"):
        out = _cn_landline(digits[1:], ext)
        if out is None and ext is None and len(groups) >= 3 and 1 <= len(groups[-1]) <= 6:
            # "021-12345678-801": the last dash group is an extension
            out = _cn_landline("".join(groups[:-1])[1:], groups[-1])
        if out is not None:
            return out, True
    return None


def _international(s: str, cross_border: bool) -> tuple[str, bool] | None:
    """Number written with + or 00: +86 goes to the mainland form, others to E.164."""
    body = s[1:] if s.startswith("+") else s[2:]
    ext = None
    m = _PHONE_EXT.fullmatch(body)
    if m:
        body, ext = m["main"], m["ext"]
    groups = [g for g in _PHONE_SEPARATORS.split(body) if g]
    digits = "".join(groups)
    if not digits.isdecimal() or not digits.isascii():
        return None
    if digits.startswith("86"):
        rest = digits[2:].removeprefix("0")  # "+86 0755 ..." / "+86 (0)10 ..."
        if rest.startswith("1") and len(rest) == 11:
            return (rest, True) if ext is None and _cn_mobile_ok(rest) else None
        out = _cn_landline(rest, ext)
        if out is None and ext is None and len(groups) >= 3 and 1 <= len(groups[-1]) <= 6:
            out = _cn_landline("".join(groups[:-1])[2:].removeprefix("0"), groups[-1])
        return (out, True) if out is not None else None
    try:
        num = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return e164, bool(cross_border)  # +country numbers are only for cross-border orders


def _normalize_phone(v: Any, cross_border: bool) -> tuple[str | None, bool]:
    if type(v) is str and len(v) == 11 and v[0] == "1" and v.isascii() and v.isdecimal():
        return v, _CN_MOBILE.fullmatch(v) is not None  # a clean mobile: what _national would decide
    if _is_bool(v):
        return clean_text(v), False
    s = clean_text(v)
    if s is None:
        return None, False
    if len(s) > _MAX_FIELD:
        return s, False
    compact = s.lstrip()
    if compact.startswith("+") or (compact.startswith("00") and len(compact) > 2):
        res = _international(compact, cross_border)
    else:
        res = _national(compact)
    return res if res is not None else (s, False)


def _phone_or_fallback(v: Any, cross_border: bool) -> tuple[str | None, bool]:
    try:
        return _normalize_phone(v, cross_border)
    except Exception:  # noqa: BLE001
        return clean_text(v), False


def normalize_phone(v: Any, *, cross_border: bool = False) -> tuple[str | None, bool]:
    """(normalised phone, ok). Blank -> (None, False).

    Mainland mobiles -> 11 digits ("+86 138-1234-5678", "１３８…", 13812345678.0);
    landlines -> "0755-88886666" (extension kept as "-801"); both checked with
    phonenumbers' CN data. A +country (non-86) number -> E.164, ok only when
    cross_border. When ok is False the value is the cleaned input (or the E.164
    form of a valid foreign number), never None.
    """
    try:
        return _normalize_phone(v, bool(cross_border) if not _is_missing(cross_border) else False)
    except Exception:  # noqa: BLE001
        return clean_text(v), False


# --------------------------------------------------------------------------- columns

_NAN_KEY: Final = object()
_types = np.frompyfunc(type, 1, 1)


def _key(v: Any) -> Any:
    """Cache key: the type is part of it so True, 1 and 1.0 never share a result."""
    if type(v) is str:
        return v
    if _is_missing(v):
        return _NAN_KEY
    return (type(v), v)


def _as_series(values: Any) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)


def _first_codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of an int key in order of first appearance, and the row of each code's first occurrence."""
    codes, _ = pd.factorize(key)
    return codes, _first_rows(codes)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Row of each code's first occurrence, for codes numbered in order of first appearance
    (each new code is one more than every code before it: where the running maximum rises)."""
    if not len(codes):
        return np.zeros(0, dtype=np.intp)
    top = np.maximum.accumulate(codes)
    return np.flatnonzero(np.r_[True, top[1:] > top[:-1]])


def _factorize(arr: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """(codes, one value per code) for an object column; equal values of different types stay apart.

    pandas hashes in C but takes 1, 1.0 and True (or None and NaN) for one value;
    the parsers treat them differently, so any column that is not pure text is
    split again by type. Missing values get codes like any other value. Text is
    text: a str subclass (numpy.str_) shares its code with the equal str, as every
    parser here reads them alike (isinstance(v, str)).
    """
    codes, uniques = pd.factorize(arr)  # missing -> -1
    missing = codes < 0
    if infer_dtype(arr, skipna=True) in ("string", "empty"):
        if not missing.any():
            return codes, list(uniques)
        rows = np.flatnonzero(missing)
        blank = arr[rows[0]]
        if _is_missing(blank) and (_types(arr[rows]) == type(blank)).all():  # text with blanks of one kind
            return np.where(missing, len(uniques), codes), [*uniques, blank]
        key = codes.astype(np.int64)
    else:
        kinds, found = pd.factorize(_types(arr))
        key = codes.astype(np.int64) * len(found) + kinds
    if missing.any():
        # None, NaN, NaT ... apart by type; a cell pandas calls missing that the parsers
        # read (Decimal('NaN') prints as "NaN") stays its own value
        rows = np.flatnonzero(missing)
        kinds, found = pd.factorize(_types(arr[rows]))
        blank = np.array([_is_missing(arr[rows[i]]) for i in np.unique(kinds, return_index=True)[1]])
        start = int(key.max(initial=0)) + 1
        key[rows] = np.where(blank[kinds], start + kinds, start + len(found) + np.arange(len(rows)))
    codes, first = _first_codes(key)
    return codes, arr[first].tolist()


def _factorize_slowly(arr: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """The same per cell, for columns pandas cannot hash (a list in a cell); unhashable cells stay apart."""
    seen: dict[Any, int] = {}
    values: list[Any] = []
    codes = np.empty(len(arr), dtype=np.intp)
    for i, v in enumerate(arr):
        try:
            k = _key(v)
            code = seen.setdefault(k, len(values))
        except TypeError:
            code = len(values)
        if code == len(values):
            values.append(v)
        codes[i] = code
    return codes, values


def is_number(v: Any) -> bool:
    """A parsed number: int or float, never bool (INVALID and None are neither)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Distinct:
    """A column as codes into its distinct values, so work runs once per distinct value.

    ``map`` keeps the codes and transforms the values, so steps chain
    (address -> region key -> region) without touching every row again;
    ``series``/``floats``/``flags`` give one entry per row, same index.
    """

    __slots__ = ("index", "name", "codes", "values")

    def __init__(self, index: pd.Index, name: Any, codes: np.ndarray, values: list[Any]) -> None:
        self.index, self.name, self.codes, self.values = index, name, codes, values

    @classmethod
    def of(cls, column: Any) -> Distinct:
        s = _as_series(column)
        arr = s.to_numpy(dtype=object)
        try:
            with np.errstate(all="ignore"):  # comparing a float32 cell with a huge float may overflow a cast
                codes, values = _factorize(arr)
        except Exception:  # noqa: BLE001 -- unhashable or uncomparable cells
            codes, values = _factorize_slowly(arr)
        return cls(s.index, s.name, codes, values)

    @classmethod
    def combine(cls, parts: list[Distinct], fn: Callable[..., Any]) -> Distinct:
        """fn over each distinct combination of several columns (same rows)."""
        key = np.zeros(len(parts[0].codes), dtype=np.int64)
        for part in parts:  # re-coded after each column, so the key never overflows
            key, _ = pd.factorize(key * max(len(part.values), 1) + part.codes)
        codes, first = _first_codes(key.astype(np.int64))
        args = [part._table(object, part.values).take(part.codes[first]).tolist() for part in parts]
        return cls(parts[0].index, parts[0].name, codes, [fn(*a) for a in zip(*args)])

    def map(self, fn: Callable[[Any], Any]) -> Distinct:
        return Distinct(self.index, self.name, self.codes, [fn(v) for v in self.values])

    def compact(self) -> Distinct:
        """The same column with equal values merged (after a map made several codes alike)."""
        try:
            merged, values = _factorize(self._table(object, self.values))
        except Exception:  # noqa: BLE001
            return self
        return Distinct(self.index, self.name, merged.take(self.codes), values)

    def _table(self, dtype: Any, values: list[Any]) -> np.ndarray:
        return np.fromiter(values, dtype=dtype, count=len(values))

    def series(self) -> pd.Series:
        table = self._table(object, self.values)
        return pd.Series(table.take(self.codes), index=self.index, dtype=object, name=self.name)

    def flags(self, pred: Callable[[Any], bool]) -> np.ndarray:
        return self._table(bool, [bool(pred(v)) for v in self.values]).take(self.codes)

    def floats(self) -> np.ndarray:
        """Numbers as floats; None, INVALID, text and bool as NaN."""
        return self._table(float, [float(v) if is_number(v) else np.nan for v in self.values]).take(self.codes)


def map_distinct(values: Any, fn: Callable[[Any], Any]) -> pd.Series:
    """fn over a column, computed once per distinct (type, value)."""
    return Distinct.of(values).map(fn).series()


def clean_texts(values: pd.Series) -> pd.Series:
    """clean_text over a column (object dtype: str or None), same index."""
    return map_distinct(values, clean_text)


def parse_numbers(values: pd.Series) -> pd.Series:
    """parse_number over a column (object dtype: float, None or INVALID), same index."""
    return map_distinct(values, parse_number)


def parse_ints(values: pd.Series) -> pd.Series:
    """parse_int over a column (object dtype: int, None or INVALID), same index."""
    return map_distinct(values, parse_int)


def parse_datetimes(values: pd.Series, ref_year: int | None = None) -> pd.Series:
    """parse_datetime over a column (object dtype: datetime, None or INVALID), same index."""
    return map_distinct(values, lambda v: parse_datetime(v, ref_year=ref_year))


def _flags(cross_border: Any, index: pd.Index) -> np.ndarray:
    """Per-row cross-border flags aligned on the index (missing -> False)."""
    n = len(index)
    if not isinstance(cross_border, pd.Series):
        if np.ndim(cross_border) == 0:
            return np.full(n, False if _is_missing(cross_border) else bool(cross_border))
        cross_border = pd.Series(list(cross_border), index=index if len(cross_border) == n else None,
                                 dtype=object)
    if cross_border.index.equals(index):
        if cross_border.dtype == bool:
            return cross_border.to_numpy()
        raw = cross_border.to_numpy(dtype=object)
    elif cross_border.index.is_unique and index.is_unique:
        raw = cross_border.reindex(index).to_numpy(dtype=object)
    elif len(cross_border) == n:
        raw = cross_border.to_numpy(dtype=object)
    else:
        return np.zeros(n, dtype=bool)
    return np.array([False if _is_missing(x) else bool(x) for x in raw], dtype=bool)


def normalize_phones(values: pd.Series | Distinct, cross_border: pd.Series | bool = False) -> pd.DataFrame:
    """normalize_phone over a column. Columns: value (str or None), ok (bool); same index.

    cross_border is a per-row flag Series aligned on the index (or one bool
    for the whole column); missing flags count as False.
    """
    cells = values if isinstance(values, Distinct) else Distinct.of(values)
    try:
        flags = _flags(cross_border, cells.index)
    except Exception:  # noqa: BLE001
        flags = np.zeros(len(cells.index), dtype=bool)
    by_flag = Distinct(cells.index, cells.name, flags.astype(np.intp), [False, True])
    phones = Distinct.combine([cells, by_flag], _phone_or_fallback)
    return pd.DataFrame({"value": phones.map(lambda r: r[0]).series(),
                         "ok": pd.Series(phones.flags(lambda r: r[1]), index=cells.index, dtype=bool)})
