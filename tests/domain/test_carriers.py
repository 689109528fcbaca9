"""Couriers as data: codes, names, aliases, tracking-number patterns, detection, platform codes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from pydantic import ValidationError

from pyshipbook.book.templates import CARRIERS_FILE, load_carriers, load_platforms
from pyshipbook.domain.carriers import (CarrierBook, batch_ship_rows, carrier_code, check_tracking_number,
                                        detect_carrier, normalise_tracking_number, platform_code,
                                        split_tracking_numbers, tracking_import_key_of)
from pyshipbook.domain.normalize import INVALID
from pyshipbook.domain.tracking import CODES
from pyshipbook.errors import ShipbookError


@pytest.fixture(scope="module")
def carriers() -> CarrierBook:
    return load_carriers()


@pytest.fixture(scope="module")
def platforms():
    return load_platforms()


def fw(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in s)


# -- the data ---------------------------------------------------------------------------------------
NAMES = {"SF": "顺丰速运", "ZTO": "中通快递", "YTO": "圆通速递", "YUNDA": "韵达快递", "STO": "申通快递",
         "JD": "京东物流", "EMS": "中国邮政EMS", "JT": "极兔速递", "DBL": "德邦快递"}
# shared/FIELD-NOTES.md, "Couriers and platforms": kept exactly
PATTERNS = {"SF": r"^SF[0-9A-Z]\d{12}$", "YTO": r"^YT\d{13}$", "ZTO": r"^7[3-68]\d{12}$",
            "STO": r"^(77|43)\d{12,15}$", "YUNDA": r"^[34]\d{14}$|^5\d{12}$", "JD": r"^JD[0-9A-Z]{2}\d{11}$",
            "EMS": r"^[189]\d{12}$", "JT": r"^JT\d{13}$", "DBL": r"^DPK\d{12}$"}


def test_every_courier_has_its_code_chinese_name_and_the_field_notes_pattern(carriers):
    assert carriers.codes == list(NAMES)
    for code, name in NAMES.items():
        assert carriers[code].name == name
        assert carriers[code].pattern == PATTERNS[code]


VALID = {
    "SF": ["SF1234567890123", "SFA123456789012"],
    "YTO": ["YT1234567890123"],
    "ZTO": ["73123456789012", "75123456789012", "78123456789012"],
    "STO": ["77123456789012", "771234567890123", "7712345678901234", "43123456789012345"],
    "YUNDA": ["312345678901234", "431234567890123", "5123456789012"],
    "JD": ["JDVA12345678901", "JDX012345678901"],
    "EMS": ["1123456789012", "8123456789012", "9812345678901"],
    "JT": ["JT1234567890123"],
    "DBL": ["DPK123456789012"],
}
INVALID_SAMPLES = {
    "SF": ["SF123456789012", "SF12345678901234", "SFAB12345678901", "S1234567890123"],
    "YTO": ["YT123456789012", "YT12345678901234", "YTA234567890123"],
    "ZTO": ["77123456789012", "73123456789", "7312345678901", "731234567890123", "93123456789012"],
    "STO": ["7712345678901", "771234567890123456", "73123456789012", "44123456789012"],
    "YUNDA": ["31234567890123", "612345678901234", "512345678901", "51234567890123"],
    "JD": ["JD12345678901", "JDVA1234567890", "JDVA123456789012"],
    "EMS": ["2123456789012", "112345678901", "11234567890123"],
    "JT": ["JT123456789012", "JT12345678901234"],
    "DBL": ["DPK12345678901", "DPK1234567890123", "DP1234567890123"],
}


@pytest.mark.parametrize("code,number", [(c, n) for c, ns in VALID.items() for n in ns])
def test_a_valid_number_passes_the_check_for_its_courier(carriers, code, number):
    result = check_tracking_number(number, code, carriers)
    assert result.ok, result.message
    assert (result.number, result.carrier) == (number, code)


@pytest.mark.parametrize("code,number", [(c, n) for c, ns in INVALID_SAMPLES.items() for n in ns])
def test_a_malformed_number_fails_the_check_for_its_courier(carriers, code, number):
    result = check_tracking_number(number, code, carriers)
    assert not result.ok
    assert result.code in ("tracking.invalid", "tracking.carrier_mismatch")


# -- numeric numbers are ambiguous ------------------------------------------------------------------
AMBIGUOUS = [
    ("73123456789012", {"ZTO"}),                 # a ZTO-looking number
    ("77123456789012", {"STO"}),
    ("431234567890123", {"STO", "YUNDA"}),       # 43… 15 digits: both STO and Yunda patterns
    ("312345678901234", {"YUNDA"}),
    ("5123456789012", {"YUNDA"}),
    ("1123456789012", {"EMS"}),
    ("9812345678901", {"EMS"}),
]


@pytest.mark.parametrize("number,fits", AMBIGUOUS)
def test_numeric_numbers_are_never_detected_and_the_chosen_courier_decides(carriers, number, fits):
    assert detect_carrier(number, carriers) is None
    no_choice = check_tracking_number(number, None, carriers)
    assert (no_choice.ok, no_choice.code) == (False, "tracking.carrier_unknown")
    for code in carriers.codes:
        result = check_tracking_number(number, code, carriers)
        assert result.ok == (code in fits), (code, result)
        if not result.ok:
            assert result.code in ("tracking.invalid",)


def test_a_43_number_matches_both_sto_and_yunda_patterns_so_only_the_choice_tells_them_apart(carriers):
    assert carriers["STO"].matches("431234567890123") and carriers["YUNDA"].matches("431234567890123")
    assert check_tracking_number("431234567890123", "申通", carriers).carrier == "STO"
    assert check_tracking_number("431234567890123", "韵达", carriers).carrier == "YUNDA"


@pytest.mark.parametrize("number,code", [
    ("SF1234567890123", "SF"), ("sf1234567890123", "SF"), ("YT1234567890123", "YTO"),
    ("JDVA12345678901", "JD"), ("JT1234567890123", "JT"), ("DPK123456789012", "DBL"),
    (fw("yt1234567890123"), "YTO"), ("JT 1234-5678-90123", "JT"),
])
def test_letter_prefixes_detect_the_courier(carriers, number, code):
    assert detect_carrier(number, carriers) == code
    result = check_tracking_number(number, None, carriers)
    assert result.ok and result.carrier == code


@pytest.mark.parametrize("number", ["EA123456789CN", "AB1234567890", "", None, "73123456789012"])
def test_unknown_prefixes_and_numbers_detect_nothing(carriers, number):
    assert detect_carrier(number, carriers) is None


@pytest.mark.parametrize("number,chosen,prefix_says", [
    ("SF1234567890123", "ZTO", "SF"), ("JT1234567890123", "JD", "JT"), ("YT1234567890123", "韵达", "YTO"),
    ("DPK123456789012", "顺丰", "DBL"),
])
def test_a_prefix_naming_another_courier_than_the_chosen_one_is_a_mismatch(carriers, number, chosen, prefix_says):
    result = check_tracking_number(number, chosen, carriers)
    assert (result.ok, result.code) == (False, "tracking.carrier_mismatch")
    assert carriers[prefix_says].name in result.detail


def test_an_unrecognised_courier_name_is_reported_not_guessed(carriers):
    result = check_tracking_number("SF1234567890123", "某某快递", carriers)
    assert (result.ok, result.code, result.detail) == (False, "tracking.carrier_unknown", "某某快递")


# -- aliases ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,code", [
    ("顺丰", "SF"), ("顺丰快递", "SF"), ("SF Express", "SF"), ("sf", "SF"), (" ＳＦ ", "SF"), ("顺丰速运", "SF"),
    ("中通", "ZTO"), ("中通快递", "ZTO"), ("圆通", "YTO"), ("圆通速递", "YTO"), ("韵达", "YUNDA"), ("yunda", "YUNDA"),
    ("申通", "STO"), ("京东", "JD"), ("京东快递", "JD"), ("京东物流", "JD"), ("EMS", "EMS"), ("ems", "EMS"),
    ("邮政", "EMS"), ("中国邮政EMS", "EMS"), ("极兔", "JT"), ("J&T", "JT"), ("J＆T", "JT"), ("j & t express", "JT"),
    ("JTSD", "JT"), ("德邦", "DBL"), ("德邦快递", "DBL"), ("DBKD", "DBL"), ("DBL", "DBL"), (fw("zto"), "ZTO"),
])
def test_aliases_users_type_name_the_courier(carriers, text, code):
    assert carrier_code(text, carriers) == code


@pytest.mark.parametrize("text", ["顺丰速运有限公司", "百世快递", "快递", "", None, float("nan"), "S F X"])
def test_anything_but_a_whole_alias_names_no_courier(carriers, text):
    assert carrier_code(text, carriers) is None


def test_an_alias_naming_two_couriers_is_refused():
    data = {"carriers": {"SF": {"name": "顺丰速运", "pattern": "^SF$", "aliases": ["快递"]},
                         "ZTO": {"name": "中通快递", "pattern": "^7$", "aliases": ["快递"]}}}
    with pytest.raises(ValidationError, match="快递"):
        CarrierBook.model_validate(data)


def test_a_broken_pattern_is_refused():
    with pytest.raises(ValidationError, match="pattern"):
        CarrierBook.model_validate({"carriers": {"SF": {"name": "顺丰", "pattern": "^SF(\\d$"}}})


def test_a_broken_carriers_file_stops_with_a_bilingual_error(tmp_path):
    bad = tmp_path / "carriers.toml"
    bad.write_text("[carriers.SF\nname = 1", encoding="utf-8")
    with pytest.raises(ShipbookError) as exc:
        load_carriers(bad)
    assert "carriers.toml" in exc.value.zh and "TOML" in exc.value.en


def test_a_courier_is_added_by_data_alone(tmp_path):
    text = CARRIERS_FILE.read_text(encoding="utf-8")
    extra = '\n[carriers.KYE]\nname = "跨越速运"\npattern = \'^KY\\d{10}$\'\nprefixes = ["KY"]\naliases = ["跨越"]\n'
    path = tmp_path / "carriers.toml"
    path.write_text(text + extra, encoding="utf-8")
    book = load_carriers(path)
    assert carrier_code("跨越", book) == "KYE"
    assert detect_carrier("KY1234567890", book) == "KYE"
    assert check_tracking_number("KY1234567890", None, book).ok


# -- normalising tracking numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("raw,expected", [
    ("SF1234567890123", "SF1234567890123"), (" sf 1234 5678 90123 ", "SF1234567890123"),
    ("7312-3456-7890-12", "73123456789012"), ("7312—3456–789012", "73123456789012"),
    (fw("YT1234567890123"), "YT1234567890123"), ("ＳＦ１２３４５６７８９０１２３", "SF1234567890123"),
    (73123456789012, "73123456789012"), (73123456789012.0, "73123456789012"),
    (np.int64(73123456789012), "73123456789012"), (np.float64(312345678901234.0), "312345678901234"),
    (Decimal("73123456789012"), "73123456789012"), ("73123456789012.0", "73123456789012"),
    ("\u200b73123456789012\u3000", "73123456789012"),
])
def test_tracking_numbers_are_normalised(raw, expected):
    assert normalise_tracking_number(raw) == expected


@pytest.mark.parametrize("raw", [
    7.31234567890123e+13,            # Excel showed/stored it with a fraction: digits lost
    "7.31234567890123E+13", "7.31235e+13", "7.3E13",   # scientific text from a CSV Excel saved
    7712345678901234.0,              # ≥ 10^15: the float may not hold every digit
    1.2e17, float("inf"), -73123456789012.0, -5, True,
    "SF12345678901２3号", "顺丰", "SF#1234567890123", "7712345678901234.0", "A" * 41,
])
def test_numbers_that_lost_digits_or_are_not_numbers_are_flagged(raw):
    assert normalise_tracking_number(raw) is INVALID


@pytest.mark.parametrize("raw", [None, "", "   ", " - ", float("nan")])
def test_blank_tracking_numbers_are_none(raw):
    assert normalise_tracking_number(raw) is None


def test_a_float_that_lost_digits_is_reported_unreadable_not_accepted(carriers):
    result = check_tracking_number(7.31234567890123e+13, "ZTO", carriers)
    assert (result.ok, result.code) == (False, "tracking.unreadable")
    assert result.detail == "73123456789012.3"     # what was read, shown to the user
    assert check_tracking_number(73123456789012.0, "ZTO", carriers).ok
    assert check_tracking_number(None, "ZTO", carriers).code == "tracking.missing"


def test_every_check_code_has_chinese_and_english_text(carriers):
    for number, chosen in (("x", None), (None, None), ("SF1", "SF"), ("SF1234567890123", "ZTO"), ("73123456789012", None)):
        result = check_tracking_number(number, chosen, carriers)
        assert result.code in CODES
        assert CODES[result.code].zh in result.message and CODES[result.code].en in result.message


def test_a_cell_with_several_numbers_splits_into_each_normalised():
    assert split_tracking_numbers("SF1234567890123, yt1234567890123，73123456789012") == \
        ["SF1234567890123", "YT1234567890123", "73123456789012"]
    assert split_tracking_numbers("SF1234567890123,SF1234567890123") == ["SF1234567890123"]
    assert split_tracking_numbers(73123456789012.0) == ["73123456789012"]
    assert split_tracking_numbers(None) == [] and split_tracking_numbers("") == []
    assert split_tracking_numbers("SF1234567890123,待补") == ["SF1234567890123", "待补"]


# -- tracking import headers --------------------------------------------------------------------------
@pytest.mark.parametrize("header,key", [
    ("用户订单号", "order_id"), ("订单号", "order_id"), ("订单编号", "order_id"), (" 订单 号 ", "order_id"),
    ("运单号", "tracking_no"), ("运单号码", "tracking_no"), ("快递单号", "tracking_no"), ("物流单号", "tracking_no"),
    ("快递公司", "carrier"), ("物流公司", "carrier"), ("tracking_no", "tracking_no"), ("收件人", None),
])
def test_tracking_import_headers_map_to_keys(carriers, header, key):
    assert tracking_import_key_of(carriers)(header) == key


# -- platforms ------------------------------------------------------------------------------------------
def test_the_four_platform_files_load(platforms):
    assert set(platforms) == {"wechat", "taobao", "youzan", "generic"}


@pytest.mark.parametrize("name", ["wechat", "taobao", "youzan", "generic"])
def test_every_platform_maps_every_internal_carrier(carriers, platforms, name):
    p = platforms[name]
    assert set(p.codes) == set(carriers.codes)
    for code in carriers.codes:
        assert platform_code(code, p)
    assert {"order_id", "tracking_no"} <= {c.field for c in p.columns}


@pytest.mark.parametrize("name,carrier,expected", [
    ("wechat", "SF", "SF"), ("wechat", "JT", "JTSD"), ("wechat", "DBL", "DBKD"), ("wechat", "YUNDA", "YUNDA"),
    ("taobao", "JT", "JT"), ("taobao", "EMS", "EMS"), ("youzan", "SF", "shunfeng"), ("youzan", "STO", "shentong"),
    ("youzan", "JT", "jtexpress"), ("youzan", "DBL", "debangwuliu"), ("generic", "ZTO", "中通快递"),
    ("wechat", "sf", "SF"), ("wechat", "KYE", None), ("wechat", None, None),
])
def test_platform_codes(platforms, name, carrier, expected):
    assert platform_code(carrier, platforms[name]) == expected
    assert platform_code(carrier, dict(platforms[name].codes)) == expected


def test_the_batch_ship_file_has_the_platform_headers_and_codes(carriers, platforms):
    shipments = [{"order_id": "A001", "carrier": "JT", "tracking_no": "JT1234567890123"},
                 {"order_id": "A001", "carrier": "SF", "tracking_no": "SF1234567890123"},
                 {"order_id": "=HYPERLINK(1)", "carrier": "KYE", "tracking_no": "KY1"},
                 {"order_id": "@B002", "carrier": "ZTO", "tracking_no": "73123456789012"}]
    headers, rows, problems = batch_ship_rows(platforms["wechat"], shipments, carriers)
    assert headers == ["订单号", "快递公司", "快递单号"]
    assert rows == [["A001", "JTSD", "JT1234567890123"], ["A001", "SF", "SF1234567890123"],
                    ["@B002", "ZTO", "73123456789012"]]
    assert [(p["order_id"], p["code"]) for p in problems] == [("=HYPERLINK(1)", "tracking.platform_code_missing")]
    _, csv_rows, _ = batch_ship_rows(platforms["wechat"], shipments, carriers, target="csv")
    assert csv_rows[-1][0] == "'@B002"
    _, taobao, _ = batch_ship_rows(platforms["taobao"], shipments, carriers)
    assert [r[0] for r in taobao] == ["A001", "@B002"]          # one number per order on Taobao
    _, generic, _ = batch_ship_rows(platforms["generic"], shipments[:1], carriers)
    assert generic == [["A001", "极兔速递", "JT1234567890123"]]
