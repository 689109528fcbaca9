"""File-level safety for workbook files: inspect before loading, save atomically, repair what openpyxl drops.

What openpyxl 3.1.5 keeps and drops when it saves a book loaded with ``keep_vba=True``
(measured on xlwings' quickstart_standalone.xlsm with ribbons added, see tests/book/test_safety.py;
source: openpyxl/writer/excel.py ``_merge_vba``, workbook/_writer.py ``write_root_rels``,
packaging/manifest.py ``_write_vba``):

* Parts: every original part whose name *starts with* ``xl/vba``, ``customUI``, ``xl/ctrlProps``,
  ``xl/activeX``, ``xl/drawings/...vmlDrawingN.vml`` or ``xl/media/...emf`` is copied byte-identical.
  So ``xl/vbaProject.bin``, ``xl/vbaProjectSignature.bin``, ``customUI/customUI.xml``,
  ``customUI/customUI14.xml``, ``customUI/_rels/*.rels`` and ``customUI/images/*`` all survive.
  A ribbon stored anywhere else (e.g. ``myui/ribbon.xml``) is dropped. ``xl/_rels/vbaProject.bin.rels``
  (the VBA signature relationships) is dropped. Everything else is regenerated: ``docProps/app.xml``
  becomes a minimal stub, ``xl/sharedStrings.xml`` disappears when no string is left, the theme is copied.
* ``_rels/.rels`` is rebuilt (officeDocument rId1, core rId2, app rId3); then only relationships of the
  2006 type ``.../office/2006/relationships/ui/extensibility`` are copied from the original, with their
  Id. The 2007 type ``.../office/2007/relationships/ui/extensibility`` (``customUI14.xml``) is dropped:
  the part stays in the zip but nothing points at it, so Excel shows no ribbon.
* ``[Content_Types].xml`` is rebuilt: one Default per file extension present, taken from Python's
  ``mimetypes`` (png -> image/png, ico -> image/vnd.microsoft.icon, bin -> vbaProject type; an
  extension it does not know, e.g. a ``.wmf`` ribbon image, makes the save itself raise KeyError).
  No original Override is carried over (``_write_vba`` compares part names with content *types*, so it
  never matches); the VBA project is typed through ``Default Extension="bin"``, which also mistypes a
  kept ``vbaProjectSignature.bin``.
* The workbook part gets the macro-enabled content type whenever the book was loaded with
  ``keep_vba=True`` -- even from an .xlsx without VBA, and whatever the target suffix: saved as .xlsx
  that is a file Excel refuses. Loaded with ``keep_vba=False`` and saved as .xlsm, the VBA project is
  gone and the content type is the plain one: Excel refuses that too.

``repair_package`` puts back the ribbon parts and both kinds of ribbon relationship, the VBA project
and its signature relationships, the content types they need, and makes the workbook content type
match the suffix (.xlsm/.xltm macro-enabled, .xlsx/.xltx plain and without vbaProject.bin).

This module only imports the standard library at import time (lxml and openpyxl inside functions).
"""

from __future__ import annotations

import datetime as _dt
import os
import posixpath
import re
import secrets
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyshipbook.errors import BookLocked, BookRefused, ShipbookError

__all__ = [
    "PackageInfo",
    "inspect_package",
    "check_writable",
    "safe_save",
    "repair_package",
    "load_options_for",
    "BACKUP_DIR",
]

# --- limits -------------------------------------------------------------------------------------
MiB = 1024 * 1024
MAX_ENTRIES = 10_000
MAX_PART_SIZE = 500 * MiB  # declared uncompressed size of one part
MAX_TOTAL_SIZE = 1536 * MiB  # declared uncompressed size of all parts
MAX_RATIO = 200  # compression ratio refused ...
RATIO_MIN_SIZE = 10 * MiB  # ... on parts larger than this
MAX_CENTRAL_DIR = 32 * MiB  # 10,000 entries need < 2 MB of central directory
MAX_META_XML = 16 * MiB  # [Content_Types].xml and .rels parts we parse ourselves
XML_HEAD_CAP = 64 * 1024  # bytes of an XML part read to reach its root element
XML_HEAD_STEP = 4096
# Streaming size check (see _suspicious): parts whose declared ratio is above this, or whose
# sizes are inconsistent, are inflated with a hard cap before openpyxl sees them.
SUSPICIOUS_RATIO = 100
SUSPICIOUS_MIN_SIZE = 1 * MiB
INFLATE_STEP = 1 * MiB

BACKUP_DIR = "~shipbook-backup"

CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

CT_PATH = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
VBA_PART = "xl/vbaProject.bin"
VBA_RELS = "xl/_rels/vbaProject.bin.rels"

CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_XLTX = "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_XLTM = "application/vnd.ms-excel.template.macroEnabled.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
MACRO_CTS = frozenset({CT_XLSM, CT_XLTM})
EXPECTED_CT = {".xlsx": CT_XLSX, ".xltx": CT_XLTX, ".xlsm": CT_XLSM, ".xltm": CT_XLTM}
MACRO_SUFFIXES = frozenset({".xlsm", ".xltm"})

REL_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
REL_UI_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
REL_UI_2007 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
RIBBON_RELS = (REL_UI_2006, REL_UI_2007)
NS_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"

XML_EXTS = (".xml", ".rels", ".vml")


@dataclass(frozen=True)
class PackageInfo:
    path: Path
    parts: tuple[str, ...]
    workbook_content_type: str | None
    has_vba: bool  # xl/vbaProject.bin present
    is_macro: bool  # VBA present or the workbook part is typed macro-enabled
    has_ribbon: bool  # a customUI part (2006 or 2007 form) present


# --- messages -----------------------------------------------------------------------------------
def _refuse(path: Path, zh: str, en: str) -> BookRefused:
    return BookRefused(f"已拒绝打开工作簿 {path}：{zh}", f"Refused to open workbook {path}: {en}")


def _mb(n: int) -> str:
    return f"{n / MiB:.0f} MB"


# --- zip structure helpers ----------------------------------------------------------------------
_LOCAL = struct.Struct("<4s5H3I2H")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<4s6H3I5H2I")  # central directory header, 46 bytes
_EOCD = struct.Struct("<4s4H2IH")  # end of central directory, 22 bytes
_EOCD64_LOC = struct.Struct("<4sIQI")  # zip64 locator, 20 bytes
_EOCD64 = struct.Struct("<4sQ2H2I4Q")  # zip64 end of central directory, 56 bytes


def _central_directory_size(f, size: int) -> tuple[int, int] | None:
    """(entry count, central directory size) read from the end records, before zipfile parses anything."""
    tail_len = min(size, _EOCD.size + 65535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return None
    _, _, _, _, entries, cd_size, _, _ = _EOCD.unpack_from(tail, pos)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        loc_at = pos - _EOCD64_LOC.size
        if loc_at >= 0 and tail[loc_at:loc_at + 4] == b"PK\x06\x07":
            _, _, eocd64_at, _ = _EOCD64_LOC.unpack_from(tail, loc_at)
            f.seek(eocd64_at)
            rec = f.read(_EOCD64.size)
            if len(rec) == _EOCD64.size and rec[:4] == b"PK\x06\x06":
                fields = _EOCD64.unpack(rec)
                entries, cd_size = fields[7], fields[8]
    return entries, cd_size


def _local_header(f, info: zipfile.ZipInfo) -> tuple[int, tuple]:
    """Offset of the part's data and the fields of its local header."""
    f.seek(info.header_offset)
    raw = f.read(_LOCAL.size)
    if len(raw) < _LOCAL.size or raw[:4] != b"PK\x03\x04":
        raise ValueError(f"bad local header for {info.filename}")
    fields = _LOCAL.unpack(raw)
    name_len, extra_len = fields[9], fields[10]
    return info.header_offset + _LOCAL.size + name_len + extra_len, fields


def _suspicious(info: zipfile.ZipInfo, local: tuple) -> str | None:
    """Why this part's declared sizes deserve a streaming check, or None.

    Policy (cheap for normal books: header reads only). Python's zipfile -- what openpyxl reads
    through -- never returns more than the *declared* uncompressed size of a part (ZipExtFile cuts the
    output at file_size and then checks the CRC), so the declared sizes we limit above are real limits
    for openpyxl; a header that lies low can only make the load fail. We still inflate (streaming, with
    a hard cap at the declared size) every part whose header looks wrong, so such a file gets a clean
    refusal and other readers never see it:
      * sizes inconsistent: a deflated part whose compressed data is larger than its declared
        uncompressed size (+1 % +1 KB), a stored part whose two sizes differ, an XML part of >= 256 KB
        compressed that claims to compress less than 2:1 (XML never does), or a local header that
        disagrees with the central directory;
      * a declared ratio above SUSPICIOUS_RATIO on a part of at least SUSPICIOUS_MIN_SIZE.
    """
    _, _, flags, method, _, _, crc, csize, usize, _, _ = local
    if not flags & 0x08:  # no data descriptor: local sizes must agree with the central directory
        if (crc, csize, usize) != (info.CRC, info.compress_size, info.file_size) and 0xFFFFFFFF not in (csize, usize):
            return "local header disagrees with central directory"
    if method != info.compress_type:
        return "local header disagrees with central directory"
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        return "stored sizes differ"
    if info.compress_type == zipfile.ZIP_DEFLATED:
        if info.compress_size > info.file_size + info.file_size // 100 + 1024:
            return "compressed larger than declared"
        if (info.filename.lower().endswith(XML_EXTS) and info.compress_size >= 256 * 1024
                and info.file_size < 2 * info.compress_size):
            return "XML part claims to be incompressible"
    if info.file_size >= SUSPICIOUS_MIN_SIZE and info.file_size > SUSPICIOUS_RATIO * max(info.compress_size, 1):
        return "high ratio"
    return None


def _stream_check(f, info: zipfile.ZipInfo, data_at: int, path: Path) -> None:
    """Inflate one part in steps, never producing more than its declared size + 1 byte."""
    limit = min(info.file_size, MAX_PART_SIZE)
    lie = _refuse(
        path,
        f"部件 {info.filename} 声明解压后 {info.file_size} 字节，实际更大（压缩炸弹）",
        f"part {info.filename} declares {info.file_size} bytes but inflates to more (zip bomb)",
    )
    bad = _refuse(path, f"部件 {info.filename} 已损坏（长度或校验和不符）",
                  f"part {info.filename} is damaged (size or checksum mismatch)")
    f.seek(data_at)
    left = info.compress_size
    produced = 0
    crc = 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    while left > 0:
        chunk = f.read(min(64 * 1024, left))
        if not chunk:
            raise bad
        left -= len(chunk)
        if inflater is None:
            produced += len(chunk)
            crc = zlib.crc32(chunk, crc)
            if produced > limit:
                raise lie
            continue
        buf = chunk
        while buf and not inflater.eof:
            out = inflater.decompress(buf, INFLATE_STEP)
            buf = inflater.unconsumed_tail
            produced += len(out)
            crc = zlib.crc32(out, crc)
            if produced > limit:
                raise lie
        if inflater.eof and (buf or left):
            raise bad  # data after the end of the deflate stream
    if inflater is not None:
        while not inflater.eof:
            out = inflater.flush(INFLATE_STEP)
            if not out:
                break
            produced += len(out)
            crc = zlib.crc32(out, crc)
            if produced > limit:
                raise lie
        if not inflater.eof:
            raise bad
    if produced != info.file_size or crc != info.CRC:
        raise bad


_DTD_RE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _decode_head(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:].decode("latin-1")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    if head[:4] == b"<\x00?\x00":
        return head[: len(head) // 2 * 2].decode("utf-16-le", errors="ignore")
    if head[:4] == b"\x00<\x00?":
        return head[: len(head) // 2 * 2].decode("utf-16-be", errors="ignore")
    return head.decode("latin-1")  # markup is ASCII; other bytes only need to stay one char each


def _prolog_verdict(text: str, complete: bool) -> str:
    """'bad' (a DTD), 'ok' (root element reached / part ended), or 'more' (need more bytes)."""
    if _DTD_RE.search(text):
        return "bad"
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return "ok" if complete else "more"
        if not complete and n - i < 10:
            return "more"  # e.g. "<!DOC" cut at the chunk boundary
        if text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                return "ok" if complete else "more"
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                return "ok" if complete else "more"
            i = j + 3
        else:
            # The root element (or text that no parser will accept). A DTD can only come before it.
            return "ok"


def _scan_xml_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    head = b""
    with zf.open(info) as stream:
        while True:
            chunk = stream.read(XML_HEAD_STEP)
            head += chunk
            complete = not chunk or len(head) >= info.file_size
            verdict = _prolog_verdict(_decode_head(head), complete)
            if verdict == "ok":
                return
            if verdict == "bad":
                raise _refuse(
                    path,
                    f"部件 {info.filename} 含有 DOCTYPE/ENTITY 声明（XML 实体攻击）",
                    f"part {info.filename} contains a DOCTYPE/ENTITY declaration (XML entity trick)",
                )
            if len(head) >= XML_HEAD_CAP:
                raise _refuse(
                    path,
                    f"部件 {info.filename} 的 XML 开头超过 {XML_HEAD_CAP // 1024} KB 仍未见根元素（疑似 XML 实体攻击）",
                    f"part {info.filename} has no root element within its first {XML_HEAD_CAP // 1024} KB"
                    " (suspected XML entity trick)",
                )


# --- XML helpers (lxml, imported lazily) --------------------------------------------------------
def _parse_xml(data: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    root = etree.fromstring(data, parser)
    if root.getroottree().docinfo.doctype:
        raise ValueError("DOCTYPE in package XML")
    return root


def _serialize(root) -> bytes:
    from lxml import etree

    # the declaration as Excel writes it (lxml would use single quotes)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + etree.tostring(root, encoding="UTF-8")


def _content_types(root) -> tuple[dict[str, str], dict[str, str]]:
    """(defaults by lower-case extension, overrides by lower-case part name without leading '/')."""
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        if tag == "Default" and el.get("Extension") is not None:
            defaults[el.get("Extension").lower()] = el.get("ContentType", "")
        elif tag == "Override" and el.get("PartName") is not None:
            overrides[el.get("PartName").lstrip("/").lower()] = el.get("ContentType", "")
    return defaults, overrides


def _content_type_of(part: str, defaults: dict[str, str], overrides: dict[str, str]) -> str | None:
    if part.lower() in overrides:
        return overrides[part.lower()]
    ext = part.rsplit(".", 1)[-1].lower() if "." in part.rsplit("/", 1)[-1] else ""
    return defaults.get(ext)


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve_target(source_part: str | None, target: str) -> str:
    """Part name a relationship target points at (source_part None = package root)."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    base = posixpath.dirname(source_part) if source_part else ""
    return posixpath.normpath(posixpath.join(base, target))


def _relationships(root) -> list[dict[str, str]]:
    return [dict(el.attrib) for el in root if isinstance(el.tag, str) and el.tag.endswith("Relationship")]


# --- inspect ------------------------------------------------------------------------------------
def inspect_package(path) -> PackageInfo:
    """Check an untrusted workbook file before openpyxl loads it. Reads only; never writes."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ShipbookError(f"找不到工作簿文件：{path}", f"Workbook file not found: {path}") from None
    except OSError as exc:
        raise ShipbookError(f"无法读取工作簿文件 {path}：{exc.strerror}",
                            f"Cannot read workbook file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "不是普通文件", "not a regular file")
    if st.st_size == 0:
        raise _refuse(path, "文件是空的（0 字节）", "the file is empty (0 bytes)")
    try:
        with open(path, "rb") as f:
            return _inspect_open(f, st.st_size, path)
    except ShipbookError:
        raise
    except OSError as exc:
        raise ShipbookError(f"无法读取工作簿文件 {path}：{exc.strerror}",
                            f"Cannot read workbook file {path}: {exc.strerror}") from None


def _inspect_open(f, size: int, path: Path) -> PackageInfo:
    magic = f.read(8)
    if magic == CFB_SIGNATURE:
        raise _refuse(
            path,
            "这是加密（设了打开密码）或旧版 .xls 格式的文件；请在 Excel 中去掉密码或另存为 .xlsm",
            "this is an encrypted (password-protected) or legacy .xls file; remove the password or save it"
            " as .xlsm in Excel",
        )
    not_ooxml = _refuse(path, "不是 Excel 工作簿（.xlsx/.xlsm 压缩包）", "not an Excel workbook (.xlsx/.xlsm zip package)")
    if magic[:4] != b"PK\x03\x04":
        raise not_ooxml
    end = _central_directory_size(f, size)
    if end is None:
        raise not_ooxml
    entries, cd_size = end
    if entries > MAX_ENTRIES:
        raise _refuse(path, f"压缩包内有 {entries} 个部件，超过上限 {MAX_ENTRIES}（疑似压缩炸弹）",
                      f"the package has {entries} parts, more than {MAX_ENTRIES} (suspected zip bomb)")
    if cd_size > MAX_CENTRAL_DIR:
        raise _refuse(path, "压缩包目录过大（疑似压缩炸弹）", "the zip central directory is too large (suspected zip bomb)")
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, struct.error, OSError):
        raise _refuse(path, "压缩包已损坏，无法读取", "the zip package is damaged and cannot be read") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _refuse(path, f"压缩包内有 {len(infos)} 个部件，超过上限 {MAX_ENTRIES}（疑似压缩炸弹）",
                          f"the package has {len(infos)} parts, more than {MAX_ENTRIES} (suspected zip bomb)")
        seen: set[str] = set()
        total = 0
        for info in infos:
            key = info.filename.lower()
            if key in seen:
                raise _refuse(path, f"部件 {info.filename} 重复出现", f"part {info.filename} appears twice")
            seen.add(key)
            if info.flag_bits & 0x01:
                raise _refuse(path, f"部件 {info.filename} 被加密", f"part {info.filename} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _refuse(path, f"部件 {info.filename} 使用了不支持的压缩方式",
                              f"part {info.filename} uses an unsupported compression method")
            if info.file_size > MAX_PART_SIZE:
                raise _refuse(
                    path,
                    f"部件 {info.filename} 声明解压后 {_mb(info.file_size)}，超过上限 {_mb(MAX_PART_SIZE)}（压缩炸弹）",
                    f"part {info.filename} declares {_mb(info.file_size)} uncompressed, over the"
                    f" {_mb(MAX_PART_SIZE)} limit (zip bomb)",
                )
            total += info.file_size
            if total > MAX_TOTAL_SIZE:
                raise _refuse(
                    path,
                    f"全部部件解压后超过 {_mb(MAX_TOTAL_SIZE)}（压缩炸弹）",
                    f"the parts declare more than {_mb(MAX_TOTAL_SIZE)} uncompressed in total (zip bomb)",
                )
            if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size // max(info.compress_size, 1)
                raise _refuse(
                    path,
                    f"部件 {info.filename} 压缩比 {ratio}:1，超过上限 {MAX_RATIO}:1（压缩炸弹）",
                    f"part {info.filename} has a compression ratio of {ratio}:1, over {MAX_RATIO}:1 (zip bomb)",
                )
        for info in infos:
            try:
                data_at, local = _local_header(f, info)
                if _suspicious(info, local):
                    _stream_check(f, info, data_at, path)
            except (ValueError, zlib.error):
                raise _refuse(path, f"部件 {info.filename} 已损坏", f"part {info.filename} is damaged") from None

        names = [i.filename for i in infos]
        for required in (CT_PATH, "xl/workbook.xml"):
            if required.lower() not in seen:
                raise _refuse(path, f"缺少 {required}，不是有效的 Excel 工作簿",
                              f"{required} is missing, so this is not a valid Excel workbook")
        try:
            for info in infos:
                if info.filename.lower().endswith(XML_EXTS):
                    _scan_xml_part(zf, info, path)
            ct_info = next(i for i in infos if i.filename.lower() == CT_PATH.lower())
            if ct_info.file_size > MAX_META_XML:
                raise _refuse(path, f"{CT_PATH} 过大", f"{CT_PATH} is too large")
            defaults, overrides = _content_types(_parse_xml(zf.read(ct_info)))
            rels_info = next((i for i in infos if i.filename.lower() == ROOT_RELS), None)
            root_rels = []
            if rels_info is not None and rels_info.file_size <= MAX_META_XML:
                root_rels = _relationships(_parse_xml(zf.read(rels_info)))
        except ShipbookError:
            raise
        except Exception:
            raise _refuse(path, f"{CT_PATH} 或其他部件已损坏", f"{CT_PATH} or another part is damaged") from None

    wb_ct = _content_type_of("xl/workbook.xml", defaults, overrides)
    has_vba = VBA_PART.lower() in seen
    ribbon_parts = {"customui/customui.xml", "customui/customui14.xml"}
    ribbon_rels = any(r.get("Type") in RIBBON_RELS for r in root_rels)
    return PackageInfo(
        path=path,
        parts=tuple(names),
        workbook_content_type=wb_ct,
        has_vba=has_vba,
        is_macro=has_vba or wb_ct in MACRO_CTS,
        has_ribbon=ribbon_rels or bool(ribbon_parts & seen),
    )


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


# --- load options -------------------------------------------------------------------------------
def load_options_for(path) -> dict:
    """kwargs for openpyxl.load_workbook so that a save keeps what this kind of file must keep."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXPECTED_CT:
        raise BookRefused(
            f"不支持的工作簿类型 {suffix or '（无扩展名）'}，只支持 .xlsx/.xlsm：{path}",
            f"Unsupported workbook type {suffix or '(no extension)'}, only .xlsx/.xlsm: {path}",
        )
    return {
        # keep_vba=True on an .xlsx would type it macro-enabled (Excel refuses the file)
        "keep_vba": suffix in MACRO_SUFFIXES,
        "rich_text": False,
        "data_only": False,  # keep formulas: a save after data_only=True would replace them by values
        "keep_links": True,
    }


# --- repair -------------------------------------------------------------------------------------
class _Xml:
    """A package XML part being edited."""

    def __init__(self, data: bytes | None, empty_tag: str):
        from lxml import etree

        self.root = _parse_xml(data) if data is not None else etree.Element(empty_tag, nsmap={None: empty_tag[1:].split("}")[0]})
        self.dirty = data is None


def repair_package(original, new) -> bool:
    """Put back into `new` (an openpyxl save) what openpyxl dropped from `original`; see module doc.

    `original` may be None (a brand-new book): then only the suffix rules apply. Returns True if the
    package was rewritten. Parts not touched keep their bytes, compressed data included.
    """
    from lxml import etree

    new = Path(new)
    suffix = new.suffix.lower()
    add: dict[str, bytes] = {}
    remove: set[str] = set()
    carried: set[str] = set()  # parts whose content type must follow the original

    with zipfile.ZipFile(new) as nz:
        names = nz.namelist()
        have = set(names)
        ct = _Xml(nz.read(CT_PATH), f"{{{NS_CT}}}Types")
        root_rels = _Xml(nz.read(ROOT_RELS) if ROOT_RELS in have else None, f"{{{NS_RELS}}}Relationships")
        wb_part = next((_resolve_target(None, r["Target"]) for r in _relationships(root_rels.root)
                        if r.get("Type") == REL_OFFICE_DOC), "xl/workbook.xml")
        wb_rels_name = _rels_path(wb_part)
        wb_rels = _Xml(nz.read(wb_rels_name) if wb_rels_name in have else None, f"{{{NS_RELS}}}Relationships")
        new_vba = nz.read(VBA_PART) if VBA_PART in have else None

    def present(name: str) -> bool:
        return (name in have or name in add) and name not in remove

    def add_rel(xml: _Xml, rel_type: str, target: str, wanted_id: str | None) -> None:
        ids = {r.get("Id") for r in _relationships(xml.root)}
        rid = wanted_id if wanted_id and wanted_id not in ids else None
        n = 1
        while rid is None:
            rid = f"rIdSb{n}" if f"rIdSb{n}" not in ids else None
            n += 1
        etree.SubElement(xml.root, f"{{{NS_RELS}}}Relationship", Id=rid, Type=rel_type, Target=target)
        xml.dirty = True

    if original is not None and Path(original).exists():
        original = Path(original)
        inspect_package(original)  # the original is read below: same limits as for a load
        with zipfile.ZipFile(original) as oz:
            o_have = set(oz.namelist())
            o_defaults, o_overrides = _content_types(_parse_xml(oz.read(CT_PATH)))
            o_root_rels = _relationships(_parse_xml(oz.read(ROOT_RELS))) if ROOT_RELS in o_have else []

            # 1. ribbon parts and their relationships
            new_rels = _relationships(root_rels.root)
            for rel in o_root_rels:
                if rel.get("Type") not in RIBBON_RELS or rel.get("TargetMode") == "External":
                    continue
                target = _resolve_target(None, rel.get("Target", ""))
                if target not in o_have:
                    continue
                # the ribbon part, its .rels and what that points at (images): follow relationships,
                # never copy a whole folder (a ribbon could sit in xl/ beside parts openpyxl dropped)
                group = [target]
                ui_rels = _rels_path(target)
                if ui_rels in o_have:
                    group.append(ui_rels)
                    for r in _relationships(_parse_xml(oz.read(ui_rels))):
                        if r.get("TargetMode") != "External":
                            group.append(_resolve_target(target, r.get("Target", "")))
                for n in group:
                    if n in o_have:
                        carried.add(n)
                        if not present(n):
                            add[n] = oz.read(n)
                if not any(r.get("Type") == rel["Type"] and _resolve_target(None, r.get("Target", "")) == target
                           for r in new_rels):
                    add_rel(root_rels, rel["Type"], rel["Target"], rel.get("Id"))

            # 2. VBA project (macro-enabled target only) and its signature relationships
            if suffix in MACRO_SUFFIXES and VBA_PART in o_have:
                o_vba = oz.read(VBA_PART)
                carried.add(VBA_PART)
                if not present(VBA_PART):
                    add[VBA_PART] = o_vba
                    new_vba = o_vba
                if not any(r.get("Type") == REL_VBA for r in _relationships(wb_rels.root)):
                    add_rel(wb_rels, REL_VBA, posixpath.relpath(VBA_PART, posixpath.dirname(wb_part)), None)
                if VBA_RELS in o_have and not present(VBA_RELS) and new_vba == o_vba:
                    sig_rels = oz.read(VBA_RELS)
                    add[VBA_RELS] = sig_rels
                    carried.add(VBA_RELS)
                    for r in _relationships(_parse_xml(sig_rels)):
                        if r.get("TargetMode") == "External":
                            continue
                        t = _resolve_target(VBA_PART, r.get("Target", ""))
                        if t in o_have:
                            carried.add(t)
                            if not present(t):
                                add[t] = oz.read(t)
    else:
        o_defaults, o_overrides = {}, {}

    # 3. the workbook content type (and VBA) must match the suffix
    expected = EXPECTED_CT.get(suffix)
    ct_root = ct.root
    if expected is not None:
        wb_override = next((el for el in ct_root if isinstance(el.tag, str) and el.tag.endswith("Override")
                            and el.get("PartName", "").lstrip("/").lower() == wb_part.lower()), None)
        if wb_override is None:
            etree.SubElement(ct_root, f"{{{NS_CT}}}Override", PartName="/" + wb_part, ContentType=expected)
            ct.dirty = True
        elif wb_override.get("ContentType") != expected:
            wb_override.set("ContentType", expected)
            ct.dirty = True
        if suffix not in MACRO_SUFFIXES:
            vba_parts = {VBA_PART, VBA_RELS}
            if VBA_RELS in have:
                with zipfile.ZipFile(new) as nz:
                    for r in _relationships(_parse_xml(nz.read(VBA_RELS))):
                        if r.get("TargetMode") != "External":
                            vba_parts.add(_resolve_target(VBA_PART, r.get("Target", "")))
            for n in vba_parts:
                if n in have:
                    remove.add(n)
                add.pop(n, None)
            for el in list(wb_rels.root):
                if isinstance(el.tag, str) and el.get("Type") == REL_VBA:
                    wb_rels.root.remove(el)
                    wb_rels.dirty = True
            for el in list(ct_root):
                if not isinstance(el.tag, str):
                    continue
                if (el.tag.endswith("Override") and el.get("PartName", "").lstrip("/") in vba_parts) or (
                        el.tag.endswith("Default") and el.get("ContentType") == CT_VBA):
                    ct_root.remove(el)
                    ct.dirty = True

    # 4. content types for the parts carried over from the original
    defaults, overrides = _content_types(ct_root)
    for n in sorted(carried):
        if not present(n):
            continue
        want = o_overrides.get(n.lower())
        current = _content_type_of(n, defaults, overrides)
        if want is not None and current != want:
            etree.SubElement(ct_root, f"{{{NS_CT}}}Override", PartName="/" + n, ContentType=want)
            overrides[n.lower()] = want
            ct.dirty = True
        elif current is None:
            import mimetypes

            ext = n.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(n) else ""
            guess = o_defaults.get(ext) or (mimetypes.guess_type("x." + ext)[0] if ext else None)
            if ext and guess:
                etree.SubElement(ct_root, f"{{{NS_CT}}}Default", Extension=ext, ContentType=guess)
                defaults[ext] = guess
            else:
                etree.SubElement(ct_root, f"{{{NS_CT}}}Override", PartName="/" + n,
                                 ContentType="application/octet-stream")
                overrides[n.lower()] = "application/octet-stream"
            ct.dirty = True

    replace: dict[str, bytes] = {}
    for name, xml in ((CT_PATH, ct), (ROOT_RELS, root_rels), (wb_rels_name, wb_rels)):
        if xml.dirty:
            if name in have:
                replace[name] = _serialize(xml.root)
            else:
                add[name] = _serialize(xml.root)
    if not (add or remove or replace):
        return False
    scratch = new.with_name(f".~shipbook-{secrets.token_hex(6)}.repair{new.suffix}")
    try:
        _rewrite_zip(new, scratch, replace=replace, remove=remove, add=add)
        os.replace(scratch, new)
    finally:
        scratch.unlink(missing_ok=True)
    return True


def _dos_datetime(dt: tuple) -> tuple[int, int]:
    y, mo, d, h, mi, s = dt
    if y < 1980:
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    return (y - 1980) << 9 | mo << 5 | d, h << 11 | mi << 5 | s // 2


def _rewrite_zip(src: Path, dst: Path, *, replace: dict[str, bytes], remove: set[str], add: dict[str, bytes]) -> None:
    """Write `src` to `dst`, copying untouched parts' compressed bytes verbatim (no re-deflate).

    Re-deflating a 50k-line sheet costs ~1.2 s here; a raw copy costs the I/O. No zip64 is ever needed:
    inspect_package caps the uncompressed total at 1.5 GB and the entry count at 10,000.
    """
    now = _dt.datetime.now().timetuple()[:6]
    central: list[bytes] = []
    with open(src, "rb") as f, zipfile.ZipFile(f) as zf, open(dst, "xb") as out:

        def put(name: str, method: int, flags: int, dt: tuple, crc: int, csize: int, usize: int,
                ext_attr: int, system: int, copy_from: int | None, data: bytes | None) -> None:
            try:
                raw_name = name.encode("ascii")
            except UnicodeEncodeError:
                raw_name = name.encode("utf-8")
                flags |= 0x800
            offset = out.tell()
            if max(offset, csize, usize) >= 0xFFFFFFFF or len(central) >= 0xFFFF:
                raise ShipbookError(f"工作簿太大，无法修复：{src}", f"Workbook too large to repair: {src}")
            ddate, dtime = _dos_datetime(dt)
            out.write(_LOCAL.pack(b"PK\x03\x04", 20, flags, method, dtime, ddate, crc, csize, usize, len(raw_name), 0))
            out.write(raw_name)
            if data is not None:
                out.write(data)
            else:
                f.seek(copy_from)
                left = csize
                while left:
                    chunk = f.read(min(1 << 20, left))
                    if not chunk:
                        raise ShipbookError(f"工作簿文件被截断：{src}", f"Workbook file is truncated: {src}")
                    out.write(chunk)
                    left -= len(chunk)
            central.append(_CENTRAL.pack(b"PK\x01\x02", system << 8 | 20, 20, flags, method, dtime, ddate, crc,
                                         csize, usize, len(raw_name), 0, 0, 0, 0, ext_attr, offset) + raw_name)

        def put_new(name: str, data: bytes, dt: tuple) -> None:
            packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            packed = packer.compress(data) + packer.flush()
            put(name, zipfile.ZIP_DEFLATED, 0, dt, zlib.crc32(data), len(packed), len(data), 0o600 << 16, 3, None, packed)

        for info in zf.infolist():
            if info.filename in remove:
                continue
            if info.filename in replace:
                put_new(info.filename, replace[info.filename], info.date_time)
                continue
            data_at, _ = _local_header(f, info)
            put(info.filename, info.compress_type, info.flag_bits & 0x06, info.date_time, info.CRC,
                info.compress_size, info.file_size, info.external_attr, info.create_system, data_at, None)
        for name, data in add.items():
            put_new(name, data, now)
        cd_at = out.tell()
        for rec in central:
            out.write(rec)
        cd_size = out.tell() - cd_at
        out.write(_EOCD.pack(b"PK\x05\x06", 0, 0, len(central), len(central), cd_size, cd_at, 0))


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


def safe_save(path, write: Callable[[Path], None], *, original=None, backups: int = 10) -> Path | None:
    """Write the book through a temp file beside it, repair, verify, back up, then replace atomically.

    `write(tmp)` writes the new workbook to `tmp` (same folder and suffix as `path`). `original` is the
    package to repair from (default: the current `path`). Returns the backup of the replaced book, or
    None if there was no book yet or `backups` is 0. On failure the book is untouched and no temp file
    is left behind.
    """
    path = Path(path)
    check_writable(path)
    source = Path(original) if original is not None else (path if path.exists() else None)
    had_vba = False
    if source is not None:
        had_vba = inspect_package(source).has_vba
    tmp = path.with_name(f".~shipbook-{secrets.token_hex(8)}.tmp{path.suffix}")
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
        try:
            os.replace(tmp, path)
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
