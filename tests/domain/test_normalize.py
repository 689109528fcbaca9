"""Behaviour of the cell normalisers used by validate (pure functions, no I/O)."""

from __future__ import annotations

import copy
import datetime as dt
import math
import pickle
import string
from decimal import Decimal

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyshipbook.domain import normalize as nz
from pyshipbook.domain.normalize import (
    INVALID,
    clean_text,
    clean_texts,
    excel_serial_to_datetime,
    is_formula_like,
    normalize_phone,
    normalize_phones,
    parse_datetime,
    parse_datetimes,
    parse_int,
    parse_ints,
    parse_number,
    parse_numbers,
)

NAN = float("nan")
INF = float("inf")
D = dt.datetime


def fw(s: str) -> str:
    """The full-width form of ASCII text, as Chinese input methods type it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


# --------------------------------------------------------------------------- INVALID


def test_invalid_is_a_singleton_distinct_from_none_and_survives_copy_and_pickle():
    assert INVALID is not None
    assert repr(INVALID) == "INVALID"
    assert type(INVALID)() is INVALID
    assert copy.copy(INVALID) is INVALID
    assert copy.deepcopy([INVALID])[0] is INVALID
    assert pickle.loads(pickle.dumps(INVALID)) is INVALID


# --------------------------------------------------------------------------- clean_text


@pytest.mark.parametrize(
    "raw, expected",
    [
        (None, None),
        (NAN, None),
        (np.float64("nan"), None),
        (pd.NA, None),
        (pd.NaT, None),
        ("", None),
        ("   ", None),
        ("\u3000\u3000", None),
        ("\u00a0\u200b", None),
        ("  王芳 ", "王芳"),
        (fw("ABC123"), "ABC123"),
        ("\u3000王芳\u3000", "王芳"),
        ("\ufeffWS1001", "WS1001"),
        ("WS\u200b1001", "WS1001"),
        ("王\u00a0芳", "王 芳"),
        (12345.0, "12345"),
        (13812345678.0, "13812345678"),
        (-0.0, "0"),
        (12.5, "12.5"),
        (42, "42"),
        (np.int64(7), "7"),
        (Decimal("3.5"), "3.5"),
        (True, "True"),
        ("广东省深圳市", "广东省深圳市"),
        ("你".encode(), "你"),
        (D(2026, 11, 26, 14, 0), "2026-11-26 14:00:00"),
    ],
)
def test_clean_text_normalises_width_spaces_and_excel_floats(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_keeps_full_width_yuan_sign_and_chinese_punctuation_other_than_ascii_range():
    assert clean_text("￥12") == "￥12"  # U+FFE5 is outside FF01..FF5E: parse_number handles it
    assert clean_text("（备注）") == "(备注)"  # full-width parentheses are in the range


def test_clean_text_of_a_huge_integer_does_not_raise():
    assert clean_text(10**5000) == f"<{(10**5000).bit_length()}-bit integer>"


def test_clean_text_of_an_object_whose_str_raises_is_blank_not_an_exception():
    class Nasty:
        def __str__(self):
            raise RuntimeError("boom")

    assert clean_text(Nasty()) is None


# --------------------------------------------------------------------------- is_formula_like


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", "\0x", "＝SUM(A1)", "＠x"])
def test_text_starting_like_a_formula_is_flagged(text):
    assert is_formula_like(text) is True


@pytest.mark.parametrize("value", ["", "王芳", " =1", "a=b", "1+1", None, 5, -5, b"=1", ["=1"]])
def test_plain_text_and_non_text_are_not_formula_like(value):
    assert is_formula_like(value) is False


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "raw, expected",
    [
        (12, 12.0),
        (12.5, 12.5),
        (np.int64(3), 3.0),
        (Decimal("1.25"), 1.25),
        ("12.5", 12.5),
        (fw("12.5"), 12.5),
        ("１２.５", 12.5),
        ("¥1,299.00", 1299.0),
        ("￥1,299", 1299.0),
        ("RMB 12", 12.0),
        ("rmb12", 12.0),
        ("人民币88", 88.0),
        ("12元", 12.0),
        ("12.50 元", 12.5),
        (" 1 299 ", 1299.0),
        ("-3", -3.0),
        ("-¥3", -3.0),
        ("¥-3", -3.0),
        ("+7", 7.0),
        ("12.", 12.0),
        (".5", 0.5),
        ("0", 0.0),
        (-0.0, 0.0),
    ],
)
def test_parse_number_reads_messy_money_and_quantities(raw, expected):
    got = parse_number(raw)
    assert isinstance(got, float)
    assert got == expected


@pytest.mark.parametrize("raw", [None, NAN, "", "  ", "\u3000", pd.NA, Decimal("NaN")])
def test_parse_number_of_blank_is_none(raw):
    assert parse_number(raw) is None


@pytest.mark.parametrize(
    "raw",
    [True, False, np.bool_(True), INF, -INF, "abc", "1,2,3", "12,34", "1e3", "1.299,00", "--3", "-¥-3", "12%",
     "0x10", "nan", "inf", "(12)", "1/2", "12 元 5", D(2026, 1, 1), b"12", [1], "9" * 400],
)
def test_parse_number_of_unreadable_values_is_invalid(raw):
    assert parse_number(raw) is INVALID


@pytest.mark.parametrize(
    "raw, expected",
    [(3, 3), (3.0, 3), ("3", 3), ("3.0", 3), ("３", 3), (" 12 ", 12), ("1,000", 1000), (np.int64(5), 5), (-2, -2),
     ("12345678901234567890", 12345678901234567890), (Decimal("4"), 4)],
)
def test_parse_int_accepts_whole_numbers_in_any_spelling(raw, expected):
    got = parse_int(raw)
    assert type(got) is int
    assert got == expected


@pytest.mark.parametrize("raw", ["2.5", 2.5, True, "abc", INF, "3.0001", "1e2"])
def test_parse_int_rejects_fractions_bools_and_text(raw):
    assert parse_int(raw) is INVALID


@pytest.mark.parametrize("raw", [None, NAN, "", " "])
def test_parse_int_of_blank_is_none(raw):
    assert parse_int(raw) is None


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026/11/26 14:00", D(2026, 11, 26, 14, 0)),
        ("2026-11-26 14:00:00", D(2026, 11, 26, 14, 0)),
        ("2026-11-26T14:00:00", D(2026, 11, 26, 14, 0)),
        ("2026-11-26 14:00:05.25", D(2026, 11, 26, 14, 0, 5, 250000)),
        ("2026.11.26", D(2026, 11, 26)),
        ("2026/11/26", D(2026, 11, 26)),
        ("2026/1/6 9:05", D(2026, 1, 6, 9, 5)),
        ("2026年11月26日 10:45", D(2026, 11, 26, 10, 45)),
        ("2026年11月26日10时45分", D(2026, 11, 26, 10, 45)),
        ("2026年11月26日10点", D(2026, 11, 26, 10)),
        ("2026年11月26日", D(2026, 11, 26)),
        ("2026 年 11 月 26 日", D(2026, 11, 26)),
        ("2026年11月26号 10:45:30", D(2026, 11, 26, 10, 45, 30)),
        ("２０２６/１１/２６ １４：００", D(2026, 11, 26, 14, 0)),
        ("  2026/11/26 14:00  ", D(2026, 11, 26, 14, 0)),
        ("2026/11/26 下午2:00", D(2026, 11, 26, 14, 0)),
        ("2026/11/26 上午12:30", D(2026, 11, 26, 0, 30)),
        ("2026/11/26 2:00 PM", D(2026, 11, 26, 14, 0)),
        ("20261126", D(2026, 11, 26)),
        ("20261126 1430", D(2026, 11, 26, 14, 30)),
        ("2024/02/29", D(2024, 2, 29)),
    ],
)
def test_parse_datetime_reads_text_dates_in_chinese_and_iso_forms(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (46352, D(2026, 11, 26)),
        (46352.0, D(2026, 11, 26)),
        (46352.583333333336, D(2026, 11, 26, 14, 0)),
        (46352.44791666667, D(2026, 11, 26, 10, 45)),
        (np.int64(46352), D(2026, 11, 26)),
        ("46352", D(2026, 11, 26)),
        ("46352.5", D(2026, 11, 26, 12, 0)),
        (fw("46352"), D(2026, 11, 26)),
        (20000, D(1954, 10, 3)),
        (80000, D(2119, 1, 11)),
    ],
)
def test_parse_datetime_reads_excel_serials_in_the_plausible_range(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize("raw", [19999, 80001, 1, 60, 0, -5, 1e300, INF, -INF, "12345", "99999"])
def test_excel_serials_outside_the_plausible_range_are_invalid(raw):
    assert parse_datetime(raw) is INVALID


def test_excel_1900_leap_year_bug_is_handled_like_openpyxl_from_excel():
    # Excel counts a non-existent 1900-02-29 (serial 60): serials after it are one day off the naive count
    assert excel_serial_to_datetime(1) == D(1900, 1, 1)
    assert excel_serial_to_datetime(59) == D(1900, 2, 28)
    assert excel_serial_to_datetime(60) == D(1900, 2, 28)
    assert excel_serial_to_datetime(61) == D(1900, 3, 1)
    assert excel_serial_to_datetime(61.5) == D(1900, 3, 1, 12)
    assert excel_serial_to_datetime(0.5) is INVALID
    assert excel_serial_to_datetime(True) is INVALID
    assert excel_serial_to_datetime(NAN) is INVALID
    assert excel_serial_to_datetime(10**9) is INVALID  # beyond year 9999


@pytest.mark.parametrize("raw", ["11月26日 10:45", "11/26 10:45", "11/26", "11-26", "11月26日"])
def test_dates_without_a_year_need_ref_year_and_are_never_guessed(raw):
    assert parse_datetime(raw) is INVALID
    got = parse_datetime(raw, ref_year=2026)
    assert got is not INVALID and (got.year, got.month, got.day) == (2026, 11, 26)


def test_year_less_date_keeps_its_time_with_ref_year():
    assert parse_datetime("11月26日 10:45", ref_year=2025) == D(2025, 11, 26, 10, 45)
    assert parse_datetime("11/26 10:45", ref_year=2026) == D(2026, 11, 26, 10, 45)


@pytest.mark.parametrize(
    "raw",
    ["2026-02-30", "2026/02/29", "2026/13/01", "2026/11/31", "2026/11/26 25:00", "2026/11/26 14:60",
     "26/11/2026", "11.26", "2026/11", "2026年11月", "2026-11/26", "下单时间", "2026/11/26 14:00 +08:00",
     "2026/11/26 上午14:00", "20261331"],
)
def test_impossible_or_ambiguous_dates_are_invalid(raw):
    assert parse_datetime(raw, ref_year=2026) is INVALID


def test_impossible_year_less_date_is_invalid_even_with_ref_year():
    assert parse_datetime("2月29日", ref_year=2026) is INVALID
    assert parse_datetime("2月29日", ref_year=2028) == D(2028, 2, 29)


@pytest.mark.parametrize("ref_year", ["2026", True, 0, 10**6, 2026.0])
def test_a_bad_ref_year_makes_year_less_dates_invalid_not_an_error(ref_year):
    assert parse_datetime("11/26", ref_year=ref_year) is INVALID


@pytest.mark.parametrize(
    "raw, expected",
    [
        (D(2026, 11, 26, 14, 0, 7), D(2026, 11, 26, 14, 0, 7)),
        (dt.date(2026, 11, 26), D(2026, 11, 26)),
        (pd.Timestamp("2026-11-26 14:00:00.000000999"), D(2026, 11, 26, 14, 0)),
        (D(2026, 11, 26, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))), D(2026, 11, 26, 14, 0)),
        (np.datetime64("2026-11-26T14:00:00"), D(2026, 11, 26, 14, 0)),
    ],
)
def test_parse_datetime_passes_real_dates_through_as_naive_datetimes(raw, expected):
    got = parse_datetime(raw)
    assert type(got) is D
    assert got == expected and got.tzinfo is None


@pytest.mark.parametrize("raw", [None, NAN, "", "  ", pd.NaT, np.datetime64("NaT")])
def test_parse_datetime_of_blank_is_none(raw):
    assert parse_datetime(raw) is None


@pytest.mark.parametrize("raw", [True, False, dt.time(14, 0), dt.timedelta(days=1), b"2026/11/26", [46352]])
def test_parse_datetime_rejects_bools_times_of_day_and_other_objects(raw):
    assert parse_datetime(raw) is INVALID


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "138.1234.5678",
        "(138)12345678",
        "１３８１２３４５６７８",
        fw("138 1234 5678"),
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "0086 13812345678",
        "008613812345678",
        "8613812345678",
        "86 138 1234 5678",
        13812345678.0,
        13812345678,
        np.int64(13812345678),
        "\u200b13812345678\u00a0",
    ],
)
def test_messy_mainland_mobile_is_normalised_to_11_digits(raw):
    assert normalize_phone(raw) == ("13812345678", True)


def test_full_width_mobile_with_plus86_is_normalised():
    assert normalize_phone("＋８６ １３８ １２３４ ５６７８") == ("13812345678", True)


@pytest.mark.parametrize("number", ["19912345678", "19212345678", "19012345678", "16612345678", "16712345678",
                                    "17012345678", "14512345678", "18912345678"])
def test_newer_mobile_ranges_19x_16x_17x_are_valid(number):
    assert normalize_phone(number) == (number, True)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0755 8888 6666", "0755-88886666"),
        ("0755-88886666", "0755-88886666"),
        ("(021)12345678", "021-12345678"),
        ("(0755)8888-6666", "0755-88886666"),
        ("（０２１）１２３４５６７８", "021-12345678"),
        ("021-12345678-801", "021-12345678-801"),
        ("021-12345678转801", "021-12345678-801"),
        ("021-12345678 ext. 801", "021-12345678-801"),
        ("+86 10 1234 5678", "010-12345678"),
        ("+86 (0)10 12345678", "010-12345678"),
        ("+86 755 8888 6666", "0755-88886666"),
        ("0086-21-12345678-801", "021-12345678-801"),
    ],
)
def test_mainland_landline_is_normalised_to_area_code_dash_number(raw, expected):
    assert normalize_phone(raw) == (expected, True)


@pytest.mark.parametrize(
    "raw",
    ["12345678901", "1381234567", "138123456789", "88886666", "075512345", "4001234567", "0755-8888666", "abc",
     "138-1234-567x", "17965008748", "+86 123 4567 8901", "13812345678转8", "0000000", "+", "00", "86"],
)
def test_invalid_phone_is_not_ok_and_keeps_the_cleaned_text(raw):
    value, ok = normalize_phone(raw)
    assert ok is False
    assert value == clean_text(raw)


@pytest.mark.parametrize("raw", [None, NAN, "", "   ", "\u3000"])
def test_blank_phone_is_none_and_not_ok(raw):
    assert normalize_phone(raw) == (None, False)
    assert normalize_phone(raw, cross_border=True) == (None, False)


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+85291234567", "+85291234567"),
        ("+852 9123 4567", "+85291234567"),
        ("00852 9123 4567", "+85291234567"),
        ("+1 650-253-0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("＋８５２ ９１２３ ４５６７", "+85291234567"),
    ],
)
def test_foreign_number_is_e164_and_ok_only_for_cross_border_orders(raw, e164):
    assert normalize_phone(raw, cross_border=True) == (e164, True)
    assert normalize_phone(raw, cross_border=False) == (e164, False)
    assert normalize_phone(raw) == (e164, False)


def test_mainland_numbers_stay_mainland_form_on_cross_border_orders():
    assert normalize_phone("+86 138 1234 5678", cross_border=True) == ("13812345678", True)
    assert normalize_phone("13812345678", cross_border=True) == ("13812345678", True)
    assert normalize_phone("0755 8888 6666", cross_border=True) == ("0755-88886666", True)


def test_foreign_number_without_plus_is_not_guessed():
    assert normalize_phone("85291234567", cross_border=True) == ("85291234567", False)


def test_invalid_foreign_number_is_not_ok_even_for_cross_border():
    assert normalize_phone("+852 123", cross_border=True) == ("+852 123", False)
    assert normalize_phone("+999 1234 5678", cross_border=True) == ("+999 1234 5678", False)


def test_bool_and_odd_objects_are_not_phone_numbers():
    assert normalize_phone(True) == ("True", False)
    assert normalize_phone(D(2026, 11, 26)) == ("2026-11-26 00:00:00", False)
    assert normalize_phone(13812345678.5) == ("13812345678.5", False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_mobile_fast_path_agrees_with_phonenumbers_is_valid_number(tail):
    number = "1" + tail
    expected = phonenumbers.is_valid_number(phonenumbers.parse("+86" + number, None))
    assert normalize_phone(number)[1] is expected


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["10", "20", "21", "22", "23", "24", "25", "27", "28", "29", "311", "351", "371", "431",
                        "451", "471", "510", "531", "551", "571", "591", "731", "755", "769", "871", "898", "991"]),
       st.text(alphabet="0123456789", min_size=6, max_size=9))
def test_landline_agrees_with_phonenumbers_fixed_line_validation(area, subscriber):
    num = phonenumbers.parse(f"+86{area}{subscriber}", None)
    is_fixed = phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) in (
        phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    value, ok = normalize_phone(f"0{area}-{subscriber}")
    assert ok is is_fixed
    if ok:
        assert value.replace("-", "") == f"0{area}{subscriber}"


# --------------------------------------------------------------------------- columns


def test_column_helpers_keep_the_index_and_match_the_scalar_functions():
    idx = pd.Index([10, 3, 7, 99, 4, 5], name="row")
    values = pd.Series(["１３８ １２３４ ５６７８", None, "2.5", "2026/11/26 14:00", 46352.0, "  x "], index=idx)
    for column_fn, scalar_fn in [
        (clean_texts, clean_text),
        (parse_numbers, parse_number),
        (parse_ints, parse_int),
        (lambda s: parse_datetimes(s, 2026), lambda v: parse_datetime(v, ref_year=2026)),
    ]:
        got = column_fn(values)
        assert got.index.equals(idx)
        assert got.dtype == object
        assert got.tolist() == [scalar_fn(v) for v in values]


def test_column_helpers_return_the_exact_expected_values():
    s = pd.Series(["12", "", "abc", 3.0, None], index=list("abcde"))
    assert parse_ints(s).tolist() == [12, None, INVALID, 3, None]
    assert parse_numbers(s).tolist() == [12.0, None, INVALID, 3.0, None]
    assert clean_texts(s).tolist() == ["12", None, "abc", "3", None]


def test_column_helpers_do_not_confuse_true_with_one():
    s = pd.Series([1, True, 1.0, "1", False, 0], dtype=object)
    assert parse_ints(s).tolist() == [1, INVALID, 1, 1, INVALID, 0]
    assert parse_numbers(s).tolist() == [1.0, INVALID, 1.0, 1.0, INVALID, 0.0]
    assert clean_texts(s).tolist() == ["1", "True", "1", "1", "False", "0"]


def test_column_helpers_accept_pandas_string_dtype_with_missing_values():
    s = pd.Series(["2026/11/26", None, "11月26日"], dtype="str")
    got = parse_datetimes(s, None)
    assert got.tolist() == [D(2026, 11, 26), None, INVALID]
    assert clean_texts(s).tolist() == ["2026/11/26", None, "11月26日"]


def test_parse_datetimes_accepts_a_datetime64_column():
    s = pd.Series(pd.to_datetime(["2026-11-26 14:00", None]), index=[5, 6])
    got = parse_datetimes(s, None)
    assert got.index.tolist() == [5, 6]
    assert got.tolist() == [D(2026, 11, 26, 14), None]


def test_column_helpers_accept_float_columns_with_nan():
    s = pd.Series([13812345678.0, NAN, 46352.0])
    assert clean_texts(s).tolist() == ["13812345678", None, "46352"]
    assert parse_ints(s).tolist() == [13812345678, None, 46352]


def test_column_helpers_survive_unhashable_cells():
    s = pd.Series([["=1"], {"a": 1}, "3"], dtype=object)
    assert parse_ints(s).tolist() == [INVALID, INVALID, 3]


def test_normalize_phones_keeps_index_and_uses_the_row_cross_border_flag():
    idx = pd.Index([7, 2, 9, 4, 11])
    phones = pd.Series(["+852 9123 4567", "+852 9123 4567", "138-1234-5678", None, "abc"], index=idx)
    cross = pd.Series([True, False, False, True, None], index=idx)
    got = normalize_phones(phones, cross)
    assert got.index.equals(idx)
    assert list(got.columns) == ["value", "ok"]
    assert got["ok"].dtype == bool
    assert got["value"].tolist() == ["+85291234567", "+85291234567", "13812345678", None, "abc"]
    assert got["ok"].tolist() == [True, False, True, False, False]
    for (v, cb), (value, ok) in zip(zip(phones, cross), zip(got["value"], got["ok"])):
        assert (value, ok) == normalize_phone(v, cross_border=bool(cb) if cb is not None else False)


def test_normalize_phones_aligns_cross_border_flags_on_the_index_not_the_position():
    phones = pd.Series(["+85291234567", "+85291234567"], index=[1, 2])
    cross = pd.Series([True, False], index=[2, 1])
    assert normalize_phones(phones, cross)["ok"].tolist() == [False, True]


def test_normalize_phones_accepts_one_flag_for_the_whole_column():
    phones = pd.Series(["+85291234567", "13812345678"])
    assert normalize_phones(phones, True)["ok"].tolist() == [True, True]
    assert normalize_phones(phones, False)["ok"].tolist() == [False, True]


def test_each_distinct_value_is_computed_once(monkeypatch):
    calls: list[object] = []
    real = nz._normalize_phone

    def counting(v, cb):
        calls.append(v)
        return real(v, cb)

    monkeypatch.setattr(nz, "_normalize_phone", counting)
    phones = pd.Series(["13812345678", "0755 8888 6666", None, NAN] * 5000)
    got = normalize_phones(phones, pd.Series([False] * 20000))
    assert len(got) == 20000
    assert got["ok"].sum() == 10000
    assert len(calls) == 3  # two numbers and one blank (None and NaN share it)


def test_each_distinct_date_is_parsed_once(monkeypatch):
    calls: list[object] = []
    real = nz.parse_datetime

    def counting(v, *, ref_year=None):
        calls.append(v)
        return real(v, ref_year=ref_year)

    monkeypatch.setattr(nz, "parse_datetime", counting)
    got = parse_datetimes(pd.Series(["2026/11/26 14:00", 46352.0, "2026/11/26 14:00"] * 1000), 2026)
    assert got.iloc[0] == D(2026, 11, 26, 14) and got.iloc[1] == D(2026, 11, 26)
    assert len(calls) == 2


# --------------------------------------------------------------------------- never raises

ANY_VALUE = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=string.digits + "+-./:()年月日时分 　０１２３４５６７８９＋", max_size=30),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.binary(max_size=20),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(min_size=1000, max_size=5000),
)


def _is_datetime_result(v):
    return v is None or v is INVALID or type(v) is D


@settings(max_examples=400, deadline=None)
@given(ANY_VALUE, st.one_of(st.none(), st.integers(), st.booleans()))
def test_every_scalar_function_is_total_on_arbitrary_values(value, ref_year):
    text = clean_text(value)
    assert text is None or (isinstance(text, str) and text == text.strip() and text)
    assert isinstance(is_formula_like(value), bool)

    number = parse_number(value)
    assert number is None or number is INVALID or (type(number) is float and math.isfinite(number))

    whole = parse_int(value)
    assert whole is None or whole is INVALID or type(whole) is int

    assert _is_datetime_result(parse_datetime(value, ref_year=ref_year))

    for cross_border in (False, True):
        phone, ok = normalize_phone(value, cross_border=cross_border)
        assert isinstance(ok, bool)
        assert phone is None or isinstance(phone, str)
        assert not (ok and phone is None)


@settings(max_examples=60, deadline=None)
@given(st.lists(ANY_VALUE, max_size=12), st.lists(st.one_of(st.booleans(), st.none()), max_size=12))
def test_every_column_function_is_total_and_keeps_the_length(values, flags):
    s = pd.Series(values, dtype=object)
    for fn in (clean_texts, parse_numbers, parse_ints, lambda x: parse_datetimes(x, 2026)):
        out = fn(s)
        assert len(out) == len(s) and out.index.equals(s.index)
    phones = normalize_phones(s, pd.Series(flags + [False] * (len(values) - len(flags)), dtype=object)[: len(values)])
    assert len(phones) == len(s) and phones.index.equals(s.index)


# --------------------------------------------------------------------------- distinct values

def _same(a, b):
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:  # noqa: BLE001
        return False


def test_distinct_keeps_equal_values_of_different_types_apart():
    cells = [1, 1.0, True, "1", np.int64(1), Decimal(1), 1, True, None, NAN, None]
    d = nz.Distinct.of(pd.Series(cells, dtype=object))
    assert [type(v) for v in d.values] == [int, float, bool, str, np.int64, Decimal, type(None), float]
    assert d.codes.tolist() == [0, 1, 2, 3, 4, 5, 0, 2, 6, 7, 6]
    assert all(_same(a, b) for a, b in zip(d.series().tolist(), cells))


def test_distinct_tells_a_datetime_from_an_equal_timestamp():
    when = D(2026, 11, 26, 14)
    d = nz.Distinct.of(pd.Series([when, pd.Timestamp(when), when], dtype=object))
    assert [type(v) for v in d.values] == [D, pd.Timestamp] and d.codes.tolist() == [0, 1, 0]


def test_distinct_survives_unhashable_cells():
    cells = pd.Series([[1], "a", [1], "a", {"k": 1}], dtype=object, index=[5, 6, 7, 8, 9])
    got = nz.map_distinct(cells, lambda v: str(v))
    assert got.tolist() == ["[1]", "a", "[1]", "a", "{'k': 1}"] and got.index.tolist() == [5, 6, 7, 8, 9]


def test_combine_runs_once_per_distinct_pair_and_compact_merges_equal_results():
    calls = []

    def product(a, b):
        calls.append((a, b))
        return a * b

    qty = nz.Distinct.of(pd.Series([1, 2, 1, 2, 3] * 100, dtype=object))
    price = nz.Distinct.of(pd.Series([6, 3, 6, 3, 2] * 100, dtype=object))
    amount = nz.Distinct.combine([qty, price], product)
    assert sorted(set(calls)) == [(1, 6), (2, 3), (3, 2)] and len(calls) == 3
    assert amount.series().tolist() == [6] * 500
    assert len(amount.compact().values) == 1 and amount.compact().series().tolist() == [6] * 500


def test_distinct_floats_and_flags_are_per_row():
    d = nz.Distinct.of(pd.Series([2, "x", True, None, 2.5, INVALID, 2], dtype=object))
    assert np.array_equal(d.floats(), [2.0, np.nan, np.nan, np.nan, 2.5, np.nan, 2.0], equal_nan=True)
    assert d.flags(lambda v: v is None).tolist() == [False, False, False, True, False, False, False]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(ANY_VALUE, st.sampled_from([1, 1.0, True, 0, False, 0.0, "1", None, NAN, pd.NaT, pd.NA])),
                max_size=25))
def test_column_helpers_equal_the_scalar_function_on_every_cell(values):
    s = pd.Series(values, dtype=object)
    # the cells come back as they were (blanks may come back as another blank)
    assert all(_same(a, b) or (nz._is_missing(a) and nz._is_missing(b))
               for a, b in zip(nz.Distinct.of(s).series().tolist(), values))
    for column, scalar in ((clean_texts, clean_text), (parse_numbers, parse_number), (parse_ints, parse_int),
                           (lambda x: parse_datetimes(x, 2026), lambda v: parse_datetime(v, ref_year=2026))):
        assert all(_same(a, scalar(v)) for a, v in zip(column(s).tolist(), values))
    flags = [i % 3 == 0 for i in range(len(values))]
    phones = normalize_phones(s, pd.Series(flags, dtype=bool))
    assert [(a, b) for a, b in zip(phones["value"], phones["ok"])] == \
        [normalize_phone(v, cross_border=f) for v, f in zip(values, flags)]


def test_a_numpy_string_is_text_like_any_other():
    d = nz.Distinct.of(pd.Series(["=1+1", np.str_("=1+1"), np.str_("x")], dtype=object))
    assert d.flags(is_formula_like).tolist() == [True, True, False]
    assert clean_texts(pd.Series([np.str_(" ａ "), " ａ "], dtype=object)).tolist() == ["a", "a"]
