"""Repair of what openpyxl drops when it saves a workbook package.

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

Standard library only at import time (lxml inside functions).
"""

from __future__ import annotations

import os
import posixpath
import secrets
import zipfile
from pathlib import Path

from .inspection import inspect_package
from .opc import (CT_PATH, CT_VBA, EXPECTED_CT, MACRO_SUFFIXES, NS_CT, NS_RELS, REL_OFFICE_DOC, REL_VBA,
                  RIBBON_RELS, ROOT_RELS, VBA_PART, VBA_RELS, _content_type_of, _content_types, _parse_xml,
                  _rels_path, _relationships, _resolve_target, _serialize)
from .zip_rewrite import _rewrite_zip


class _Xml:
    """A package XML part being edited."""

    def __init__(self, data: bytes | None, empty_tag: str):
        from lxml import etree

        self.root = _parse_xml(data) if data is not None else etree.Element(empty_tag, nsmap={None: empty_tag[1:].split("}")[0]})
        self.dirty = data is None


def _scratch_name(new: Path) -> str:
    """The repair's own temp file: named after the save's temp file (so the book's stale-temp clean-up
    knows it), else random."""
    tail = f".tmp{new.suffix}"
    if new.name.startswith(".~shipbook-") and new.name.endswith(tail):
        return new.name[: -len(tail)] + f".repair{new.suffix}"
    return f".~shipbook-{secrets.token_hex(6)}.repair{new.suffix}"


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
    scratch = new.with_name(_scratch_name(new))
    try:
        _rewrite_zip(new, scratch, replace=replace, remove=remove, add=add)
        os.replace(scratch, new)
    finally:
        scratch.unlink(missing_ok=True)
    return True
