"""domain.lineage: the last revision two copies of a book share (the base of a three-way merge)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from pyshipbook.domain.lineage import Revision, common_ancestor, head, next_parent, revisions_from_rows


def chain(*ids: str, parent: str = "") -> list[Revision]:
    out = []
    for rid in ids:
        out.append(Revision(rid, parent))
        parent = rid
    return out


def test_copies_that_parted_share_the_revision_they_parted_at():
    shared = chain("r1", "r2", "r3")
    a = shared + chain("a1", "a2", parent="r3")
    b = shared + chain("b1", parent="r3")
    assert common_ancestor(a, b).rev_id == "r3"
    assert common_ancestor(b, a).rev_id == "r3"


def test_a_copy_that_did_nothing_since_shares_its_head():
    a = chain("r1", "r2", "a1")
    b = chain("r1", "r2")
    assert common_ancestor(a, b).rev_id == "r2" == head(b).rev_id


def test_different_books_share_nothing():
    assert common_ancestor(chain("x1", "x2"), chain("y1")) is None
    assert common_ancestor([], chain("y1")) is None


def test_after_a_merge_the_merged_revision_is_shared():
    base = chain("r1", "r2")
    a = base + chain("a1", parent="r2")
    b = base + chain("b1", parent="r2")
    merged = a + [b[-1], Revision("m1", "a1,b1")]   # a merged A and B: two parents
    b_later = b + [a[-1], Revision("m1", "a1,b1"), *chain("b2", parent="m1")]
    assert Revision("m1", "a1,b1").parents == ("a1", "b1")
    assert common_ancestor(merged + chain("a2", parent="m1"), b_later).rev_id == "m1"


def test_a_deleted_middle_of_history_still_finds_the_last_shared():
    a = chain("r1", "r2", "r3") + chain("a1", parent="r3")
    b = [a[0], a[2]] + chain("b1", parent="r3")   # someone deleted r2's row in copy B
    assert common_ancestor(a, b).rev_id == "r3"


def test_rows_become_revisions_and_blank_rows_are_skipped():
    rows = [{"rev_id": "r1", "parent_id": None, "user": "王芳", "operation": "new"},
            {"rev_id": None}, {"rev_id": " r2 ", "parent_id": "r1", "saved_at": None, "operation": "validate"}]
    revs = revisions_from_rows(rows)
    assert [r.rev_id for r in revs] == ["r1", "r2"] and revs[0].parent_id == "" and revs[1].parents == ("r1",)
    assert next_parent(revs) == "r2" and next_parent([]) == ""


@given(st.integers(1, 30), st.integers(0, 10), st.integers(0, 10))
def test_the_fork_point_of_two_linear_histories(shared_n, a_n, b_n):
    shared = chain(*[f"s{i}" for i in range(shared_n)])
    a = shared + chain(*[f"a{i}" for i in range(a_n)], parent=shared[-1].rev_id)
    b = shared + chain(*[f"b{i}" for i in range(b_n)], parent=shared[-1].rev_id)
    assert common_ancestor(a, b) == common_ancestor(b, a) == shared[-1]
