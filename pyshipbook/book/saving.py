"""The safe save: temp file beside the book, repair, verify, backup, atomic replace; and the
checks that a book can be written at all (Excel's owner file, read-only files and folders).

Standard library only at import time.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import re
import secrets
import shutil
import stat
import zipfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyshipbook.errors import BookLocked, ShipbookError

from .inspection import inspect_package
from .opc import EXPECTED_CT, MACRO_SUFFIXES, ROOT_RELS, _parse_xml, _relationships, _resolve_target
from .repair import repair_package

BACKUP_DIR = "~shipbook-backup"



# --- writability --------------------------------------------------------------------------------
def _owner_files(path: Path) -> list[Path]:
    name = path.name
    candidates = [path.with_name("~$" + name)]
    if len(name) > 2:
        candidates.append(path.with_name("~$" + name[2:]))
    return candidates


def _writable(p: Path) -> bool:
    if not os.access(p, os.W_OK):
        return False
    # root passes os.access whatever the mode bits say; honour the bits like a user would expect
    # (the read-only attribute of a file copied from Windows shows up as no write bits).
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return bool(p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return True


def check_writable(path) -> None:
    """Raise BookLocked if Excel has the book open (owner file ~$...) or it cannot be written."""
    path = Path(path)
    for owner in _owner_files(path):
        if owner.exists():
            raise BookLocked(
                f"工作簿正在 Excel 中打开（发现 {owner.name}），请先在 Excel 中关闭它再试；"
                f"如果 Excel 已关闭，请删除该文件：{path}",
                f"The workbook is open in Excel ({owner.name} found); close it in Excel and try again, or delete"
                f" that file if Excel is closed: {path}",
            )
    folder = path.parent
    if path.exists() and not _writable(path):
        raise BookLocked(f"工作簿文件是只读的，无法保存：{path}", f"The workbook file is read-only and cannot be saved: {path}")
    if not folder.is_dir() or not _writable(folder):
        raise BookLocked(f"工作簿所在的文件夹不可写，无法保存：{path}",
                         f"The workbook's folder is not writable, cannot save: {path}")


# --- save ---------------------------------------------------------------------------------------
_BACKUP_RE_TMPL = r"^{stem}-(\d{{8}}-\d{{6}}-\d{{6}})(?:-(\d+))?{suffix}$"


def _verify(tmp: Path, book: Path, expect_vba: bool) -> None:
    """Cheap check of a freshly written package: structure, CRC of every part, content type vs suffix.

    Cost: header reads plus one inflate of every part for the CRC (zipfile.testzip): 0.12-0.3 s for a
    50k-line, 25-column order book (80 MB of sheet XML, 13 MB file) on the 2-core test machine, against
    ~14 s for an openpyxl read-only reload. Nothing is parsed beyond the first KB of each XML part.
    """
    def fail(zh: str, en: str) -> ShipbookError:
        return ShipbookError(f"保存 {book} 失败，新文件未通过校验（原文件未改动）：{zh}",
                             f"Saving {book} failed, the new file did not pass its check (original untouched): {en}")

    try:
        info = inspect_package(tmp)
    except ShipbookError as exc:
        raise fail(exc.zh, exc.en) from None
    expected = EXPECTED_CT.get(book.suffix.lower())
    if expected and info.workbook_content_type != expected:
        raise fail(f"工作簿类型 {info.workbook_content_type} 与扩展名 {book.suffix} 不符",
                   f"workbook content type {info.workbook_content_type} does not match {book.suffix}")
    if expect_vba and not info.has_vba:
        raise fail("宏（vbaProject.bin）丢失", "the macros (vbaProject.bin) are missing")
    if book.suffix.lower() in (".xlsx", ".xltx") and info.has_vba:
        raise fail(".xlsx 文件中不能含有宏", "an .xlsx file must not contain macros")
    with zipfile.ZipFile(tmp) as zf:
        have = set(zf.namelist())
        try:
            bad = zf.testzip()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise fail(f"部件数据损坏（{exc}）", f"damaged part data ({exc})") from None
        if bad is not None:
            raise fail(f"部件 {bad} 校验和错误", f"part {bad} has a bad CRC")
        for source, rels_name in ((None, ROOT_RELS), ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")):
            if rels_name not in have:
                raise fail(f"缺少 {rels_name}", f"{rels_name} is missing")
            for rel in _relationships(_parse_xml(zf.read(rels_name))):
                if rel.get("TargetMode") == "External":
                    continue
                target = _resolve_target(source, rel.get("Target", ""))
                if target not in have:
                    raise fail(f"{rels_name} 指向不存在的部件 {target}", f"{rels_name} points at missing part {target}")


def _fsync_file(p: Path) -> None:
    try:
        fd = os.open(p, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except PermissionError:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(d: Path) -> None:
    if os.name == "nt":
        return  # Windows cannot open a folder for fsync; NTFS journals the rename
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _backup(path: Path, keep: int) -> tuple[Path, list[Path]]:
    """Copy the book into ~shipbook-backup/; return the copy and the older backups beyond `keep`."""
    folder = path.parent / BACKUP_DIR
    folder.mkdir(exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{path.stem}-{stamp}{path.suffix}"
    n = 1
    while target.exists():
        target = folder / f"{path.stem}-{stamp}-{n}{path.suffix}"
        n += 1
    shutil.copy2(path, target)
    _fsync_file(target)
    pattern = re.compile(_BACKUP_RE_TMPL.format(stem=re.escape(path.stem), suffix=re.escape(path.suffix)))
    found = []
    for p in folder.iterdir():
        m = pattern.match(p.name)
        if m and p.is_file():
            found.append(((m.group(1), int(m.group(2) or 0)), p))
    found.sort()
    stale = [p for _, p in found[:-keep]] if keep > 0 else [p for _, p in found]
    return target, [p for p in stale if p != target]


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: " + " ".join(str(exc).split())


# --- the book as read, and what is still on disk ----------------------------------------------------
class BookChanged(ShipbookError):
    """Something other than this command changed the book file after the command read it."""


@dataclass(frozen=True)
class Snapshot:
    """The book file as a command read it: what must still be on disk when the command replaces it."""

    size: int
    mtime_ns: int
    sha256: str  # of the bytes read


def read_book(path) -> tuple[bytes, Snapshot]:
    """The whole file in one read, hashed as read (the bytes inspect_package and openpyxl then get)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                inspect_package(path)  # says what the path is instead
            data = f.read()
    except ShipbookError:
        raise
    except OSError:
        inspect_package(path)  # the message a load gives for a missing or unreadable file
        raise
    return data, Snapshot(st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def still_as_read(path, snapshot: Snapshot) -> bool:
    """Whether the file at `path` is still exactly the one read: size and mtime first, then the bytes."""
    try:
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns) != (snapshot.size, snapshot.mtime_ns):
            return False
        return file_sha256(path) == snapshot.sha256
    except OSError:
        return False


def _refuse_changed(path: Path) -> BookChanged:
    return BookChanged(
        f"工作簿在本命令运行期间被其他程序改动过（Excel、同步盘或被复制覆盖），本命令的结果未保存，"
        f"工作簿保持对方的版本；请重新运行：{path}",
        f"The workbook was changed by something else while this command ran (Excel, a sync client, a copy"
        f" pasted over it); nothing was saved and the file keeps that version; run the command again: {path}",
    )


# --- stale temporary files --------------------------------------------------------------------------
LEGACY_TEMP_AGE_S = 3600  # temp names of earlier versions name no book: removed only once surely dead


def temp_name(path: Path) -> str:
    """The safe save's temp file for `path`: named after the book, so the book's next run can clean it."""
    return f".~shipbook-{path.name}.{secrets.token_hex(8)}.tmp{path.suffix}"


def remove_stale_temps(path) -> list[Path]:
    """Remove the temp files a killed save of this book left beside it. Call only holding its lock
    (locking.holding): then no live command is writing any of them."""
    path = Path(path)
    own = re.compile(rf"^\.~shipbook-{re.escape(path.name)}\.[0-9a-f]{{16}}\.(?:tmp|repair){re.escape(path.suffix)}$")
    legacy = re.compile(rf"^\.~shipbook-(?:[0-9a-f]{{16}}\.tmp|[0-9a-f]{{12}}\.repair){re.escape(path.suffix)}$")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = _dt.datetime.now().timestamp()
    for entry in entries:
        try:
            if own.match(entry.name) or (legacy.match(entry.name)
                                         and now - entry.stat().st_mtime > LEGACY_TEMP_AGE_S):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or still open on Windows: the next run tries again
    return removed


REPLACE_TRIES = 5  # a reader (antivirus, indexer, a waiting command's look at 设置) can hold it a moment
REPLACE_PAUSE_S = 0.2


def _replace(tmp: Path, path: Path) -> None:
    for attempt in range(REPLACE_TRIES):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if attempt == REPLACE_TRIES - 1:
                raise
            time.sleep(REPLACE_PAUSE_S)


# --- save -----------------------------------------------------------------------------------------
def safe_save(path, write: Callable[[Path], None], *, original=None, backups: int = 10,
              expected: Snapshot | None = None) -> Path | None:
    """Write the book through a temp file beside it, repair, verify, back up, then replace atomically.

    `write(tmp)` writes the new workbook to `tmp` (same folder and suffix as `path`). `original` is the
    package to repair from (default: the current `path`). `expected`: the book as the caller read it;
    just before the replace the file must still be exactly that, else BookChanged and nothing is
    written. Returns the backup of the replaced book, or None if there was no book yet or `backups`
    is 0. On failure the book is untouched and no temp file is left behind.
    """
    path = Path(path)
    check_writable(path)
    source = Path(original) if original is not None else (path if path.exists() else None)
    had_vba = False
    if source is not None:
        had_vba = inspect_package(source).has_vba
    tmp = path.with_name(temp_name(path))
    backup: Path | None = None
    replaced = False
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        write(tmp)
        try:
            repair_package(source, tmp)
        except ShipbookError:
            raise
        except Exception as exc:
            raise ShipbookError(
                f"保存 {path} 失败，写出的新文件不是有效的工作簿（原文件未改动）：{_one_line(exc)}",
                f"Saving {path} failed, the new file is not a valid workbook package (original untouched):"
                f" {_one_line(exc)}",
            ) from exc
        _verify(tmp, path, expect_vba=had_vba and path.suffix.lower() in MACRO_SUFFIXES)
        if path.exists():
            shutil.copymode(path, tmp)
        _fsync_file(tmp)
        stale: list[Path] = []
        if path.exists() and backups > 0:
            backup, stale = _backup(path, backups)
        if expected is not None and not still_as_read(path, expected):
            raise _refuse_changed(path)
        try:
            _replace(tmp, path)
        except PermissionError:
            raise BookLocked(
                f"工作簿正在 Excel 中打开或被占用，无法替换，请先关闭它再试：{path}",
                f"The workbook is open in Excel or in use and cannot be replaced; close it and try again: {path}",
            ) from None
        replaced = True
        _fsync_dir(path.parent)
        for p in stale:
            p.unlink(missing_ok=True)
        return backup
    except ShipbookError:
        raise
    except Exception as exc:
        raise ShipbookError(
            f"保存工作簿失败，原文件未改动：{path}（{_one_line(exc)}）",
            f"Saving the workbook failed, the original is untouched: {path} ({_one_line(exc)})",
        ) from exc
    finally:
        if not replaced:
            tmp.unlink(missing_ok=True)
            if backup is not None:
                backup.unlink(missing_ok=True)


def write_atomically(path: Path, write: Callable[[Path], None], *, zh: str | None = None,
                     en: str | None = None) -> Path:
    """Write a new file through a temp file beside it, then replace: never a half-written file.

    `write(tmp)` writes the content. With zh/en (what is being written, e.g. "附件" /
    "the attachment"), an OSError becomes one clear ShipbookError; without, it propagates.
    The temp file is always removed.
    """
    path = Path(path)
    tmp = path.with_name(f".~shipbook-{secrets.token_hex(4)}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if zh is None:
            raise
        raise ShipbookError(f"无法写入{zh} {path}: {exc}",
                            f"cannot write {en + ' ' if en else ''}{path}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
