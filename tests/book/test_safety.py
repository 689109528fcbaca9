"""pyshipbook.book.safety on real packages: inspect, lock checks, atomic save, repair after openpyxl."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import openpyxl
import pytest

import safety_pkgs as pk
from pyshipbook.book import inspection, safety
from pyshipbook.book.safety import (
    BookLocked,
    BookRefused,
    ShipbookError,
    check_writable,
    inspect_package,
    load_options_for,
    repair_package,
    safe_save,
)


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pkgs")


@pytest.fixture(scope="module")
def featured(store) -> Path:
    return pk.featured_book(store / "featured.xlsm")


@pytest.fixture(scope="module")
def ribbon_books(store, featured) -> dict[str, Path]:
    return {v: pk.with_ribbon(featured, store / f"ribbon-{v}.xlsm", v) for v in pk.RIBBONS}


@pytest.fixture
def book(tmp_path, ribbon_books) -> Path:
    """A fresh copy of the book with both ribbon forms."""
    dst = tmp_path / "shipbook.xlsm"
    shutil.copy(ribbon_books["both"], dst)
    return dst


_OPENED: list = []


def load(path, **kw):
    """openpyxl.load_workbook, remembering the book so its in-memory VBA archive gets closed."""
    wb = openpyxl.load_workbook(path, **kw)
    _OPENED.append(wb)
    return wb


@pytest.fixture(autouse=True)
def _close_vba_archives():
    # openpyxl never closes wb.vba_archive; left to the garbage collector it warns
    # ("Exception ignored in ZipFile.__del__") in whatever test happens to be running
    yield
    while _OPENED:
        archive = _OPENED.pop().vba_archive
        if archive is not None:
            archive.close()


def openpyxl_save(src: Path, dst: Path, **kw) -> Path:
    wb = load(src, **kw)
    wb.save(dst)
    return dst


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".~shipbook-"))


def one_line_bilingual(exc: Exception, path: Path) -> None:
    assert exc.zh and exc.en and "\n" not in exc.zh and "\n" not in exc.en
    assert path.name in exc.zh and path.name in exc.en


# --- what openpyxl 3.1.5 does (the facts repair_package relies on) ------------------------------
def test_openpyxl_drops_2007_ribbon_relationship_but_keeps_parts(tmp_path, ribbon_books):
    out = openpyxl_save(ribbon_books["both"], tmp_path / "out.xlsm", keep_vba=True)
    with zipfile.ZipFile(ribbon_books["both"]) as a, zipfile.ZipFile(out) as b:
        for name in a.namelist():
            if name.startswith("customUI/") or name == "xl/vbaProject.bin":
                assert b.read(name) == a.read(name), name
    types = {(r["Type"], r["Target"], r["Id"]) for r in pk.rels_of(out)}
    assert (pk.R06, "customUI/customUI.xml", "rIdRibbon06") in types
    assert not any(t == pk.R07 for t, _, _ in types)


def test_openpyxl_keep_vba_flags_any_book_macro_enabled(tmp_path):
    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    out = openpyxl_save(plain, tmp_path / "out.xlsx", keep_vba=True)
    assert pk.content_types(out)[1]["/xl/workbook.xml"] == pk.CT_XLSM  # an .xlsx Excel refuses
    lost = openpyxl_save(pk.QUICKSTART, tmp_path / "lost.xlsm", keep_vba=False)
    with zipfile.ZipFile(lost) as z:
        assert "xl/vbaProject.bin" not in z.namelist()
    assert pk.content_types(lost)[1]["/xl/workbook.xml"] == pk.CT_XLSX


# --- round trip through openpyxl + safe_save ----------------------------------------------------
@pytest.mark.parametrize("variant", ["2006", "2007", "both"])
def test_round_trip_keeps_ribbon_macros_and_features(tmp_path, ribbon_books, variant):
    path = tmp_path / "shipbook.xlsm"
    shutil.copy(ribbon_books[variant], path)
    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist() if n.startswith("customUI/") or n == "xl/vbaProject.bin"}
    modules_before = pk.vba_modules(path)
    assert {"Module1.bas", "xlwings.bas", "ThisWorkbook.cls"} <= set(modules_before)

    info = inspect_package(path)
    assert info.is_macro and info.has_vba and info.has_ribbon
    assert info.workbook_content_type == pk.CT_XLSM
    wb = load(path, **load_options_for(path))
    wb["Sheet1"]["A4"] = "WX0002"
    backup = safe_save(path, wb.save)

    assert backup is not None and backup.parent.name == "~shipbook-backup"
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        for name, data in before.items():
            assert z.read(name) == data, name
    rels = {(r["Type"], r["Target"], r["Id"]) for r in pk.rels_of(path)}
    for part, typ, rid, _ in pk.RIBBONS[variant]:
        assert (typ, part, rid) in rels
    defaults, overrides = pk.content_types(path)
    assert overrides["/xl/workbook.xml"] == pk.CT_XLSM
    assert defaults.get("png") == "image/png"
    assert pk.vba_modules(path) == modules_before

    wb = load(path, keep_vba=True)
    ws = wb["Sheet1"]
    assert ws["A4"].value == "WX0002"
    assert wb.defined_names["SB_Cutoff"].attr_text == "Sheet1!$B$2"
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1 and dvs[0].formula1 == '"SF,ZTO,YTO"' and str(dvs[0].sqref) == "B2:B500"
    cf = {str(item.sqref): item.rules for item in ws.conditional_formatting}
    assert cf["C2:C500"][0].operator == "lessThan"
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width == 24 and ws.column_dimensions["B"].width == 13
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == str(ws.PAPERSIZE_A4)
    assert ws.print_title_rows == "$1:$1" and ws.print_options.gridLines


def test_repair_copies_untouched_parts_verbatim(tmp_path, ribbon_books):
    out = openpyxl_save(ribbon_books["2007"], tmp_path / "out.xlsm", keep_vba=True)
    before = tmp_path / "before.xlsm"
    shutil.copy(out, before)
    assert repair_package(ribbon_books["2007"], out) is True
    with zipfile.ZipFile(before) as z:
        names = z.namelist()
    rewritten = {"_rels/.rels", "[Content_Types].xml"}
    for name in names:
        if name not in rewritten:
            assert pk.raw_part(out, name) == pk.raw_part(before, name), name
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None and set(z.namelist()) == set(names)


def test_repair_is_a_no_op_when_nothing_is_missing(tmp_path, ribbon_books):
    out = openpyxl_save(ribbon_books["2006"], tmp_path / "out.xlsm", keep_vba=True)
    digest = pk.sha256(out)
    assert repair_package(ribbon_books["2006"], out) is False
    assert pk.sha256(out) == digest


def test_repair_gives_a_new_id_when_the_ribbon_id_is_taken(tmp_path, featured):
    # the original names its package relationships R1..R3, so its ribbon may use rId2,
    # which openpyxl gives to core-properties when it rebuilds _rels/.rels
    renamed = pk.rewrite(featured, tmp_path / "renamed.xlsm", edit=lambda n, d: (
        d.replace(b'Id="rId1"', b'Id="R1"').replace(b'Id="rId2"', b'Id="R2"').replace(b'Id="rId3"', b'Id="R3"')
        if n == "_rels/.rels" else d))
    src = pk.with_ribbon(renamed, tmp_path / "taken.xlsm", "2007", rel_id="rId2")
    out = openpyxl_save(src, tmp_path / "out.xlsm", keep_vba=True)
    repair_package(src, out)
    rels = pk.rels_of(out)
    assert len({r["Id"] for r in rels}) == len(rels)
    assert any(r["Type"] == pk.R07 and r["Target"] == "customUI/customUI14.xml" for r in rels)


def test_repair_restores_ribbon_outside_customui_and_vba_signature(tmp_path, featured):
    def edit(name, data):
        if name == "_rels/.rels":
            return pk.add_rels(data, [("rIdUi", pk.R07, "ui/ribbon.xml")])
        return data

    src = pk.rewrite(featured, tmp_path / "src0.xlsm", edit=edit, extra=[("ui/ribbon.xml", pk.UI_2009)])
    src = pk.with_signature(src, tmp_path / "src.xlsm")
    out = openpyxl_save(src, tmp_path / "out.xlsm", keep_vba=True)
    with zipfile.ZipFile(out) as z:
        assert "ui/ribbon.xml" not in z.namelist() and "xl/_rels/vbaProject.bin.rels" not in z.namelist()
    repair_package(src, out)
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(src) as s:
        for name in ("ui/ribbon.xml", "xl/_rels/vbaProject.bin.rels", "xl/vbaProjectSignature.bin"):
            assert z.read(name) == s.read(name)
    assert any(r["Type"] == pk.R07 and r["Target"] == "ui/ribbon.xml" for r in pk.rels_of(out))
    assert pk.content_types(out)[1]["/xl/vbaProjectSignature.bin"] == pk.CT_SIG


def test_xlsm_saved_without_keep_vba_gets_its_macros_back(tmp_path, book):
    modules = pk.vba_modules(book)
    wb = load(book, keep_vba=False)  # the mistake
    safe_save(book, wb.save)
    with zipfile.ZipFile(book) as z, zipfile.ZipFile(pk.QUICKSTART) as q:
        assert z.read("xl/vbaProject.bin") == q.read("xl/vbaProject.bin")
    assert pk.content_types(book)[1]["/xl/workbook.xml"] == pk.CT_XLSM
    assert any(r["Target"] == "vbaProject.bin" for r in pk.rels_of(book, "xl/_rels/workbook.xml.rels"))
    assert pk.vba_modules(book) == modules


def test_xlsx_stays_plain(tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "订单号"
    wb.active.freeze_panes = "A2"
    wb.save(path)
    info = inspect_package(path)
    assert not info.is_macro and not info.has_vba and info.workbook_content_type == pk.CT_XLSX
    opts = load_options_for(path)
    assert opts["keep_vba"] is False and opts["rich_text"] is False
    wb = load(path, **opts)
    wb.active["A2"] = "WX1"
    safe_save(path, wb.save)
    info = inspect_package(path)
    assert not info.is_macro and info.workbook_content_type == pk.CT_XLSX
    assert load(path).active["A2"].value == "WX1"


def test_xlsx_written_from_a_macro_book_loses_vba_and_macro_type(tmp_path, book):
    path = tmp_path / "export.xlsx"
    wb = load(book, keep_vba=True)  # would give an .xlsx Excel refuses
    safe_save(path, wb.save, original=book)
    info = inspect_package(path)
    assert not info.has_vba and info.workbook_content_type == pk.CT_XLSX
    defaults, overrides = pk.content_types(path)
    assert safety.CT_VBA not in defaults.values() and safety.CT_VBA not in overrides.values()
    assert not any(r["Type"] == safety.REL_VBA for r in pk.rels_of(path, "xl/_rels/workbook.xml.rels"))
    assert any(r["Type"] == pk.R07 for r in pk.rels_of(path))  # the ribbon itself may stay
    assert load(path)["Sheet1"]["A1"].value == "订单号"


def test_load_options():
    assert load_options_for("a/shipbook.xlsm") == {"keep_vba": True, "rich_text": False, "data_only": False,
                                                   "keep_links": True}
    assert load_options_for("b.XLSX")["keep_vba"] is False
    with pytest.raises(BookRefused):
        load_options_for("old.xls")


def test_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, pyshipbook.book.safety; print('openpyxl' in sys.modules, 'lxml' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert out.stdout.split() == ["False", "False"]


# --- refusals -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bomb600(store) -> Path:
    return pk.with_zero_part(pk.QUICKSTART, store / "bomb600.xlsm", "xl/worksheets/sheet9.xml", 600 * 2**20)


def _refused(path: Path, *words: str) -> BookRefused:
    digest = pk.sha256(path)
    with pytest.raises(BookRefused) as err:
        inspect_package(path)
    assert pk.sha256(path) == digest
    one_line_bilingual(err.value, path)
    for word in words:
        assert word in err.value.en, err.value.en
    return err.value


def test_refuses_declared_600mb_part(tmp_path, bomb600):
    assert bomb600.stat().st_size < 2 * 2**20
    _refused(bomb600, "sheet9.xml", "zip bomb")


def test_refuses_high_ratio_part(tmp_path):
    path = pk.with_zero_part(pk.QUICKSTART, tmp_path / "ratio.xlsm", "xl/worksheets/sheet9.xml", 20 * 2**20)
    _refused(path, "ratio", "zip bomb")


def test_refuses_too_many_entries(tmp_path):
    path = pk.rewrite(pk.QUICKSTART, tmp_path / "many.xlsm", extra=[(f"xl/x/{i}.txt", b"") for i in range(10_001)])
    _refused(path, "more than 10000", "zip bomb")


def test_refuses_total_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(inspection, "MAX_TOTAL_SIZE", 100_000)  # the limit lives there  # the quickstart book declares ~75 KB
    path = pk.rewrite(pk.QUICKSTART, tmp_path / "total.xlsm", extra=[("xl/media/big.bin", os.urandom(40_000))])
    _refused(path, "in total")


def test_refuses_header_that_lies_low(tmp_path):
    path = pk.with_zero_part(pk.QUICKSTART, tmp_path / "lie.xlsm", "xl/worksheets/sheet9.xml", 50 * 2**20)
    pk.patch_declared_size(path, "xl/worksheets/sheet9.xml", 1000)
    _refused(path, "declares 1000 bytes but inflates to more")


def test_refuses_central_directory_lie_that_local_header_contradicts(tmp_path):
    path = pk.with_zero_part(pk.QUICKSTART, tmp_path / "lie2.xlsm", "xl/worksheets/sheet9.xml", 50 * 2**20)
    pk.patch_declared_size(path, "xl/worksheets/sheet9.xml", 9 * 2**20, local=False)
    _refused(path, "inflates to more")


def test_zipfile_never_inflates_past_the_declared_size(tmp_path):
    """Why header checks are enough for openpyxl: zipfile cuts a lying part at its declared size."""
    path = pk.with_zero_part(pk.QUICKSTART, tmp_path / "lie3.xlsm", "xl/worksheets/sheet9.xml", 50 * 2**20)
    pk.patch_declared_size(path, "xl/worksheets/sheet9.xml", 2 * 2**20)
    got = 0
    with zipfile.ZipFile(path) as z, pytest.raises(zipfile.BadZipFile):
        with z.open("xl/worksheets/sheet9.xml") as f:
            while chunk := f.read(1 << 16):
                got += len(chunk)
    assert got <= 2 * 2**20


def test_refuses_billion_laughs(tmp_path):
    path = pk.with_sheet1(pk.QUICKSTART, tmp_path / "lol.xlsm", pk.BILLION_LAUGHS)
    _refused(path, "XML entity trick", "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("content", [
    # a DOCTYPE after a long comment that contains something looking like an element
    b'<?xml version="1.0"?>\n<!-- <a> ' + b"x" * 20_000 + b' -->\n<!DOCTYPE w [<!ENTITY e "e">]><w/>',
    # UTF-16 part
    '\ufeff<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE w [<!ENTITY e "e">]><w>&e;</w>'.encode("utf-16-le"),
    # the DTD only after 64 KB of prolog
    b'<?xml version="1.0"?>' + b" " * 70_000 + b'<!DOCTYPE w [<!ENTITY e "e">]><w/>',
], ids=["after-comment", "utf16", "padded"])
def test_refuses_hidden_dtd(tmp_path, content):
    path = pk.with_sheet1(pk.QUICKSTART, tmp_path / "dtd.xlsm", content)
    _refused(path, "XML entity trick")


def test_refuses_dtd_in_rels(tmp_path):
    path = pk.rewrite(pk.QUICKSTART, tmp_path / "rels.xlsm", edit=lambda n, d: (
        d.replace(b"<Relationships", b'<!DOCTYPE r [<!ENTITY x "y">]><Relationships', 1) if n == "_rels/.rels" else d))
    _refused(path, "_rels/.rels", "XML entity trick")


def test_refuses_non_zip(tmp_path):
    path = tmp_path / "notes.xlsm"
    path.write_bytes("订单号,收件人\nWX1,张三\n".encode() * 20)
    _refused(path, "not an Excel workbook")


def test_refuses_cfb(tmp_path):
    path = tmp_path / "old.xlsm"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + os.urandom(4096))
    err = _refused(path, "encrypted", "legacy .xls")
    assert "加密" in err.zh and ".xls" in err.zh


def test_refuses_empty(tmp_path):
    path = tmp_path / "empty.xlsm"
    path.write_bytes(b"")
    _refused(path, "empty")


@pytest.mark.parametrize("missing", ["[Content_Types].xml", "xl/workbook.xml"])
def test_refuses_missing_parts(tmp_path, missing):
    path = pk.rewrite(pk.QUICKSTART, tmp_path / "part.xlsm", edit=lambda n, d: None if n == missing else d)
    _refused(path, missing, "missing")


def test_refuses_duplicate_part(tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we want
        path = pk.rewrite(pk.QUICKSTART, tmp_path / "dup.xlsm", extra=[("xl/workbook.xml", b"<workbook/>")])
    _refused(path, "appears twice")


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ShipbookError) as err:
        inspect_package(tmp_path / "nope.xlsm")
    assert "nope.xlsm" in err.value.en and "nope.xlsm" in err.value.zh


def test_featured_book_passes_inspection(ribbon_books):
    for path in ribbon_books.values():
        info = inspect_package(path)
        assert "xl/vbaProject.bin" in info.parts and info.has_ribbon


# --- locking ------------------------------------------------------------------------------------
@pytest.mark.parametrize("owner", ["~$shipbook.xlsm", "~$ipbook.xlsm"])
def test_excel_owner_file_locks(book, owner):
    (book.parent / owner).write_bytes(b"\x0bsomebody")
    digest = pk.sha256(book)
    with pytest.raises(BookLocked) as err:
        check_writable(book)
    assert "Excel" in err.value.en and "Excel" in err.value.zh and owner in err.value.en
    one_line_bilingual(err.value, book)
    with pytest.raises(BookLocked):
        safe_save(book, lambda tmp: shutil.copy(book, tmp))
    assert pk.sha256(book) == digest and leftovers(book.parent) == []


def test_read_only_book_locks(book):
    """As root os.access says yes to everything; check_writable then reads the mode bits."""
    book.chmod(0o444)
    try:
        with pytest.raises(BookLocked) as err:
            check_writable(book)
        assert "read-only" in err.value.en
        one_line_bilingual(err.value, book)
    finally:
        book.chmod(0o644)


def test_read_only_folder_locks(book):
    folder = book.parent
    folder.chmod(0o555)
    try:
        with pytest.raises(BookLocked):
            check_writable(book)
    finally:
        folder.chmod(0o755)


def test_writable_book_passes(book):
    check_writable(book)
    check_writable(book.parent / "new-book.xlsm")


# --- atomicity, backups -------------------------------------------------------------------------
def test_failing_write_leaves_original_and_no_temp(book):
    digest = pk.sha256(book)

    def write(tmp: Path):
        tmp.write_bytes(b"PK\x03\x04half a workbook")
        raise RuntimeError("disk full")

    with pytest.raises(ShipbookError) as err:
        safe_save(book, write)
    assert "disk full" in err.value.en and "untouched" in err.value.en
    assert pk.sha256(book) == digest
    assert leftovers(book.parent) == []
    assert not (book.parent / safety.BACKUP_DIR).exists() or not any((book.parent / safety.BACKUP_DIR).iterdir())


def test_refusal_from_write_passes_through(book):
    def write(tmp: Path):
        raise BookRefused("拒绝", "refused")

    with pytest.raises(BookRefused):
        safe_save(book, write)
    assert leftovers(book.parent) == []


@pytest.mark.parametrize("damage", ["garbage", "crc"])
def test_broken_result_is_not_installed(book, damage):
    digest = pk.sha256(book)
    wb = load(book, keep_vba=True)

    def write(tmp: Path):
        if damage == "garbage":
            tmp.write_bytes(b"not a zip at all")
            return
        wb.save(tmp)
        pk.patch_crc(tmp, "customUI/images/icon1.png", 0x12345678)  # headers agree, data does not

    with pytest.raises(ShipbookError) as err:
        safe_save(book, write)
    assert "did not pass" in err.value.en or "failed" in err.value.en
    assert pk.sha256(book) == digest and leftovers(book.parent) == []


def test_locked_at_replace_time(book, monkeypatch):
    digest = pk.sha256(book)

    def deny(src, dst):
        raise PermissionError(13, "in use")

    monkeypatch.setattr(os, "replace", deny)
    with pytest.raises(BookLocked):
        safe_save(book, lambda tmp: shutil.copy(book, tmp))
    monkeypatch.undo()
    assert pk.sha256(book) == digest and leftovers(book.parent) == []
    assert not any((book.parent / safety.BACKUP_DIR).iterdir())


def test_backups_rotate(book):
    versions = []
    for i in range(4):
        versions.append(book.read_bytes())
        wb = load(book, keep_vba=True)
        wb["Sheet1"]["A10"] = f"save {i}"
        last = safe_save(book, wb.save, backups=2)
    kept = sorted((book.parent / safety.BACKUP_DIR).iterdir())
    assert len(kept) == 2 and kept[-1] == last
    assert [p.read_bytes() for p in kept] == versions[-2:]
    assert all(p.name.startswith("shipbook-") and p.suffix == ".xlsm" for p in kept)
    assert load(book)["Sheet1"]["A10"].value == "save 3"
    assert leftovers(book.parent) == []


def test_backups_of_other_books_are_left_alone(book):
    other = book.parent / "shipbook-2025.xlsm"
    shutil.copy(book, other)
    safe_save(other, lambda tmp: shutil.copy(other, tmp))
    for _ in range(2):
        safe_save(book, lambda tmp: shutil.copy(book, tmp), backups=1)
    names = sorted(p.name for p in (book.parent / safety.BACKUP_DIR).iterdir())
    assert len(names) == 2 and sum(n.startswith("shipbook-2025-") for n in names) == 1


def test_new_book_has_no_backup(tmp_path):
    path = tmp_path / "new.xlsm"
    assert safe_save(path, lambda tmp: shutil.copy(pk.QUICKSTART, tmp), original=pk.QUICKSTART) is None
    assert inspect_package(path).has_vba
    assert pk.vba_modules(path) == pk.vba_modules(pk.QUICKSTART)


def test_mode_is_kept(book):
    book.chmod(0o640)
    safe_save(book, lambda tmp: tmp.write_bytes(book.read_bytes()))
    assert stat.S_IMODE(book.stat().st_mode) == 0o640
