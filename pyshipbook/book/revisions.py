"""Book identity and lineage on a book: 设置 工作簿编号 and one 版本 row per save.

Only the Book protocol is used, so either adapter can stamp a save: the file adapter does it in
open_book just before every save; the Excel adapter, which Excel saves itself, would call `stamp`
at the end of each button. The rules (what a revision is, the last one two copies share) are in
domain/lineage.py.
"""

from __future__ import annotations

import uuid

import pandas as pd

from ..domain import lineage
from .interface import Book
from .schema import REVISIONS


def ensure_book_id(book: Book) -> str:
    """The book's 工作簿编号; a book that has none gets a new UUID4 (never changed afterwards)."""
    book_id = book.read_settings().get("book_id") or ""
    if not book_id:
        book_id = str(uuid.uuid4())
        book.write_setting("book_id", book_id)
    return book_id


def read_revisions(book: Book) -> list[lineage.Revision]:
    """The book's 版本 rows as revisions, oldest first (none for a book saved before this version)."""
    if not book.has_sheet(REVISIONS):
        return []
    return lineage.revisions_from_rows(book.read_table(REVISIONS).frame.to_dict("records"))


def stamp(book: Book, *, when, user: str, operation: str, parent_sha256: str = "",
          also_from: tuple[str, ...] = ()) -> lineage.Revision:
    """Before a save: give the book its id if it has none, and append this save's 版本 row.

    `also_from`: further parents (a merge names the other copy's head), after the book's own head.
    """
    ensure_book_id(book)
    parents = [p for p in (lineage.next_parent(read_revisions(book)), *also_from) if p]
    rev = lineage.Revision(str(uuid.uuid4()), lineage.PARENT_SEPARATOR.join(dict.fromkeys(parents)), when, user,
                           operation, parent_sha256)
    book.append_rows(REVISIONS, pd.DataFrame([[rev.rev_id, rev.parent_id, rev.saved_at, rev.user, rev.operation,
                                               rev.parent_sha256]], columns=REVISIONS.keys, dtype=object))
    return rev
