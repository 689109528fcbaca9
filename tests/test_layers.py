"""The layers in docs/DEVELOPING.md hold: the domain and the operations never touch a workbook library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "pyshipbook"
FORBIDDEN = {
    "domain": {"openpyxl", "xlwings", "python_calamine", "xlrd", "smtplib", "pyshipbook.book.xlsx",
               "pyshipbook.book.live", "pyshipbook.book.safety", "pyshipbook.book.sources"},
    "ops": {"openpyxl", "xlwings"},
}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                parts = path.relative_to(PKG.parent).with_suffix("").parts[:-node.level]
                base = ".".join(parts + ((base,) if base else ()))
            out.add(base)
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_no_workbook_library(layer):
    offenders = {}
    for path in sorted((PKG / layer).glob("*.py")):
        bad = {m for m in _imports(path) for f in FORBIDDEN[layer] if m == f or m.startswith(f + ".")}
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}, offenders
