"""Signing 出库单: who may sign, no-op re-signing, content changes void signatures."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pyshipbook.domain.signatures import (CODES, SLIP_SIGNED, VALID, VOID, decide_signature, is_valid, ready_slips,
                                          valid_signatures, void_changed)

NOW = dt.datetime(2026, 11, 26, 15, 0)
FP = "a" * 64
FP2 = "b" * 64
SETTINGS = {"signer_finance": "李财务", "signer_logistics": "赵物流"}
OPEN = {"signer_finance": "", "signer_logistics": None}


def slip(slip_no="CK20261126-001", fingerprint=FP, state="待签字", **over) -> dict:
    row = {"slip_no": slip_no, "fingerprint": fingerprint, "state": state, "finance_signer": None,
           "finance_signed_at": None, "logistics_signer": None, "logistics_signed_at": None}
    row.update(over)
    return row


def sig(role, signer, fingerprint=FP, valid=VALID, slip_no="CK20261126-001") -> dict:
    return {"slip_no": slip_no, "role": role, "signer": signer, "signed_at": NOW, "fingerprint": fingerprint,
            "valid": valid}


def sigs(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), index=range(2, 2 + len(rows)),
                        columns=["slip_no", "role", "signer", "signed_at", "fingerprint", "valid"], dtype=object)


def decide(role, signer, signatures=(), settings=SETTINGS, s=None, current=FP):
    return decide_signature(slip() if s is None else s, sigs(*signatures), role, signer, settings, current, NOW)


# -- accepting --------------------------------------------------------------------------------------
def test_the_named_finance_director_signs_first():
    d = decide("财务总监", "李财务")
    assert (d.outcome, d.role, d.code, d.both_signed) == ("accepted", "finance", None, False)
    assert d.signature == {"slip_no": "CK20261126-001", "role": "财务总监", "signer": "李财务", "signed_at": NOW,
                           "fingerprint": FP, "valid": VALID}
    assert d.slip_update == {"finance_signer": "李财务", "finance_signed_at": NOW, "state": "待签字"}


def test_the_second_role_completes_the_slip_and_its_lines_may_ship():
    d = decide("logistics", "赵物流", [sig("财务总监", "李财务")])
    assert (d.outcome, d.both_signed) == ("accepted", True)
    assert d.slip_update["state"] == SLIP_SIGNED and d.slip_update["logistics_signer"] == "赵物流"


def test_names_compare_without_spaces_case_or_full_width():
    assert decide("finance", " 李 财务 ").outcome == "accepted"
    assert decide("finance", "ＡＮＮ", settings={"signer_finance": "ann"}).outcome == "accepted"


def test_with_no_name_in_settings_anyone_may_sign_a_role():
    assert decide("财务", "随便谁", settings=OPEN).outcome == "accepted"
    assert decide("物流", "另一人", [sig("财务总监", "随便谁")], settings=OPEN).outcome == "accepted"


def test_several_names_in_settings_may_each_sign():
    settings = {"signer_finance": "李财务、钱副总", "signer_logistics": "赵物流"}
    assert decide("财务总监", "钱副总", settings=settings).outcome == "accepted"
    assert decide("财务总监", "孙某", settings=settings).code == "sign.wrong_person"


# -- refusing ---------------------------------------------------------------------------------------
def test_someone_else_than_the_named_person_is_refused():
    d = decide("物流总监", "王五")
    assert (d.outcome, d.code) == ("refused", "sign.wrong_person")
    assert "赵物流" in d.zh and "person" in d.en
    assert d.signature is None and d.slip_update == {}


def test_one_person_cannot_sign_both_roles():
    d = decide("logistics", "张三", [sig("财务总监", "张三")], settings=OPEN)
    assert (d.outcome, d.code) == ("refused", "sign.same_person_both_roles")
    d2 = decide("finance", "张三", [sig("物流总监", "张三")], settings={"signer_finance": "张三", "signer_logistics": "张三"})
    assert d2.code == "sign.same_person_both_roles"


def test_a_void_signature_by_the_same_person_does_not_block_the_other_role():
    d = decide("logistics", "张三", [sig("财务总监", "张三", valid=VOID), sig("财务总监", "李四")], settings=OPEN)
    assert d.outcome == "accepted" and d.both_signed


def test_signing_again_is_a_no_op():
    d = decide("财务总监", "李财务", [sig("财务总监", "李财务")])
    assert (d.outcome, d.code, d.signature, d.slip_update) == ("noop", None, None, {})
    done = decide("物流总监", "赵物流", [sig("财务总监", "李财务"), sig("物流总监", "赵物流")])
    assert done.outcome == "noop" and done.both_signed


def test_a_role_already_signed_by_another_person_is_refused():
    d = decide("finance", "钱副总", [sig("财务总监", "李财务")], settings=OPEN)
    assert (d.outcome, d.code) == ("refused", "sign.already_signed")
    assert "李财务" in d.zh


def test_a_slip_whose_content_changed_cannot_be_signed_until_reissued():
    d = decide("财务总监", "李财务", current=FP2)
    assert (d.outcome, d.code) == ("refused", "sign.content_changed")
    reissued = decide("财务总监", "李财务", s=slip(fingerprint=FP2), current=FP2)
    assert reissued.outcome == "accepted" and reissued.signature["fingerprint"] == FP2
    assert decide("财务总监", "李财务", s=slip(fingerprint=None)).code == "sign.content_changed"


def test_a_signature_on_older_content_does_not_count_for_the_reissued_slip():
    s = slip(fingerprint=FP2)
    d = decide("财务总监", "李财务", [sig("财务总监", "李财务", fingerprint=FP)], s=s, current=FP2)
    assert d.outcome == "accepted"            # not a no-op: the old signature signed other content


@pytest.mark.parametrize("s", [None, {}, {"slip_no": None}, {"slip_no": "  "}])
def test_an_unknown_slip_is_refused(s):
    d = decide_signature(s, sigs(), "财务总监", "李财务", SETTINGS, FP, NOW)
    assert (d.outcome, d.code) == ("refused", "sign.unknown_slip")


@pytest.mark.parametrize("role", ["库管员", "boss", "", None, 3])
def test_a_role_other_than_finance_or_logistics_is_refused(role):
    assert decide(role, "李财务").code == "sign.bad_role"


@pytest.mark.parametrize("signer", ["", "   ", None, float("nan")])
def test_a_signature_needs_a_name(signer):
    assert decide("财务总监", signer, settings=OPEN).code == "sign.signer_missing"


def test_a_void_slip_cannot_be_signed():
    assert decide("财务总监", "李财务", s=slip(state="已作废")).code == "sign.slip_void"


def test_every_code_has_chinese_and_english_reasons():
    assert set(CODES) == {"sign.unknown_slip", "sign.bad_role", "sign.signer_missing", "sign.wrong_person",
                          "sign.same_person_both_roles", "sign.already_signed", "sign.content_changed",
                          "sign.slip_void"}
    d = decide("物流总监", "王五")
    info = d.as_dict()
    assert info["zh"].startswith(CODES["sign.wrong_person"].zh) and info["en"].startswith(CODES["sign.wrong_person"].en)


@pytest.mark.parametrize("cell,valid", [(VALID, True), ("是", True), (True, True), (1, True), ("yes", True),
                                        (VOID, False), ("否", False), (None, False), ("", False), (0, False),
                                        (float("nan"), False)])
def test_the_valid_column_is_read_tolerantly(cell, valid):
    assert is_valid(cell) is valid


def test_valid_signatures_are_per_slip_and_fingerprint():
    table = sigs(sig("财务总监", "李财务"), sig("物流", "赵物流", fingerprint=FP2), sig("物流总监", "钱", slip_no="CK2"),
                 sig("物流总监", "孙", valid=VOID))
    assert valid_signatures(table, "CK20261126-001", FP) == {"finance": "李财务"}
    assert valid_signatures(table, "CK20261126-001", FP2) == {"logistics": "赵物流"}


# -- content changed after signing --------------------------------------------------------------------
def test_a_signed_slip_whose_content_changed_loses_its_signatures_and_waits_again():
    slips = pd.DataFrame([slip(state=SLIP_SIGNED, finance_signer="李财务", finance_signed_at=NOW,
                               logistics_signer="赵物流", logistics_signed_at=NOW),
                          slip("CK20261126-002", fingerprint=FP2)])
    table = sigs(sig("财务总监", "李财务"), sig("物流总监", "赵物流"), sig("财务总监", "李财务", FP2, slip_no="CK20261126-002"),
                 sig("物流总监", "旧人", valid=VOID))
    upd = void_changed(slips, table, {"CK20261126-001": FP2, "CK20261126-002": FP2})
    assert upd.signature_rows == [2, 3]
    assert upd.slip_updates == {"CK20261126-001": {"finance_signer": None, "finance_signed_at": None,
                                                   "logistics_signer": None, "logistics_signed_at": None,
                                                   "state": "待签字"}}
    assert upd.hold_slips == ["CK20261126-001"]
    assert [c["slip_no"] for c in upd.changed] == ["CK20261126-001"]


def test_voiding_twice_changes_nothing_the_second_time():
    slips = pd.DataFrame([slip(state=SLIP_SIGNED, finance_signer="李财务", logistics_signer="赵物流")])
    table = sigs(sig("财务总监", "李财务"), sig("物流总监", "赵物流"))
    first = void_changed(slips, table, {"CK20261126-001": FP2})
    for row in first.signature_rows:
        table.at[row, "valid"] = VOID
    for key, value in first.slip_updates["CK20261126-001"].items():
        slips.at[0, key] = value
    second = void_changed(slips, table, {"CK20261126-001": FP2})
    assert second.signature_rows == [] and second.slip_updates == {} and second.hold_slips == []
    # still cannot be signed until re-issued
    assert decide_signature(slips.iloc[0].to_dict(), table, "财务总监", "李财务", SETTINGS, FP2, NOW).code == \
        "sign.content_changed"


def test_unchanged_slips_and_slips_without_a_current_fingerprint_are_left_alone():
    slips = pd.DataFrame([slip(state=SLIP_SIGNED), slip("CK2", state=SLIP_SIGNED), slip("CK3", state="已作废")])
    table = sigs(sig("财务总监", "李财务"), sig("物流总监", "赵物流"), sig("财务总监", "x", slip_no="CK3"))
    upd = void_changed(slips, table, {"CK20261126-001": FP, "CK3": FP2})
    assert (upd.signature_rows, upd.slip_updates, upd.hold_slips, upd.changed) == ([], {}, [], [])


def test_a_half_signed_slip_that_changed_waits_but_nothing_ships_from_it():
    slips = pd.DataFrame([slip(finance_signer="李财务", finance_signed_at=NOW)])
    upd = void_changed(slips, sigs(sig("财务总监", "李财务")), {"CK20261126-001": FP2})
    assert upd.signature_rows == [2]
    assert upd.slip_updates == {"CK20261126-001": {"finance_signer": None, "finance_signed_at": None}}
    assert upd.hold_slips == []


def test_a_stale_valid_signature_on_a_reissued_slip_is_voided():
    slips = pd.DataFrame([slip(fingerprint=FP2, finance_signer="李财务")])
    upd = void_changed(slips, sigs(sig("财务总监", "李财务", fingerprint=FP)), {"CK20261126-001": FP2})
    assert upd.signature_rows == [2] and upd.changed == []
    assert upd.slip_updates == {"CK20261126-001": {"finance_signer": None}}


def test_only_slips_with_both_valid_signatures_on_unchanged_content_are_ready():
    slips = pd.DataFrame([slip("S1"), slip("S2"), slip("S3"), slip("S4", state="已作废"), slip("S5")])
    table = sigs(*(sig(r, n, slip_no=s) for s in ("S1", "S3", "S4", "S5")
                   for r, n in (("财务总监", "李财务"), ("物流总监", "赵物流"))),
                 sig("财务总监", "李财务", slip_no="S2"))
    current = {"S1": FP, "S2": FP, "S3": FP2, "S4": FP}
    assert ready_slips(slips, table, current) == ["S1"]
