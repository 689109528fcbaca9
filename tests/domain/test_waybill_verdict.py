"""existing_verdict: what waybills does with an order's 运单 row once its slip or its own lines changed."""

from __future__ import annotations

import pytest

from pyshipbook.domain.waybills import existing_verdict

S1, S2, O1, O2 = "s1" * 32, "s2" * 32, "o1" * 32, "o2" * 32


@pytest.mark.parametrize("recorded,now,ready,shipped,voided,verdict", [
    # the row matches what the slip and the order are now
    ((S1, O1), (S1, O1), True, False, False, "keep"),
    ((S1, O1), (S1, O1), False, False, True, "keep"),
    ((S1.upper(), O1), (S1, O1), True, False, True, "keep"),          # fingerprints compare case-blind
    # the order changed: replaced once signed again, refused before
    ((S1, O1), (S2, O2), True, False, True, "replace"),
    ((S1, O1), (S2, O2), False, False, True, "changed_not_signed"),
    # only another order of the slip changed
    ((S1, O1), (S2, O1), True, False, True, "reconfirm"),
    ((S1, O1), (S2, O1), False, False, True, "changed_not_signed"),
    # shipped: never replaced; its own change is reported, another order's is not
    ((S1, O1), (S2, O2), True, True, True, "shipped_before_change"),
    ((S1, O1), (S2, O2), False, True, True, "shipped_before_change"),
    ((S1, O1), (S2, O1), True, True, True, "keep"),
    # rows made before fingerprints were recorded
    ((None, None), (S1, O1), True, False, False, "record"),
    (("", " "), (S1, O1), True, False, True, "replace"),            # changed some time: taken as changed
    ((None, None), (S1, O1), False, False, True, "changed_not_signed"),
    ((None, None), (S1, O1), False, False, False, "changed_not_signed"),
    ((None, None), (S2, O2), True, True, True, "keep"),             # shipped: nothing to compare with
    # one fingerprint cell cleared by hand: judged on what is left, the doubt counted as a change
    ((S1, None), (S1, O1), True, False, False, "keep"),
    ((S1, None), (S2, O1), True, False, True, "replace"),
    ((None, O1), (S1, O1), True, False, False, "reconfirm"),
])
def test_existing_verdict(recorded, now, ready, shipped, voided, verdict):
    assert existing_verdict(*recorded, *now, ready=ready, shipped=shipped, signatures_voided=voided) == verdict


@pytest.mark.parametrize("recorded,now,ready,shipped,voided,verdict", [
    # every line cancelled: whatever the fingerprints say, the row must not reach the courier
    ((S1, O1), ("", ""), False, False, True, "order_cancelled"),
    ((S1, O1), (S1, O1), True, False, False, "order_cancelled"),     # even with nothing else changed
    ((None, None), ("", ""), False, False, False, "order_cancelled"),
    # cancelled after a tracking number was logged: the parcel is out, said distinctly
    ((S1, O1), ("", ""), False, True, True, "cancelled_after_shipping"),
    ((None, None), ("", ""), False, True, False, "cancelled_after_shipping"),
])
def test_a_cancelled_order_is_judged_before_its_fingerprints(recorded, now, ready, shipped, voided, verdict):
    assert existing_verdict(*recorded, *now, ready=ready, shipped=shipped, signatures_voided=voided,
                            cancelled=True) == verdict


def test_an_order_cancelled_in_part_is_a_change_of_content():
    """Its live lines are its content: fewer goods is a changed order fingerprint, nothing special."""
    assert existing_verdict(S1, O1, S2, O2, ready=False, shipped=False, signatures_voided=True) == \
        "changed_not_signed"
    assert existing_verdict(S1, O1, S2, O2, ready=True, shipped=False, signatures_voided=True) == "replace"
    assert existing_verdict(S1, O1, S2, O2, ready=False, shipped=True, signatures_voided=True) == \
        "shipped_before_change"
