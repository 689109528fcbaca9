"""One writer at a time: an OS-level lock on a book, held from reading it to the atomic replace.

The lock is a file beside the book, ``.~shipbook-NAME.lock``, locked through filelock (``flock`` on
Unix, ``LockFileEx`` on Windows). The OS drops the lock when the holder ends, killed or not, so a
lock is never stale. On Unix the file stays (a dot name, hidden; removing a lock file another waiter
has open would let two holders in); on Windows filelock removes it on release. It is not given the
hidden attribute: Windows can refuse to re-create a hidden file (CREATE_ALWAYS), and the lock must never fail for looks.

A second command finds the lock taken, prints one line on stderr and waits: ``SHIPBOOK_LOCK_WAIT``
seconds if set, else 设置 等待时间 as the book was last saved (``wait_setting`` reads it without the
lock: a saved book is replaced atomically, so any read sees one whole version), else 30 s. Then it
runs on what the first one saved, or gives up with BookLocked (exit 2) and the book untouched.
Opening a book read-only takes no lock.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from pyshipbook.errors import BookLocked, ShipbookError

LOCK_WAIT_ENV = "SHIPBOOK_LOCK_WAIT"
DEFAULT_WAIT_S = 30.0
MAX_WAIT_S = 3600.0
POLL_S = 0.1

_held: set[tuple[str, int]] = set()  # (lock file, thread) held in this process: a nested open would wait on itself
_held_guard = threading.Lock()


def lock_file_for(book: Path) -> Path:
    return Path(book).with_name(f".~shipbook-{Path(book).name}.lock")


def parse_wait(text: object) -> float | None:
    """Seconds from a setting or environment value; None when blank or not a number."""
    try:
        seconds = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_WAIT_S)


def wait_seconds(book_setting: Callable[[], object] | None = None) -> float:
    """How long to wait for the lock: the environment override, else the book's 等待时间, else 30 s."""
    env = parse_wait(os.environ.get(LOCK_WAIT_ENV, ""))
    if env is not None:
        return env
    if book_setting is not None:
        try:
            from_book = parse_wait(book_setting())
        except Exception:  # an unreadable book: the load under the lock will say what is wrong
            from_book = None
        if from_book is not None:
            return from_book
    return DEFAULT_WAIT_S


def _notice(book: Path, wait: float) -> None:
    sys.stderr.write(f"另一个 shipbook 命令正在使用 {book.name}，等待它完成（最多 {wait:g} 秒）… / "
                     f"waiting for another shipbook command to finish with {book.name} (up to {wait:g} s)…\n")
    sys.stderr.flush()


@contextmanager
def holding(book: Path, *, book_setting: Callable[[], object] | None = None,
            notice: Callable[[Path, float], None] = _notice) -> Iterator[Path]:
    """Hold the book's lock for the body; wait (with a notice) if another command holds it."""
    from filelock import FileLock, Timeout

    book = Path(book)
    lock_path = lock_file_for(book)
    key = (os.path.normcase(os.path.abspath(lock_path)), threading.get_ident())
    with _held_guard:
        if key in _held:
            raise ShipbookError(f"工作簿 {book.name} 已在本命令中打开，不能再打开一次",
                                f"workbook {book.name} is already open in this command; it cannot be opened twice")
        _held.add(key)
    lock = FileLock(str(lock_path), mode=0o666)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            wait = wait_seconds(book_setting)
            notice(book, wait)
            try:
                lock.acquire(timeout=wait, poll_interval=POLL_S)
            except Timeout:
                raise BookLocked(
                    f"另一个 shipbook 命令仍在使用工作簿 {book.name}（已等待 {wait:g} 秒），本命令未做任何改动；"
                    f"请稍后再试（等待时间见 设置 等待时间）：{book}",
                    f"another shipbook command is still using workbook {book.name} after {wait:g} s; nothing was"
                    f" changed, try again later (设置 等待时间 sets the wait): {book}",
                ) from None
        except OSError as exc:
            raise BookLocked(f"无法在工作簿旁建立锁文件 {lock_path.name}：{exc.strerror or exc}",
                             f"cannot make the lock file {lock_path.name} beside the workbook:"
                             f" {exc.strerror or exc}") from None
        try:
            yield lock_path
        finally:
            lock.release()
    finally:
        with _held_guard:
            _held.discard(key)
