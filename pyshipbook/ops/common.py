"""What every operation shares: its context, its result, its 日志 row."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..book.interface import Book
from ..book.schema import LOG
from ..identity import Identity

EXIT_OK, EXIT_PROBLEMS, EXIT_FAILED = 0, 1, 2


def now() -> dt.datetime:
    """The clock. SHIPBOOK_NOW (ISO time) pins it for scripted replays and tests."""
    pinned = os.environ.get("SHIPBOOK_NOW")
    if pinned:
        return dt.datetime.fromisoformat(pinned)
    return dt.datetime.now().replace(microsecond=0)


@dataclass
class Context:
    identity: Identity
    clock: dt.datetime = field(default_factory=now)
    progress: object = None  # callable(done, total, label) or None

    def report(self, done: int, total: int, label: str) -> None:
        if self.progress:
            self.progress(done, total, label)


@dataclass
class Result:
    """What an operation did: a summary for people, data for scripts, an exit code."""

    operation: str
    exit_code: int
    zh: str
    en: str
    data: dict = field(default_factory=dict)
    rows: int = 0

    @property
    def outcome(self) -> str:
        return {EXIT_OK: "ok", EXIT_PROBLEMS: "errors"}.get(self.exit_code, "refused")


def log_operation(book: Book, ctx: Context, result: Result, arguments: str = "") -> None:
    """Append one row to 日志 (never rewritten)."""
    row = pd.DataFrame([[ctx.clock, ctx.identity.name, result.operation, arguments, result.rows,
                         result.outcome, result.zh[:200]]],
                       columns=["time", "user", "operation", "arguments", "rows", "result", "message"],
                       dtype=object)
    book.append_rows(LOG, row)


def file_text(file_info: dict) -> tuple[str, str]:
    """The summary's words on a file written for upload (exports.write_rows' answer)."""
    name = Path(file_info["file"]).name
    zh, en = f"; 文件 {name}", f"; file {name}"
    if file_info["replaced_chars"]:
        zh += f" ({file_info['replaced_chars']} 个 GBK 无法表示的字符已替换为 ?)"
        en += f" ({file_info['replaced_chars']} characters GBK cannot hold replaced by ?)"
    return zh, en
