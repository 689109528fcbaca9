"""The Open Packaging Conventions as a workbook package uses them: part names, content types,
relationship types, zip record layouts, and the package XML helpers (lxml, imported lazily).

Shared by the package checks (inspection.py), the repair (repair.py), the zip rewrite
(zip_rewrite.py) and the save check (saving.py). Standard library only at import time.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile

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


# --- zip structure ------------------------------------------------------------------------------
_LOCAL = struct.Struct("<4s5H3I2H")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<4s6H3I5H2I")  # central directory header, 46 bytes
_EOCD = struct.Struct("<4s4H2IH")  # end of central directory, 22 bytes
_EOCD64_LOC = struct.Struct("<4sIQI")  # zip64 locator, 20 bytes
_EOCD64 = struct.Struct("<4sQ2H2I4Q")  # zip64 end of central directory, 56 bytes


def _local_header(f, info: zipfile.ZipInfo) -> tuple[int, tuple]:
    """Offset of the part's data and the fields of its local header."""
    f.seek(info.header_offset)
    raw = f.read(_LOCAL.size)
    if len(raw) < _LOCAL.size or raw[:4] != b"PK\x03\x04":
        raise ValueError(f"bad local header for {info.filename}")
    fields = _LOCAL.unpack(raw)
    name_len, extra_len = fields[9], fields[10]
    return info.header_offset + _LOCAL.size + name_len + extra_len, fields


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
