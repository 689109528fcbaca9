"""The layers in docs/DEVELOPING.md hold, read from the source (the AST of every module):

* the domain imports nothing of the workbook layer, the operations, a workbook library or a file or
  network library: it is pure rules on data;
* the operations never touch a workbook library (they receive a `Book`);
* no module of pyshipbook imports another in a circle, counting imports inside functions too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "pyshipbook"
# what the pure domain must never import (a module or anything under it)
DOMAIN_FORBIDDEN = {"pyshipbook.book", "pyshipbook.ops", "pyshipbook.cli", "pyshipbook.macros", "pyshipbook.mail",
                    "pyshipbook.build", "pyshipbook.sample", "pyshipbook.identity", "pyshipbook.paths",
                    "openpyxl", "xlwings", "python_calamine", "xlrd", "xlsxwriter",
                    "socket", "ssl", "smtplib", "imaplib", "poplib", "ftplib", "telnetlib", "urllib", "http",
                    "requests", "httpx", "aiohttp", "email", "sqlite3", "dbm", "shelve", "subprocess",
                    "shutil", "tempfile", "glob", "pathlib", "io", "os", "sys", "tomllib", "csv", "zipfile",
                    "pickle", "winreg", "ctypes"}
FORBIDDEN = {
    "domain": DOMAIN_FORBIDDEN,
    "ops": {"openpyxl", "xlwings"},
}
# domain modules allowed one name of a forbidden module, and why
DOMAIN_ALLOWED = {
    ("daily.py", "email.utils"): "parseaddr: pure text parsing of an address, no mail I/O",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(name: str) -> bool:
    return (PKG.parent / Path(*name.split(".")) / "__init__.py").exists()


def _is_module(name: str) -> bool:
    return _is_package(name) or (PKG.parent / Path(*name.split("."))).with_suffix(".py").exists()


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module `path` imports, anywhere in it (top level or inside a function): for
    `from X import y` both X and, when y is a module of ours, X.y."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")}
    return out


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _bad(imported: set[str], forbidden: set[str]) -> set[str]:
    return {m for m in imported for f in forbidden if m == f or m.startswith(f + ".")}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not(layer):
    offenders = {}
    for path in sorted((PKG / layer).glob("*.py")):
        bad = {m for m in _bad(_imports(path), FORBIDDEN[layer]) if (path.name, m) not in DOMAIN_ALLOWED}
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}, offenders


def test_the_forbidden_list_catches_a_workbook_or_network_import():
    """The check itself can fail: a domain module importing the schema, an op, openpyxl or (inside a
    function) a network module is caught."""
    src = ("from ..book.schema import ORDERS\nfrom ..ops import sign\nimport openpyxl\n\n"
           "def f():\n    from urllib.request import urlopen\n    import socket\n")
    found = _bad(_imports(PKG / "domain" / "_probe.py", src), DOMAIN_FORBIDDEN)
    assert found == {"pyshipbook.book.schema", "pyshipbook.ops", "pyshipbook.ops.sign", "openpyxl",
                     "urllib.request", "socket"}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: {m for m in _imports(path) if m in mods and m != name} for name, path in mods.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_another_in_a_circle():
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_sees_imports_inside_functions():
    """carriers and tracking once imported each other from inside a function: such edges count."""
    graph = _graph()
    assert "pyshipbook.book.xlsx" in graph["pyshipbook.cli"]          # cli imports it inside default_cli
    assert "pyshipbook.domain.normalize" in graph["pyshipbook.domain.carriers"]


def test_what_the_domain_knows_of_the_sheets_matches_the_schema():
    """Layout the domain keeps as plain data (it may not import book/schema.py) agrees with the schema."""
    from pyshipbook.book import schema
    from pyshipbook.domain import daily, lifecycle

    assert tuple(schema.DAILY.keys) == daily.SHEET_COLUMNS
    assert schema.CARRIERS == lifecycle.CARRIER_CODES
    assert schema.STATUSES is lifecycle.STATUSES and schema.SLIP_SIGNED is lifecycle.SLIP_SIGNED


def test_every_code_is_registered_once_in_the_catalogue():
    from pyshipbook.domain import codes
    from pyshipbook.domain.catalogue import all_codes

    every = all_codes()
    assert set(every) <= set(codes.CATALOGUE) and all(codes.CATALOGUE[k] == c for k, c in every.items())
    with pytest.raises(ValueError):
        codes.register(codes.Code("phone.invalid", "warning", "别的", "something else"))
