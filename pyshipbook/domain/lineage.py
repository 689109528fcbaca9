"""Book lineage: the revisions recorded in 版本, and the last one two copies share. Pure.

Every save by shipbook appends one revision (id, parent, time, user, operation). A copy carries its
book's whole history, so two copies of one book share every revision up to the moment they parted;
the merge of the two starts from the last of those (the three-way merge's base). A parent field may
name several revisions separated by "," (a merge has two parents); ids are opaque strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

PARENT_SEPARATOR = ","


@dataclass(frozen=True)
class Revision:
    rev_id: str
    parent_id: str = ""       # "" for the first revision of a book; "a,b" for a merge
    saved_at: object = None   # datetime as the sheet holds it
    user: str = ""
    operation: str = ""
    parent_sha256: str = ""   # SHA-256 of the file this save replaced, when known

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.parent_id.split(PARENT_SEPARATOR) if p.strip())


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def revisions_from_rows(rows: Iterable[dict]) -> list[Revision]:
    """Revisions from 版本 rows (dicts by column key), in sheet order; rows without an id are skipped."""
    out = []
    for row in rows:
        rev_id = _text(row.get("rev_id"))
        if rev_id:
            out.append(Revision(rev_id, _text(row.get("parent_id")), row.get("saved_at"), _text(row.get("user")),
                                _text(row.get("operation")), _text(row.get("parent_sha256"))))
    return out


def head(revisions: Sequence[Revision]) -> Revision | None:
    """The book's current revision: the last one recorded (each save appends one)."""
    return revisions[-1] if revisions else None


def next_parent(revisions: Sequence[Revision]) -> str:
    """The parent field of the next save's revision."""
    last = head(revisions)
    return last.rev_id if last else ""


def _strict_ancestors(starts: Iterable[str], by_id: dict[str, Revision]) -> set[str]:
    """Every revision reachable through parent links from the parents of `starts` (one walk, O(n))."""
    seen: set[str] = set()
    todo = [p for s in starts if s in by_id for p in by_id[s].parents]
    while todo:
        rid = todo.pop()
        if rid in seen:
            continue
        seen.add(rid)
        if rid in by_id:
            todo.extend(by_id[rid].parents)
    return seen


def common_ancestor(revs_a: Sequence[Revision], revs_b: Sequence[Revision]) -> Revision | None:
    """The last revision both copies share, or None when they share none (different books, or a
    history someone deleted).

    Of the revisions in both, the ones no other shared revision descends from; if history crossed
    (two merges each way) and several remain, the one recorded last in copy A.
    """
    ids_b = {r.rev_id for r in revs_b}
    shared = [r for r in revs_a if r.rev_id in ids_b]
    if not shared:
        return None
    by_id = {r.rev_id: r for r in revs_b}
    by_id.update({r.rev_id: r for r in revs_a})
    covered = _strict_ancestors((r.rev_id for r in shared), by_id)
    best = [r for r in shared if r.rev_id not in covered]
    return (best or shared)[-1]
