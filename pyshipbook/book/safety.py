"""File-level safety for workbook files: inspect before loading, save atomically, repair what openpyxl drops.

The names callers use, gathered from the modules that hold them:

* ``inspection.py`` -- package inspection before openpyxl loads a file (CFB, zip structure, zip bombs,
  XML entity tricks) and the load options a file of its kind needs;
* ``repair.py`` -- what openpyxl 3.1.5 drops on save and how it is put back;
* ``zip_rewrite.py`` -- the package rewrite that copies untouched parts verbatim;
* ``saving.py`` -- the safe save (temp file, repair, verify, backup, atomic replace), ``write_atomically``
  and the writability checks;
* ``opc.py`` -- part names, content types, relationship types, package XML helpers.

Every module here only imports the standard library at import time (lxml and openpyxl inside functions).
"""

from __future__ import annotations

from pyshipbook.errors import BookLocked, BookRefused, ShipbookError

from .inspection import (INFLATE_STEP, MAX_CENTRAL_DIR, MAX_ENTRIES, MAX_META_XML, MAX_PART_SIZE, MAX_RATIO,
                         MAX_TOTAL_SIZE, RATIO_MIN_SIZE, SUSPICIOUS_MIN_SIZE, SUSPICIOUS_RATIO, XML_HEAD_CAP,
                         PackageInfo, inspect_package, load_options_for)
from .opc import (CT_PATH, CT_VBA, CT_XLSM, CT_XLSX, CT_XLTM, CT_XLTX, EXPECTED_CT, MACRO_CTS, MACRO_SUFFIXES,
                  NS_CT, NS_RELS, REL_OFFICE_DOC, REL_UI_2006, REL_UI_2007, REL_VBA, RIBBON_RELS, ROOT_RELS,
                  VBA_PART, VBA_RELS)
from .repair import repair_package
from .saving import BACKUP_DIR, check_writable, safe_save, write_atomically

__all__ = [
    "PackageInfo",
    "inspect_package",
    "check_writable",
    "safe_save",
    "repair_package",
    "load_options_for",
    "write_atomically",
    "BACKUP_DIR",
    "BookLocked",
    "BookRefused",
    "ShipbookError",
    # limits and package names, for callers and tests that name them
    "MAX_ENTRIES", "MAX_PART_SIZE", "MAX_TOTAL_SIZE", "MAX_RATIO", "RATIO_MIN_SIZE", "MAX_CENTRAL_DIR",
    "MAX_META_XML", "XML_HEAD_CAP", "SUSPICIOUS_RATIO", "SUSPICIOUS_MIN_SIZE", "INFLATE_STEP",
    "CT_PATH", "ROOT_RELS", "VBA_PART", "VBA_RELS", "CT_XLSX", "CT_XLTX", "CT_XLSM", "CT_XLTM", "CT_VBA",
    "MACRO_CTS", "EXPECTED_CT", "MACRO_SUFFIXES", "REL_OFFICE_DOC", "REL_UI_2006", "REL_UI_2007", "REL_VBA",
    "RIBBON_RELS", "NS_RELS", "NS_CT",
]
