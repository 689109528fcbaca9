"""Book identity and lineage on real files: 设置 工作簿编号 made once and never changed, one 版本 row per
save, each naming the save before it."""

from __future__ import annotations

import hashlib
import shutil
import uuid

import openpyxl
import pytest
from conftest import good_line, run_cli

from pyshipbook.book.schema import REVISIONS, SETTING_BY_KEY, SETTINGS


def book_id(path) -> str | None:
    ws = openpyxl.load_workbook(path)[SETTINGS.name]
    item = SETTING_BY_KEY["book_id"].item
    return next((r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == item), None)


def revisions(path) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    if REVISIONS.name not in wb.sheetnames:
        return []
    rows = list(wb[REVISIONS.name].iter_rows(values_only=True))
    assert rows[0] == tuple(c.header for c in REVISIONS.columns)
    return [r for r in rows[1:] if r[0]]


def is_uuid4(text) -> bool:
    try:
        return uuid.UUID(str(text)).version == 4
    except ValueError:
        return False


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["new.xlsx", "new.xlsm"])
def test_new_book_gets_an_id_and_its_first_revision(tmp_path, name):
    path = tmp_path / name
    assert run_cli("new", path)[0] == 0
    assert is_uuid4(book_id(path))
    (rev,) = revisions(path)
    assert is_uuid4(rev[0]) and rev[1] is None and rev[3] == "测试员" and rev[4] == "new"
    assert not (tmp_path / "~shipbook-backup").exists()


def test_two_new_books_never_share_an_id(tmp_path):
    for name in ("a.xlsx", "b.xlsx"):
        run_cli("new", tmp_path / name)
    assert book_id(tmp_path / "a.xlsx") != book_id(tmp_path / "b.xlsx")


def test_demo_book_has_an_id_and_a_chain_from_demo(tmp_path):
    assert run_cli("demo", tmp_path / "d", "--lines", "20")[0] == 0
    path = tmp_path / "d" / "shipbook-demo.xlsx"
    assert is_uuid4(book_id(path))
    revs = revisions(path)
    assert [r[4] for r in revs] == ["demo", "import", "validate"]
    assert revs[0][1] is None and [r[1] for r in revs[1:]] == [r[0] for r in revs[:-1]]


def test_a_book_without_an_id_gets_one_on_its_first_save_and_keeps_it(book_with, monkeypatch):
    path = book_with([good_line(), good_line(order_id="A002", phone="13812345679")])
    assert not book_id(path) and revisions(path) == []   # made by hand / by an earlier version
    parents = []
    for argv in (["validate"], ["allocate"], ["slips"], ["dashboard"], ["shortages"], ["close-completed"],
                 ["run"]):
        parents.append(sha(path))
        assert run_cli(argv[0], path, *argv[1:])[0] in (0, 1), argv
        if len(parents) == 1:
            first = book_id(path)
            assert is_uuid4(first)
        assert book_id(path) == first   # no operation changes it (slips writes 设置 too)
    revs = revisions(path)
    assert [r[4] for r in revs] == ["validate", "allocate", "slips", "dashboard", "shortages", "close-completed",
                                    "validate,allocate,slips,close-completed,dashboard,run"]
    assert revs[0][1] is None and [r[1] for r in revs[1:]] == [r[0] for r in revs[:-1]]
    assert len({r[0] for r in revs}) == len(revs)
    assert [r[5] for r in revs] == parents   # each names the file it replaced
    assert all(r[3] == "测试员" for r in revs)


def test_a_copy_keeps_the_id_and_the_history_it_was_made_from(book_with, tmp_path):
    path = book_with([good_line()])
    run_cli("validate", path)
    copy = tmp_path / "copy.xlsx"
    shutil.copy(path, copy)
    run_cli("allocate", path)
    run_cli("dashboard", copy)
    assert book_id(copy) == book_id(path)
    mine, theirs = revisions(path), revisions(copy)
    assert mine[0] == theirs[0] and mine[1][1] == theirs[1][1] == mine[0][0] and mine[1][0] != theirs[1][0]


def test_the_built_template_carries_no_id_and_each_book_from_it_gets_its_own(tmp_path):
    from pyshipbook.build import build_bytes
    data = build_bytes()
    assert data == build_bytes()   # deterministic: nothing random in the template
    template = tmp_path / "template.xlsm"
    template.write_bytes(data)
    assert not book_id(template) and revisions(template) == []
    ids = []
    for name in ("a.xlsm", "b.xlsm"):
        shutil.copy(template, tmp_path / name)
        assert run_cli("dashboard", tmp_path / name)[0] == 0
        ids.append(book_id(tmp_path / name))
    assert all(is_uuid4(i) for i in ids) and ids[0] != ids[1]


def test_a_refused_run_records_no_revision(book_with):
    path = book_with([good_line()])
    run_cli("validate", path)
    digest = sha(path)
    assert run_cli("waybills", path, "--carrier", "XX")[0] == 2   # no such courier layout: could not run
    assert sha(path) == digest and len(revisions(path)) == 1


def test_a_merge_save_names_both_parents(book_with):
    from pyshipbook.book.revisions import read_revisions
    from pyshipbook.book.xlsx import open_book
    from pyshipbook.domain.lineage import common_ancestor
    path = book_with([good_line()])
    run_cli("validate", path)
    with open_book(path, write=False) as book:
        ours_before = read_revisions(book)
    with open_book(path) as book:
        book.note_operation("merge", "测试员")
        book.merged_from.append("their-head")
    with open_book(path, write=False) as book:
        revs = read_revisions(book)
    assert revs[-1].parents == (ours_before[-1].rev_id, "their-head") and revs[-1].operation == "merge"
    assert common_ancestor(revs, ours_before) == ours_before[-1]
