"""Builders of real workbook packages for test_safety.py (good books, ribbons, bombs, tricks)."""

from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path

import xlwings

QUICKSTART = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"

R06 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
R07 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_IMAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
REL_VBA_SIG = "http://schemas.microsoft.com/office/2006/relationships/vbaProjectSignature"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_SIG = "application/vnd.ms-office.vbaProjectSignature"

# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
)

UI_BODY = (
    '<ribbon><tabs><tab id="tabShipbook" label="发货"><group id="grpOrders" label="订单">'
    '<button id="btnValidate" label="校验" size="large" image="icon1" onAction="Shipbook_Validate"/>'
    "</group></tab></tabs></ribbon>"
)
UI_2006 = ('<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">' + UI_BODY + "</customUI>").encode()
UI_2009 = ('<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui">' + UI_BODY + "</customUI>").encode()
IMAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="icon1" Type="{REL_IMAGE}" Target="images/icon1.png"/></Relationships>'
).encode()

# (part, relationship type, relationship Id, content)
RIBBONS = {
    "2006": [("customUI/customUI.xml", R06, "rIdRibbon06", UI_2006)],
    "2007": [("customUI/customUI14.xml", R07, "rIdRibbon07", UI_2009)],
    "both": [("customUI/customUI.xml", R06, "rIdRibbon06", UI_2006),
             ("customUI/customUI14.xml", R07, "rIdRibbon07", UI_2009)],
}


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rewrite(src, dst, *, edit=None, extra=()):
    """Copy a zip part by part; edit(name, data) -> data|None (None drops it); extra: (name, data) appended."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if edit is not None:
                data = edit(info.filename, data)
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in extra:
            zout.writestr(name, data)
    return Path(dst)


def add_rels(data: bytes, rels) -> bytes:
    xml = "".join(f'<Relationship Id="{rid}" Type="{typ}" Target="{target}"/>' for rid, typ, target in rels)
    return data.replace(b"</Relationships>", xml.encode() + b"</Relationships>")


def add_types(data: bytes, xml: str) -> bytes:
    return data.replace(b"</Types>", xml.encode() + b"</Types>")


def featured_book(dst) -> Path:
    """quickstart_standalone.xlsm plus names, validation, conditional formats, panes, widths, print setup."""
    import openpyxl
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.load_workbook(QUICKSTART, keep_vba=True)
    ws = wb["Sheet1"]
    ws.append(["订单号", "快递公司", "数量"])
    ws.append(["WX0001", "SF", 2])
    wb.defined_names["SB_Cutoff"] = DefinedName("SB_Cutoff", attr_text="Sheet1!$B$2")
    dv = DataValidation(type="list", formula1='"SF,ZTO,YTO"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("B2:B500")
    ws.conditional_formatting.add(
        "C2:C500", CellIsRule(operator="lessThan", formula=["1"], fill=PatternFill("solid", fgColor="FFC7CE"))
    )
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 13
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True
    wb.save(dst)
    wb.vba_archive.close()
    return Path(dst)


def with_ribbon(src, dst, variant: str, *, rel_id: str | None = None) -> Path:
    """Add a ribbon (2006 customUI.xml, 2007 customUI14.xml or both) with an image, as Excel tools do."""
    parts = RIBBONS[variant]

    def edit(name, data):
        if name == "_rels/.rels":
            return add_rels(data, [(rel_id or rid, typ, part) for part, typ, rid, _ in parts])
        if name == "[Content_Types].xml":
            return add_types(data, '<Default Extension="png" ContentType="image/png"/>')
        return data

    extra = []
    for part, _, _, content in parts:
        extra.append((part, content))
        extra.append((f"customUI/_rels/{part.rsplit('/', 1)[1]}.rels", IMAGE_RELS))
    extra.append(("customUI/images/icon1.png", PNG))
    return rewrite(src, dst, edit=edit, extra=extra)


def with_signature(src, dst) -> Path:
    """Add (fake) VBA signature parts and their relationships, as a signed project has."""
    def edit(name, data):
        if name == "[Content_Types].xml":
            return add_types(data, f'<Override PartName="/xl/vbaProjectSignature.bin" ContentType="{CT_SIG}"/>')
        return data

    rels = add_rels(
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>',
        [("rId1", REL_VBA_SIG, "vbaProjectSignature.bin")],
    )
    return rewrite(src, dst, edit=edit,
                   extra=[("xl/_rels/vbaProject.bin.rels", rels), ("xl/vbaProjectSignature.bin", b"SIG" * 500)])


def with_zero_part(src, dst, name: str, size: int) -> Path:
    """Append a part of `size` zero bytes, deflated while streaming (600 MB -> ~600 KB, ~1 s)."""
    rewrite(src, dst)
    with zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        block = bytes(1 << 20)
        with z.open(info, "w", force_zip64=size >= (1 << 31)) as w:
            left = size
            while left:
                n = min(left, len(block))
                w.write(block[:n])
                left -= n
    return Path(dst)


def patch_declared_size(path, name: str, usize: int, *, local: bool = True, central: bool = True) -> None:
    """Make a part's header lie about its uncompressed size (local header and/or central directory)."""
    _patch_u32(path, name, usize, local_at=22, central_at=24, local=local, central=central)


def patch_crc(path, name: str, crc: int) -> None:
    """Give a part a wrong CRC-32 in both its headers."""
    _patch_u32(path, name, crc, local_at=14, central_at=16, local=True, central=True)


def _patch_u32(path, name: str, value: int, *, local_at: int, central_at: int, local: bool, central: bool) -> None:
    path = Path(path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    raw = bytearray(path.read_bytes())
    if local:
        assert raw[info.header_offset:info.header_offset + 4] == b"PK\x03\x04"
        struct.pack_into("<I", raw, info.header_offset + local_at, value)
    if central:
        pos = 0
        encoded = name.encode()
        while True:
            pos = raw.find(b"PK\x01\x02", pos)
            assert pos >= 0, name
            name_len = struct.unpack_from("<H", raw, pos + 28)[0]
            if bytes(raw[pos + 46:pos + 46 + name_len]) == encoded:
                struct.pack_into("<I", raw, pos + central_at, value)
                break
            pos += 4
    path.write_bytes(bytes(raw))


BILLION_LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"
)


def with_sheet1(src, dst, content: bytes) -> Path:
    return rewrite(src, dst, edit=lambda n, d: content if n == "xl/worksheets/sheet1.xml" else d)


def raw_part(path, name: str) -> bytes:
    """The compressed bytes of one part, as stored in the zip."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
        n, e = struct.unpack_from("<HH", head, 26)
        f.seek(info.header_offset + 30 + n + e)
        return f.read(info.compress_size)


def rels_of(path, name: str = "_rels/.rels") -> list[dict]:
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read(name))
    return [dict(el.attrib) for el in root]


def content_types(path) -> tuple[dict, dict]:
    from lxml import etree

    with zipfile.ZipFile(path) as z:
        root = etree.fromstring(z.read("[Content_Types].xml"))
    defaults = {el.get("Extension"): el.get("ContentType") for el in root if el.tag.endswith("Default")}
    overrides = {el.get("PartName"): el.get("ContentType") for el in root if el.tag.endswith("Override")}
    return defaults, overrides


def vba_modules(path) -> dict[str, str]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # oletools' pyparsing deprecation noise on import
        from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(path))
    try:
        return {vba_name: code for _, _, vba_name, code in parser.extract_all_macros()}
    finally:
        parser.close()
