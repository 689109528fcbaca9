"""Build shipbook.xlsm reproducibly from text sources (`shipbook build-workbook`, `shipbook new BOOK.xlsm`).

The macro workbook is not edited by hand. It is made, byte for byte the same on every run, from:

* ``quickstart_standalone.xlsm`` as shipped by the pinned xlwings (its VBA project holds the xlwings
  module, so recipients need no add-in);
* the contract sheets, made by the same code as ``shipbook new`` (``book.xlsx.init_contract_sheets``);
* ``templates/vba/Shipbook.bas``: the one ribbon callback, which passes the button id to Python;
* ``templates/ribbon/customUI.xml.tmpl`` plus ``pyshipbook.buttons``: the ribbon tab.

Steps (each checked by tests/build/test_workbook_build.py):

1. openpyxl (``keep_vba=True``) loads the quickstart, renames its demo sheet ``Sheet1`` to the first
   contract sheet and its disabled ``_xlwings.conf`` sheet to ``xlwings.conf`` (filled, hidden, last),
   adds the other contract sheets, gives every sheet a code name, and saves.
2. pyOpenVBA edits the VBA project in place: module ``Module1`` (the quickstart's demo macro) goes,
   module ``Shipbook`` comes in, the two sheet modules are renamed to the new code names and a document
   module is added for every new sheet, so code names in the workbook and document modules match.
3. The package is rewritten: the ribbon part ``customUI/customUI.xml`` (2006 namespace) and its
   2006 relationship in ``_rels/.rels`` are added, ``docProps/core.xml`` gets fixed dates, and every
   zip entry gets a fixed date, attributes and order.

pyOpenVBA, openpyxl and lxml are imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import string
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .errors import ShipbookError

from .paths import ROOT, TEMPLATES

RIBBON_TEMPLATE = TEMPLATES / "ribbon" / "customUI.xml.tmpl"
SHIM_SOURCE = TEMPLATES / "vba" / "Shipbook.bas"
DEFAULT_OUT = ROOT / "shipbook.xlsm"

#: Every date in the package (zip entries, docProps/core.xml). Fixed, so two builds are identical.
BUILD_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
AUTHOR = "shipbook"

#: The pinned versions (pyproject.toml, extra "build"): the xlwings VBA module in the workbook must match the
#: xlwings that users' Python runs, and step 2 relies on pyOpenVBA 6.5 internals (see _build_vba).
XLWINGS_VERSION = "0.37.8"
PYOPENVBA_VERSION = "6.5.0"

QUICKSTART_NAME = "quickstart_standalone.xlsm"
QUICKSTART_DEMO_SHEET = "Sheet1"
QUICKSTART_CONF_SHEET = "_xlwings.conf"
QUICKSTART_DEMO_MODULE = "Module1"
#: The document modules the quickstart has for its two sheets, by sheet name.
QUICKSTART_SHEET_MODULES = {QUICKSTART_DEMO_SHEET: "Sheet1", QUICKSTART_CONF_SHEET: "Sheet2"}

SHIM_MODULE = "Shipbook"
CALLBACK = "ShipbookButton"
TAB_ID = "tabShipbook"
TAB_LABEL = "发货"
TAB_KEYTIP = "FH"

RIBBON_PART = "customUI/customUI.xml"
NS_CUSTOMUI = "http://schemas.microsoft.com/office/2006/01/customui"
REL_UI = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
RIBBON_REL_ID = "rIdShipbookRibbon"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

CONF_SHEET = "xlwings.conf"
CONF_CODE_NAME = "shXlwingsConf"
#: The xlwings.conf sheet: keys in column A from A1 down (no gap: xlwings reads A1 to A1.End(xlDown)),
#: values in column B. xlwings' VBA upper-cases keys and expands %VARS% with WScript.Shell
#: ExpandEnvironmentStrings. Every key RunPython reads is set here, so a stray xlwings.conf file next
#: to the workbook or in ~/.xlwings cannot change how a button runs (the sheet wins over files).
XLWINGS_CONF: tuple[tuple[str, object], ...] = (
    # python.exe rather than pythonw.exe: RunPython hides the console itself (Show Console False) and
    # reads Python's stderr from `cmd /C ... 2> log` to show a traceback when a click fails.
    ("Interpreter_Win", r"%LOCALAPPDATA%\shipbook\venv\Scripts\python.exe"),
    ("PYTHONPATH", r"%LOCALAPPDATA%\shipbook\app"),
    # The workbook's own folder (Downloads, an email attachment folder) is *not* put on sys.path:
    # a stray pyshipbook.py or pandas.py there would run on a click. Text, not a boolean: xlwings'
    # Python side compares it with "true".
    ("ADD_WORKBOOK_TO_PYTHONPATH", "false"),
    ("Use UDF Server", False),
    ("Show Console", False),
    ("Conda Path", None),
    ("Conda Env", None),
    ("TEMP DIR", "%TEMP%"),
    ("ONEDRIVE_CONSUMER_WIN", None),
    ("ONEDRIVE_COMMERCIAL_WIN", None),
    ("SHAREPOINT_WIN", None),
)
CONF_NOTE = ("xlwings 设置: A 列为键, B 列为值, 从 A1 起连续读取, 中间不能有空行; 由 shipbook build-workbook 生成。"
             " / xlwings settings: keys in column A, values in column B, read from A1 down to the first blank"
             " row; written by shipbook build-workbook.")

# The base of a worksheet's document module, as Excel writes it (the quickstart's Sheet1 has it).
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"


# --- names -------------------------------------------------------------------------------------
def code_name(sheet_key: str) -> str:
    """The VBA code name of a contract sheet: 'sh' + PascalCase key (slip_lines -> shSlipLines)."""
    name = "sh" + "".join(part[:1].upper() + part[1:] for part in sheet_key.split("_"))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,30}", name):
        raise ValueError(f"not a VBA code name: {name!r}")
    return name


def sheet_code_names() -> dict[str, str]:
    """Sheet name -> code name, for every sheet the build makes, in workbook order."""
    from .book.schema import SHEETS
    names = {s.name: code_name(s.key) for s in SHEETS}
    names[CONF_SHEET] = CONF_CODE_NAME
    return names


def quickstart_path() -> Path:
    """The quickstart workbook the installed xlwings ships (its VBA module matches that version)."""
    try:
        import xlwings
    except ImportError:
        raise ShipbookError("缺少 xlwings, 无法构建 .xlsm (pip install -e '.[build]')",
                            "xlwings is missing, cannot build an .xlsm (pip install -e '.[build]')") from None
    if xlwings.__version__ != XLWINGS_VERSION:
        raise ShipbookError(f"需要 xlwings {XLWINGS_VERSION}, 已安装 {xlwings.__version__} (pip install -e '.[build]')",
                            f"xlwings {XLWINGS_VERSION} is needed, {xlwings.__version__} is installed"
                            " (pip install -e '.[build]')")
    path = Path(xlwings.__file__).parent / QUICKSTART_NAME
    if not path.is_file():
        raise ShipbookError(f"xlwings {xlwings.__version__} 没有附带 {QUICKSTART_NAME}",
                            f"xlwings {xlwings.__version__} does not ship {QUICKSTART_NAME}")
    return path


# --- text sources ------------------------------------------------------------------------------
def _template(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShipbookError(f"找不到构建模板 {path} (需要 shipbook 源码目录)",
                            f"build template {path} not found (a shipbook source checkout is needed)") from None


def shim_source() -> str:
    """The VBA shim as the project stores it: CRLF line endings, ASCII only, ending in CRLF."""
    text = _template(SHIM_SOURCE).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n") + "\n"
    bad = sorted({c for c in text if ord(c) > 126 or (ord(c) < 32 and c not in "\n\t")})
    if bad:
        raise ShipbookError(f"{SHIM_SOURCE.name} 含有非 ASCII 字符: {bad!r}",
                            f"{SHIM_SOURCE.name} has non-ASCII characters: {bad!r} (VBA stores code page 1252)")
    first = text.split("\n", 1)[0]
    if first != f'Attribute VB_Name = "{SHIM_MODULE}"':
        raise ShipbookError(f"{SHIM_SOURCE.name} 的第一行须为 Attribute VB_Name = \"{SHIM_MODULE}\"",
                            f"{SHIM_SOURCE.name} must start with Attribute VB_Name = \"{SHIM_MODULE}\"")
    return text.replace("\n", "\r\n")


def ribbon_xml() -> bytes:
    """customUI.xml for the 发货 tab: one group per buttons.GROUPS entry, one button per BUTTONS entry."""
    from lxml import etree

    from .buttons import BUTTONS, GROUPS
    group_ids = [g for g, _ in GROUPS]
    unknown = sorted({b.group for b in BUTTONS} - set(group_ids))
    if unknown:
        raise ShipbookError(f"按钮引用了不存在的分组: {unknown}", f"buttons refer to unknown groups: {unknown}")
    blocks = []
    for gid, glabel in GROUPS:
        buttons = [b for b in BUTTONS if b.group == gid]
        if not buttons:
            continue
        lines = [f"        <group id={quoteattr(gid)} label={quoteattr(glabel)}>"]
        for b in buttons:
            lines.append(
                f"          <button id={quoteattr(b.id)} label={quoteattr(b.label)}"
                f" screentip={quoteattr(b.screentip)} imageMso={quoteattr(b.image)}"
                f' size="large" onAction="{CALLBACK}"/>')
        lines.append("        </group>")
        blocks.append("\n".join(lines))
    text = string.Template(_template(RIBBON_TEMPLATE)).substitute(
        tab_label=escape(TAB_LABEL), tab_keytip=escape(TAB_KEYTIP), groups="\n".join(blocks))
    data = text.encode("utf-8")
    root = etree.fromstring(data)  # well-formed, or the build stops here
    if root.tag != f"{{{NS_CUSTOMUI}}}customUI":
        raise ShipbookError(f"{RIBBON_TEMPLATE.name} 不是 2006 customUI",
                            f"{RIBBON_TEMPLATE.name} is not a 2006 customUI")
    return data


# --- step 1: sheets (openpyxl) ------------------------------------------------------------------
def _build_sheets(quickstart: Path, out: Path) -> None:
    from openpyxl import load_workbook

    from .book.schema import ORDERS, SHEETS
    from .book.xlsx import init_contract_sheets

    wb = load_workbook(quickstart, keep_vba=True)
    expected = [QUICKSTART_DEMO_SHEET, QUICKSTART_CONF_SHEET]
    if wb.sheetnames != expected:
        raise ShipbookError(f"{QUICKSTART_NAME} 的工作表不是预期的 {expected}: {wb.sheetnames}",
                            f"{QUICKSTART_NAME} has sheets {wb.sheetnames}, expected {expected}")
    for name, module in QUICKSTART_SHEET_MODULES.items():
        if wb[name].sheet_properties.codeName != module:
            raise ShipbookError(f"{QUICKSTART_NAME}: 工作表 {name} 的代码名不是 {module}",
                                f"{QUICKSTART_NAME}: sheet {name} does not have code name {module}")
    demo = wb[QUICKSTART_DEMO_SHEET]
    demo.title = ORDERS.name
    conf = wb[QUICKSTART_CONF_SHEET]
    conf.title = CONF_SHEET
    # the quickstart's sample settings and instructions go; ours replace them
    conf.delete_rows(1, conf.max_row)
    conf.row_dimensions.clear()
    conf.column_dimensions.clear()

    init_contract_sheets(wb)
    wb.move_sheet(conf, len(wb.sheetnames) - 1 - wb.index(conf))
    if wb.sheetnames != [s.name for s in SHEETS] + [CONF_SHEET]:
        raise ShipbookError(f"工作表顺序不对: {wb.sheetnames}", f"unexpected sheet order: {wb.sheetnames}")

    for r, (key, value) in enumerate(XLWINGS_CONF, 1):
        conf.cell(r, 1, key).data_type = "s"
        if value is not None:
            conf.cell(r, 2, value)
    conf.cell(1, 4, CONF_NOTE)
    conf.column_dimensions["A"].width = 28
    conf.column_dimensions["B"].width = 48
    conf.sheet_state = "hidden"

    codes = sheet_code_names()
    for ws in wb.worksheets:
        ws.sheet_properties.codeName = codes[ws.title]
        ws.sheet_view.tabSelected = False
        for selection in ws.sheet_view.selection:  # the quickstart's Sheet1 had L6 selected
            selection.activeCell = selection.sqref = "A2" if ws.freeze_panes == "A2" else "A1"
    wb.active = 0
    wb.worksheets[0].sheet_view.tabSelected = True

    props = wb.properties
    props.creator = AUTHOR
    props.lastModifiedBy = AUTHOR
    props.title = "shipbook 发货工作簿"
    props.created = BUILD_TIME
    props.modified = BUILD_TIME  # openpyxl stamps "now" on save; step 3 puts BUILD_TIME back
    wb.save(out)


# --- step 2: VBA project (pyOpenVBA) --------------------------------------------------------------
def _check_pyopenvba() -> None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        found = version("pyopenvba")
    except PackageNotFoundError:
        found = None
    if found != PYOPENVBA_VERSION:
        raise ShipbookError(f"需要 pyOpenVBA {PYOPENVBA_VERSION}, 已安装 {found} (pip install -e '.[build]')",
                            f"pyOpenVBA {PYOPENVBA_VERSION} is needed, {found} is installed"
                            " (pip install -e '.[build]')")


def _build_vba(path: Path) -> None:
    from pyopenvba import ExcelFile, VBAModuleKind

    source = shim_source()
    codes = sheet_code_names()
    from .book.schema import ORDERS
    renames = {QUICKSTART_SHEET_MODULES[QUICKSTART_DEMO_SHEET]: codes[ORDERS.name],
               QUICKSTART_SHEET_MODULES[QUICKSTART_CONF_SHEET]: CONF_CODE_NAME}
    with ExcelFile(path) as xf:
        project = xf.vba_project()
        names = project.module_names()
        if project.code_page != 1252 or QUICKSTART_DEMO_MODULE not in names or "xlwings" not in names:
            raise ShipbookError(f"{QUICKSTART_NAME} 的 VBA 工程不是预期的样子: {names}",
                                f"{QUICKSTART_NAME}'s VBA project is not as expected: {names}")
        sheet_header = project.get_module(QUICKSTART_SHEET_MODULES[QUICKSTART_DEMO_SHEET]).attribute_header
        if f'Attribute VB_Base = "{WORKSHEET_BASE}"' not in sheet_header:
            raise ShipbookError(f"{QUICKSTART_NAME}: 工作表模块的 VB_Base 不对",
                                f"{QUICKSTART_NAME}: unexpected VB_Base of the sheet module")
        project.delete_module(QUICKSTART_DEMO_MODULE)
        project.add_module(SHIM_MODULE, source, kind=VBAModuleKind.standard)
        for old, new in renames.items():
            project.rename_module(old, new)
        added = []
        for code in codes.values():
            if code in renames.values():
                continue
            header = sheet_header.replace(f'Attribute VB_Name = "{QUICKSTART_SHEET_MODULES[QUICKSTART_DEMO_SHEET]}"',
                                          f'Attribute VB_Name = "{code}"', 1)
            project.add_module(code, header, kind=VBAModuleKind.other)
            added.append(code)
        # pyOpenVBA 6.5 declares an added module in the PROJECT stream as `Document=NAME/&H00000000`
        # (a sheet's module) only when its name is in _document_names, which only its add_vba_project
        # fills; otherwise as `Class=NAME`, which a sheet module is not. Tests read the PROJECT stream back.
        documents = getattr(xf, "_document_names", None)
        if not isinstance(documents, set):
            raise ShipbookError("pyOpenVBA 版本不符 (需要 6.5.0)", "unexpected pyOpenVBA version (6.5.0 is pinned)")
        documents.update(c.casefold() for c in added)
        xf.save(full_rebuild=True)
    with ExcelFile(path) as xf:  # read back what was written
        problems = xf.validate()
        names = set(xf.module_names())
    missing = ({SHIM_MODULE, *codes.values()} - names) | (names & {QUICKSTART_DEMO_MODULE, *renames})
    if problems or missing:
        raise ShipbookError(f"VBA 工程不一致: {problems or sorted(missing)}",
                            f"the VBA project is inconsistent: {problems or sorted(missing)}")


# --- step 3: package (zip) ------------------------------------------------------------------------
def _w3cdtf(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fix_core(xml: bytes) -> bytes:
    text = xml.decode("utf-8")
    for element in ("created", "modified"):
        text, n = re.subn(rf"(<dcterms:{element}\b[^>]*>)[^<]*(</dcterms:{element}>)",
                          rf"\g<1>{_w3cdtf(BUILD_TIME)}\g<2>", text)
        if n != 1:
            raise ShipbookError(f"docProps/core.xml 缺少 dcterms:{element}", f"docProps/core.xml lacks dcterms:{element}")
    return text.encode("utf-8")


def _with_ribbon_rel(xml: bytes) -> bytes:
    from lxml import etree
    ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    root = etree.fromstring(xml)
    for rel in list(root):
        if rel.get("Type") in (REL_UI, "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"):
            root.remove(rel)
    etree.SubElement(root, f"{{{ns}}}Relationship", Id=RIBBON_REL_ID, Type=REL_UI, Target=RIBBON_PART)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + etree.tostring(root, encoding="UTF-8")


def _check_content_types(xml: bytes) -> None:
    from lxml import etree
    root = etree.fromstring(xml)
    types = {el.get("PartName"): el.get("ContentType") for el in root if el.get("PartName")}
    defaults = {el.get("Extension"): el.get("ContentType") for el in root if el.get("Extension")}
    if types.get("/xl/workbook.xml") != CT_XLSM:
        raise ShipbookError("工作簿的内容类型不是启用宏的类型", "the workbook part is not typed macro-enabled")
    if "/" + RIBBON_PART not in types and defaults.get("xml") != "application/xml":
        raise ShipbookError("customUI.xml 没有内容类型", "customUI.xml has no content type")


def _tidy_project_stream(vba: bytes) -> bytes:
    """vbaProject.bin without blank lines in the PROJECT stream's [Workspace] section.

    The quickstart's PROJECT stream ends with a blank line (Excel ends it with one CRLF), and
    pyOpenVBA 6.5 appends the [Workspace] entries of added modules after it, leaving a blank line
    inside the section. Taken out here, so the stream reads as Excel writes it.
    """
    from pyopenvba.cfb import CFB
    cfb = CFB.from_bytes(vba)
    raw = cfb.get_stream("PROJECT")
    lines = raw.split(b"\r\n")
    while lines and not lines[-1].strip():
        lines.pop()
    out, in_workspace = [], False
    for line in lines:
        if line.strip().startswith(b"[") and line.strip().endswith(b"]"):
            in_workspace = line.strip().lower() == b"[workspace]"
        elif in_workspace and not line.strip():
            continue
        out.append(line)
    tidy = b"\r\n".join(out) + b"\r\n"
    if tidy == raw:
        return vba
    cfb.write_stream("PROJECT", tidy)
    return cfb.to_bytes()


def _normalise(src: Path, out: Path, ribbon: bytes) -> None:
    """Write the package with the ribbon, fixed dates and attributes, [Content_Types].xml first."""
    stamp = BUILD_TIME.timetuple()[:6]
    with zipfile.ZipFile(src) as zin:
        parts = {info.filename: zin.read(info) for info in zin.infolist()}
    if RIBBON_PART in parts:
        raise ShipbookError("quickstart 已含有 customUI.xml", "the quickstart already has a customUI.xml")
    parts["docProps/core.xml"] = _fix_core(parts["docProps/core.xml"])
    parts["xl/vbaProject.bin"] = _tidy_project_stream(parts["xl/vbaProject.bin"])
    parts["_rels/.rels"] = _with_ribbon_rel(parts["_rels/.rels"])
    parts[RIBBON_PART] = ribbon
    _check_content_types(parts["[Content_Types].xml"])
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = first + [n for n in parts if n not in first]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # MS-DOS, as Excel writes
            info.external_attr = 0
            zout.writestr(info, parts[name], compresslevel=6)
    out.write_bytes(buf.getvalue())


# --- the build ----------------------------------------------------------------------------------
def build_bytes() -> bytes:
    """The workbook's bytes (the same on every run with the same pinned libraries)."""
    import tempfile
    quickstart = quickstart_path()
    _check_pyopenvba()
    ribbon = ribbon_xml()
    shim_source()  # fail on a bad template before doing any work
    with tempfile.TemporaryDirectory(prefix="shipbook-build-") as tmp:
        sheets = Path(tmp) / "1-sheets.xlsm"
        final = Path(tmp) / "3-final.xlsm"
        _build_sheets(quickstart, sheets)
        _build_vba(sheets)
        _normalise(sheets, final, ribbon)
        _check_final(final)
        return final.read_bytes()


def _check_final(path: Path) -> None:
    """pyOpenVBA's own checks on the finished package (zip, XML, relationships, content types, VBA)."""
    from pyopenvba import ExcelFile, check_file
    report = check_file(path)
    problems = [f"{i.code} {i.location}: {i.message}" for i in report.issues]
    with ExcelFile(path) as xf:
        problems += xf.validate()
    if not report.ok or problems:
        raise ShipbookError(f"构建出的工作簿未通过检查: {problems}", f"the built workbook fails its checks: {problems}")


def is_pristine_build(path: Path) -> bool:
    """Whether `path` is an untouched build output (safe to overwrite): its core dates are BUILD_TIME.

    Excel and every headless save stamp dcterms:modified, so a book someone worked in is never pristine.
    """
    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return False
    found = re.search(r"<dcterms:modified\b[^>]*>([^<]*)</dcterms:modified>", core)
    return bool(found) and found.group(1) == _w3cdtf(BUILD_TIME)


def build_workbook(path: Path, *, overwrite: bool = False) -> Path:
    """Build the macro workbook at `path` (.xlsm). Refuses an existing file unless `overwrite`.

    Written through a temp file beside `path` and an atomic replace; on failure nothing is left behind.
    """
    from .book import safety
    path = Path(path)
    if path.suffix.lower() != ".xlsm":
        raise ShipbookError(f"带功能区的工作簿须以 .xlsm 结尾: {path.name}",
                            f"the macro workbook must end in .xlsm: {path.name}")
    if path.exists() and not overwrite:
        raise ShipbookError(f"文件已存在: {path}", f"file exists: {path}")
    if not path.parent.is_dir():
        raise ShipbookError(f"文件夹不存在: {path.parent}", f"folder does not exist: {path.parent}")
    safety.check_writable(path)
    data = build_bytes()
    return safety.write_atomically(path, lambda tmp: tmp.write_bytes(data))
