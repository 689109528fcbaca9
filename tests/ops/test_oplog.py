"""日志: every command that works on a book appends exactly one row per run, and never rewrites earlier rows."""

from __future__ import annotations

import pytest
from conftest import good_line, read_sheet, run_cli

from pyshipbook.book.schema import LOG
from pyshipbook.cli import build_parser
from pyshipbook.sample import order_rows, write_export_csv

# takes a BOOK but makes it rather than working on it
CREATES_THE_BOOK = {"new"}
# runs several operations: one row per operation plus its own (tests/ops/test_run.py)
PIPELINES = {"run"}


def book_commands() -> list[str]:
    """Every subcommand whose first positional argument is an existing book."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    out = []
    for name, parser in sub.choices.items():
        positional = [a.dest for a in parser._actions if not a.option_strings]
        if positional[:1] == ["book"] and name not in CREATES_THE_BOOK | PIPELINES:
            out.append(name)
    return sorted(out)


def _import_args(tmp_path):
    export = write_export_csv(tmp_path / "export.csv", order_rows(5, problems=False))
    return [export]


# extra arguments a command needs after BOOK (default: none)
EXTRA = {"import": _import_args}
# commands that must be covered, whatever else gets added later
REQUIRED = {"import", "validate", "daily", "dashboard"}
BOOK_COMMANDS = book_commands()


def test_the_required_commands_exist():
    assert REQUIRED <= set(BOOK_COMMANDS)


def log_rows(path) -> list[tuple]:
    rows = read_sheet(path, LOG.name)
    assert rows[0][:7] == tuple(c.header for c in LOG.columns)
    return [r[:7] for r in rows[1:] if any(v is not None for v in r)]


@pytest.mark.parametrize("command", BOOK_COMMANDS)
def test_each_run_appends_exactly_one_log_row(book_with, tmp_path, command):
    path = book_with([good_line(), good_line(order_id="A002", status="待配货", check="OK")])
    run_cli("validate", path)  # something in 日志 already
    earlier = log_rows(path)
    assert len(earlier) == 1
    extra = EXTRA.get(command, lambda _: [])(tmp_path)
    for run in (1, 2):
        before = path.read_bytes()
        code, text = run_cli(command, path, *extra)
        rows = log_rows(path)
        if code == 2 and command not in REQUIRED:
            # a command that could not run leaves the book byte-identical (and so logs nothing)
            assert path.read_bytes() == before, text
            return
        assert code in (0, 1), text
        assert len(rows) == len(earlier) + 1, f"{command}: run {run} added {len(rows) - len(earlier)} rows"
        assert rows[:len(earlier)] == earlier  # appended only: earlier rows unchanged
        new = rows[-1]
        assert new[1] == "测试员" and new[2] == command and new[5] in ("ok", "errors")
        assert new[0] is not None and new[4] is not None and new[6]
        earlier = rows
