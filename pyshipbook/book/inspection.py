"""Package inspection: check an untrusted workbook file before openpyxl loads it.

Encrypted / legacy CFB files, zip structure and declared sizes (zip bombs), XML entity tricks in
any XML part, the content types; also the openpyxl load options a file of this kind needs.
Reads only, never writes. Standard library only at import time.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pyshipbook.errors import BookRefused, ShipbookError

from .opc import (CT_PATH, EXPECTED_CT, MACRO_CTS, MACRO_SUFFIXES, RIBBON_RELS, ROOT_RELS, VBA_PART, XML_EXTS,
                  _EOCD, _EOCD64, _EOCD64_LOC, _content_type_of, _content_types, _local_header, _parse_xml,
                  _relationships)

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

CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"



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

# --- inspect ------------------------------------------------------------------------------------
def inspect_package(path, data: bytes | None = None) -> PackageInfo:
    """Check an untrusted workbook file before openpyxl loads it. Reads only; never writes.

    `data`: the file's bytes, already read (saving.read_book): the checks then run on exactly the
    bytes openpyxl will load, not on whatever the path holds a moment later.
    """
    path = Path(path)
    if data is not None:
        if not data:
            raise _refuse(path, "文件是空的（0 字节）", "the file is empty (0 bytes)")
        return _inspect_open(io.BytesIO(data), len(data), path)
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
