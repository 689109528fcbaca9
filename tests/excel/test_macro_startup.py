"""A click starts a fresh Python (RunPython): importing pyshipbook.macros must stay light."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyshipbook import macros
from pyshipbook.build import CALLBACK, SHIM_SOURCE

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "openpyxl", "xlwings", "pyshipbook.ops", "pyshipbook.book.live",
         "pyshipbook.domain")


def fresh_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_macros_loads_no_heavy_module():
    out = fresh_python("import sys, json, pyshipbook.macros; "
                       f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY[:4]!r} "
                       f"or m.startswith({HEAVY[4:]!r}))))")
    assert json.loads(out) == []


def test_importtime_has_no_heavy_module():
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pyshipbook.macros"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT)})
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "pyshipbook.macros" in names
    assert not {n for n in names if n.split(".")[0] in ("pandas", "numpy", "openpyxl", "xlwings")}


def test_the_ribbon_shim_calls_click_with_the_button_id_only():
    shim = SHIM_SOURCE.read_text(encoding="utf-8")
    m = re.search(rf'Sub {CALLBACK}\(control As IRibbonControl\).*?RunPython "(.*?)" & control\.Id & "(.*?)"',
                  shim, re.S)
    assert m, shim
    command = m.group(1) + "sbValidate" + m.group(2)
    assert command == "import pyshipbook.macros as m; m.click('sbValidate')"
    # the same call works from Python: the button id is the only positional argument
    assert list(__import__("inspect").signature(macros.click).parameters)[0] == "button_id"


@pytest.mark.parametrize("button_id", ["sbHelp", "sbNoSuchButton"])
def test_a_click_that_runs_no_operation_imports_no_operation(button_id):
    """Help and refusals: the click shows a message and loads no ops module or pandas-based domain."""
    out = fresh_python(
        "import sys, json\n"
        "class App:\n"
        "    def alert(self, prompt, title=None, mode=None): print(json.dumps(title))\n"
        "class Book:\n"
        "    name = 'b.xlsm'\n"
        "    app = App()\n"
        "class UI:\n"
        "    def status(self, text): pass\n"
        "    def message(self, title, text, error=False): Book.app.alert(text, title)\n"
        "import pyshipbook.macros as m\n"
        f"m.click({button_id!r}, book=Book(), ui=UI())\n"
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith(('pyshipbook.ops.', 'pandas')))))\n")
    title, loaded = out.strip().splitlines()
    assert json.loads(title).startswith("shipbook") and json.loads(loaded) == []
