"""shipbook.xlsm as `shipbook build-workbook` makes it, checked on the built file without Excel.

Independent readers where they exist: olevba/olefile (oletools) for the VBA project, lxml for the
package XML, openpyxl for the sheets, LibreOffice headless (if installed) for both.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import time
import warnings
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
from lxml import etree

with warnings.catch_warnings():  # oletools 0.60 uses pyparsing names pyparsing 3 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser

from pyshipbook import build
from pyshipbook.book.schema import SETTINGS, SETTINGS_ROWS, SHEETS
from pyshipbook.buttons import BUTTONS, GROUPS

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
COMMITTED = REPO / "shipbook.xlsm"

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_UI_2006 = "http://schemas.microsoft.com/office/2006/01/customui"
REL_UI_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
REL_UI_2007 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

# The customUI 2006 schema's elements and attributes this ribbon may use (a small, checked subset).
UI_ELEMENTS = {"customUI", "ribbon", "tabs", "tab", "group", "button", "separator"}
UI_ATTRIBUTES = {"id", "label", "screentip", "supertip", "imageMso", "size", "onAction", "keytip",
                 "insertAfterMso"}
CALLBACK_RE = (r"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+{name}[ \t]*\([ \t]*(?:ByRef[ \t]+|ByVal[ \t]+)?"
               r"control[ \t]+As[ \t]+IRibbonControl[ \t]*\)")


# --- fixtures: the workbook is built twice, two seconds apart (zip times have 2 s resolution) ------
@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("built")
    first = build.build_workbook(folder / "first.xlsm")
    time.sleep(2.1)
    second = build.build_workbook(folder / "second.xlsm")
    return first, second


@pytest.fixture(scope="module")
def book(builds) -> Path:
    return builds[0]


@pytest.fixture(scope="module")
def parts(book) -> dict[str, bytes]:
    with zipfile.ZipFile(book) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.fixture(scope="module")
def olevba_modules(book) -> dict[str, tuple[str, str]]:
    """Module name -> (olevba's file name, source) as olevba extracts it."""
    parser = VBA_Parser(str(book))
    try:
        assert parser.detect_vba_macros()
        out = {}
        for _, stream, vba_filename, code in parser.extract_macros():
            out[stream.rsplit("/", 1)[-1]] = (vba_filename, code)
        return out
    finally:
        parser.close()


@pytest.fixture(scope="module")
def project_stream(parts) -> str:
    """The PROJECT stream of vbaProject.bin, read with olefile (not pyOpenVBA)."""
    ole = olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"]))
    try:
        return ole.openstream("PROJECT").read().decode("cp1252")
    finally:
        ole.close()


def _body(source: str) -> str:
    """VBA source without Attribute lines, LF line endings, no trailing blank lines."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(l for l in lines if not l.startswith("Attribute VB_")).rstrip("\n")


def _template_body() -> str:
    return _body(build.SHIM_SOURCE.read_text(encoding="utf-8"))


def _declarations(project: str) -> dict[str, list[str]]:
    """PROJECT stream module declarations: kind -> names (Document=NAME/&H... gives NAME)."""
    out: dict[str, list[str]] = {}
    for line in project.split("\r\n"):
        if line.startswith("["):
            break
        key, sep, value = line.partition("=")
        if sep and key in ("Module", "Class", "BaseClass", "Document"):
            out.setdefault(key, []).append(value.split("/", 1)[0])
    return out


def _code_names(parts: dict[str, bytes]) -> tuple[str, dict[str, str]]:
    """(workbook code name, {sheet name: code name}) from workbook.xml and each sheet's sheetPr."""
    wb = etree.fromstring(parts["xl/workbook.xml"])
    rels = {r.get("Id"): r.get("Target") for r in etree.fromstring(parts["xl/_rels/workbook.xml.rels"])}
    book_code = wb.find(f"{{{NS_MAIN}}}workbookPr").get("codeName")
    sheets = {}
    for sheet in wb.find(f"{{{NS_MAIN}}}sheets"):
        target = rels[sheet.get(f"{{{NS_R}}}id")]
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        pr = etree.fromstring(parts[part]).find(f"{{{NS_MAIN}}}sheetPr")
        sheets[sheet.get("name")] = pr.get("codeName") if pr is not None else None
    return book_code, sheets


def _ribbon(parts) -> etree._Element:
    return etree.fromstring(parts[build.RIBBON_PART])


# --- reproducible -------------------------------------------------------------------------------
def test_two_builds_are_byte_identical(builds):
    first, second = builds
    assert first.read_bytes() == second.read_bytes()


def test_every_zip_entry_has_the_fixed_date(parts, book):
    with zipfile.ZipFile(book) as z:
        infos = z.infolist()
    assert {i.date_time for i in infos} == {build.BUILD_TIME.timetuple()[:6]}
    assert infos[0].filename == "[Content_Types].xml"
    core = parts["docProps/core.xml"].decode()
    assert core.count("2026-01-01T00:00:00Z") == 2 and "Openpyxl" not in core
    assert build.is_pristine_build(book)


def _part_diff(a: Path, b: Path) -> list[str]:
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        na, nb = za.namelist(), zb.namelist()
        diff = [f"entries differ: {na} != {nb}"] if na != nb else []
        diff += [n for n in na if n in nb and za.read(n) != zb.read(n)]
    return diff


def test_committed_workbook_equals_a_fresh_build(book):
    if not COMMITTED.exists():
        pytest.skip(f"{COMMITTED.name} is not in the repository yet (make it with `shipbook build-workbook`)")
    if COMMITTED.read_bytes() != book.read_bytes():
        differing = _part_diff(COMMITTED, book)
        pytest.fail(f"{COMMITTED.name} is not what `shipbook build-workbook` makes now; run it and commit the "
                    f"result. Parts that differ: {differing or 'none (only the zip bytes: another zlib?)'}")


# --- VBA ----------------------------------------------------------------------------------------
def test_olevba_recovers_the_shim_exactly(olevba_modules):
    filename, code = olevba_modules[build.SHIM_MODULE]
    assert filename == f"{build.SHIM_MODULE}.bas"
    assert _body(code) == _template_body()
    # exactly the template, Attribute line included; only CRLF (the project's) vs LF (the file's) differs
    template = build.SHIM_SOURCE.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert code.replace("\r\n", "\n") == template
    assert "\n" not in code.replace("\r\n", "")  # stored with CRLF, as the VBE writes
    assert "Module1" not in olevba_modules  # the quickstart's demo macro is gone


def test_vba_is_ascii(olevba_modules):
    build.SHIM_SOURCE.read_bytes().decode("ascii")
    for name, (_, code) in olevba_modules.items():
        assert code.isascii(), name


def test_shim_passes_only_the_control_id(olevba_modules):
    body = _body(olevba_modules[build.SHIM_MODULE][1])
    calls = [l.strip() for l in body.split("\n") if re.match(r"\s*RunPython\b", l)]
    assert len(calls) == 1
    # string literals and control.Id joined by &, nothing else (no cell, range or variable)
    args = calls[0][len("RunPython"):].strip()
    pieces = [p.strip() for p in re.split(r'&(?=(?:[^"]*"[^"]*")*[^"]*$)', args)]
    assert all(re.fullmatch(r'"[^"]*"', p) or p == "control.Id" for p in pieces), pieces
    assert "control.Id" in pieces and "import pyshipbook.macros as m" in args
    # every button id passes the shim's guard (it refuses anything but [A-Za-z0-9_])
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", b.id) for b in BUTTONS)


def test_every_onaction_is_a_ribbon_callback_in_the_vba(parts, olevba_modules):
    standard = "\n".join(code for name, (fn, code) in olevba_modules.items() if fn.endswith(".bas"))
    actions = {el.get("onAction") for el in _ribbon(parts).iter() if el.get("onAction")}
    assert actions == {build.CALLBACK}
    for action in actions:
        assert re.search(CALLBACK_RE.format(name=re.escape(action)), standard, re.MULTILINE | re.IGNORECASE), action


def test_code_names_match_the_document_modules(parts, project_stream, olevba_modules):
    book_code, sheets = _code_names(parts)
    decl = _declarations(project_stream)
    assert book_code == "ThisWorkbook"
    assert all(sheets.values()), sheets
    assert sorted(decl["Document"]) == sorted([book_code, *sheets.values()])
    assert sheets == build.sheet_code_names()
    # every declared module has its stream, and olevba sees exactly the declared modules
    declared = {n for names in decl.values() for n in names}
    assert declared == set(olevba_modules)
    assert decl["Module"] == ["xlwings", build.SHIM_MODULE] and decl["Class"] == ["Dictionary"]
    # document modules are sheet/workbook modules (VB_Base of Excel's Worksheet/Workbook), not classes
    for name in decl["Document"]:
        base = "0{00020819-0000-0000-C000-000000000046}" if name == book_code else build.WORKSHEET_BASE
        assert f'Attribute VB_Base = "{base}"' in olevba_modules[name][1], name


def test_project_stream_is_tidy(project_stream):
    workspace = project_stream.split("[Workspace]\r\n", 1)[1]
    assert workspace.endswith("\r\n") and "\r\n\r\n" not in workspace
    assert project_stream.count("Document=shStock/") == 1


def test_pyopenvba_checks_pass(book):
    from pyopenvba import ExcelFile, check_file
    report = check_file(book)
    assert report.ok, report.issues
    with ExcelFile(book) as xf:
        assert xf.validate() == []
        assert [r.name for r in xf.references()] == ["MSForms", "Office"]  # Office: IRibbonControl


# --- ribbon -------------------------------------------------------------------------------------
def test_ribbon_part_relationship_and_content_types(parts):
    root_rels = etree.fromstring(parts["_rels/.rels"])
    ui = [r for r in root_rels if r.get("Type") in (REL_UI_2006, REL_UI_2007)]
    assert [(r.get("Type"), r.get("Target")) for r in ui] == [(REL_UI_2006, build.RIBBON_PART)]
    ct = etree.fromstring(parts["[Content_Types].xml"])
    overrides = {el.get("PartName"): el.get("ContentType") for el in ct if el.tag == f"{{{NS_CT}}}Override"}
    defaults = {el.get("Extension"): el.get("ContentType") for el in ct if el.tag == f"{{{NS_CT}}}Default"}
    assert overrides["/xl/workbook.xml"] == CT_XLSM
    assert overrides.get("/" + build.RIBBON_PART, defaults.get("xml")) == "application/xml"
    assert defaults.get("bin") == "application/vnd.ms-office.vbaProject" or \
        overrides.get("/xl/vbaProject.bin") == "application/vnd.ms-office.vbaProject"


def test_ribbon_uses_only_the_2006_schema_subset(parts):
    root = _ribbon(parts)
    assert root.tag == f"{{{NS_UI_2006}}}customUI"
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments
        ns, _, local = el.tag[1:].partition("}")
        assert ns == NS_UI_2006 and local in UI_ELEMENTS, el.tag
        assert set(el.attrib) <= UI_ATTRIBUTES, (local, set(el.attrib) - UI_ATTRIBUTES)
    ids = [el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids))


def test_ribbon_matches_the_button_table(parts):
    root = _ribbon(parts)
    q = lambda tag: f"{{{NS_UI_2006}}}{tag}"  # noqa: E731
    tabs = root.findall(f"{q('ribbon')}/{q('tabs')}/{q('tab')}")
    assert [(t.get("id"), t.get("label")) for t in tabs] == [(build.TAB_ID, "发货")]
    groups = tabs[0].findall(q("group"))
    used = [g for g, _ in GROUPS if any(b.group == g for b in BUTTONS)]
    assert [g.get("id") for g in groups] == used
    assert {g.get("id"): g.get("label") for g in groups} == {g: l for g, l in GROUPS if g in used}
    got = [(g.get("id"), b.get("id"), b.get("label"), b.get("screentip"), b.get("imageMso"), b.get("size"))
           for g in groups for b in g.findall(q("button"))]
    assert got == [(b.group, b.id, b.label, b.screentip, b.image, "large") for b in BUTTONS]


# --- sheets -------------------------------------------------------------------------------------
def test_contract_sheets_and_xlwings_conf(book):
    from pyshipbook.book.xlsx import new_workbook
    wb = openpyxl.load_workbook(book, keep_vba=True)
    assert wb.sheetnames == [s.name for s in SHEETS] + [build.CONF_SHEET]
    assert wb.active.title == SHEETS[0].name
    fresh = new_workbook()  # what `shipbook new BOOK.xlsx` makes
    for sheet in SHEETS:
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == [c.header for c in sheet.columns]
        assert [c.value for c in ws[1]] == [c.value for c in fresh[sheet.name][1]]
        assert ws.freeze_panes == "A2" and ws.sheet_state == "visible"
    assert [r[0] for r in wb[SETTINGS.name].iter_rows(min_row=2, values_only=True)] == \
        [s.item for s in SETTINGS_ROWS]
    assert len(wb[SHEETS[0].name].data_validations.dataValidation) == \
        len(fresh[SHEETS[0].name].data_validations.dataValidation)


def _getconfig_keys(xlwings_source: str, *functions: str) -> set[str]:
    keys: set[str] = set()
    for fn in functions:
        body = re.search(rf"^(?:Public |Private )?Function {fn}\(.*?^End Function", xlwings_source,
                         re.MULTILINE | re.DOTALL)
        assert body, fn
        keys |= set(re.findall(r'GetConfig\("([^"]+)"', body.group(0)))
    return keys


def test_xlwings_conf_sets_every_key_runpython_reads(book, olevba_modules):
    wb = openpyxl.load_workbook(book)
    assert "_xlwings.conf" not in wb.sheetnames
    ws = wb[build.CONF_SHEET]
    assert ws.sheet_state == "hidden"
    col_a = [r[0] for r in ws.iter_rows(min_col=1, max_col=1, values_only=True)]
    n = col_a.index(None) if None in col_a else len(col_a)
    assert all(v is None for v in col_a[n:])  # xlwings reads A1 down to the first blank
    conf = {str(k).upper(): v for k, v in ws.iter_rows(min_row=1, max_row=n, max_col=2, values_only=True)}
    assert len(conf) == n  # no key twice (xlwings' Dictionary.Add would fail)
    assert conf["INTERPRETER_WIN"].startswith("%LOCALAPPDATA%\\") and conf["INTERPRETER_WIN"].endswith(".exe")
    assert conf["PYTHONPATH"].startswith("%LOCALAPPDATA%\\")
    assert conf["USE UDF SERVER"] is False and conf["SHOW CONSOLE"] is False
    assert conf["ADD_WORKBOOK_TO_PYTHONPATH"] == "false"
    assert conf["TEMP DIR"] == "%TEMP%"
    # whatever this xlwings' RunPython reads on Windows comes from the sheet, not from files
    xlwings_vba = olevba_modules["xlwings"][1].replace("\r\n", "\n")
    read = _getconfig_keys(xlwings_vba, "RunPython", "ExecuteWindows")
    not_needed = {"INTERPRETER", "LICENSE_KEY"} | {k for k in read if k.endswith("_MAC")}
    assert read - not_needed <= set(conf), sorted(read - not_needed - set(conf))


# --- headless operations keep the macros and the ribbon ------------------------------------------
def test_headless_save_keeps_vba_ribbon_and_code_names(book, tmp_path, parts):
    """What every `shipbook` command does: openpyxl load + save, then safety.repair_package."""
    from pyshipbook.book import safety
    from pyshipbook.book.xlsx import open_book
    work = tmp_path / "shipbook.xlsm"
    shutil.copy(book, work)
    with open_book(work, backups=0) as opened:
        opened.wb[SHEETS[0].name]["A2"] = "T001"
        opened.changed = True
    with zipfile.ZipFile(work) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert after["xl/vbaProject.bin"] == parts["xl/vbaProject.bin"]
    assert after[build.RIBBON_PART] == parts[build.RIBBON_PART]
    ui = [r for r in etree.fromstring(after["_rels/.rels"]) if r.get("Type") == REL_UI_2006]
    assert [r.get("Target") for r in ui] == [build.RIBBON_PART]
    assert _code_names(after) == _code_names(parts)
    assert safety.inspect_package(work).workbook_content_type == CT_XLSM
    from pyopenvba import check_file
    assert check_file(work).ok
    # and openpyxl alone + repair_package (the two halves of safe_save) give the same
    raw = tmp_path / "raw.xlsm"
    openpyxl.load_workbook(book, keep_vba=True).save(raw)
    safety.repair_package(book, raw)
    with zipfile.ZipFile(raw) as z:
        assert z.read(build.RIBBON_PART) == parts[build.RIBBON_PART]
        assert z.read("xl/vbaProject.bin") == parts["xl/vbaProject.bin"]


# --- CLI ----------------------------------------------------------------------------------------
def test_cli_build_workbook_and_new(book, tmp_path):
    from conftest import run_cli
    out = tmp_path / "built.xlsm"
    code, data = run_cli("build-workbook", out, "--json")
    assert code == 0 and data["changed"] is True and out.read_bytes() == book.read_bytes()
    code, data = run_cli("build-workbook", out, "--json")  # a pristine build is rebuilt in place
    assert code == 0 and data["changed"] is False
    used = tmp_path / "used.xlsm"
    shutil.copy(book, used)
    wb = openpyxl.load_workbook(used, keep_vba=True)
    wb.save(used)  # someone worked in it: not overwritten without --force
    before = used.read_bytes()
    code, text = run_cli("build-workbook", used)
    assert code == 2 and "--force" in text and used.read_bytes() == before
    code, _ = run_cli("build-workbook", used, "--force")
    assert code == 0 and used.read_bytes() == book.read_bytes()
    new = tmp_path / "new.xlsm"
    code, _ = run_cli("new", new)
    assert code == 0 and new.read_bytes() == book.read_bytes()
    code, _ = run_cli("new", new)
    assert code == 2


# --- LibreOffice as an independent reader ----------------------------------------------------------
def _uno_python() -> str | None:
    for candidate in ("/usr/bin/python3", shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", "import uno"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.libreoffice
def test_libreoffice_opens_the_book_and_lists_the_modules(book, tmp_path, olevba_modules, parts):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    python = _uno_python()
    if python is None:
        pytest.skip("no python with the uno module (apt-get install python3-uno)")
    run = subprocess.run([python, str(HERE / "lo_vba_dump.py"), str(book), str(tmp_path / "profile")],
                         capture_output=True, text=True, timeout=240,
                         env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
    assert run.returncode == 0, run.stderr
    lo = json.loads(run.stdout)
    assert lo["sheets"] == [s.name for s in SHEETS] + [build.CONF_SHEET]
    assert lo["code_names"] == build.sheet_code_names()
    assert set(lo["modules"]) == set(olevba_modules)
    shim = lo["modules"][build.SHIM_MODULE].replace("\r\n", "\n").split("\n")
    assert shim[0] == "Rem Attribute VBA_ModuleType=VBAModule" and shim[1] == "Option VBASupport 1"
    assert "\n".join(shim[2:]).rstrip("\n") == _template_body()
    for name in build.sheet_code_names().values():
        assert lo["modules"][name].startswith("Rem Attribute VBA_ModuleType=VBADocumentModule"), name
