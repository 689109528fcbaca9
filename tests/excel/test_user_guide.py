"""docs/USER-GUIDE.md describes what exists: every button, every problem code, real commands, real pictures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyshipbook.buttons import BUTTONS
from pyshipbook.cli import command_modules
from pyshipbook.domain.problems import CODES

ROOT = Path(__file__).resolve().parents[2]
GUIDE_PATH = ROOT / "docs" / "USER-GUIDE.md"
GUIDE = GUIDE_PATH.read_text(encoding="utf-8")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("button", BUTTONS, ids=lambda b: b.id)
def test_every_button_has_a_row_in_the_button_table(button):
    assert re.search(rf"^\| \*\*{re.escape(button.label)}\*\* \|", GUIDE, re.M), button.label


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_problem_code_is_explained(code):
    rows = [line for line in GUIDE.splitlines() if line.startswith(f"| `{code}` |")]
    assert len(rows) == 1, code
    assert CODES[code].zh.split("(")[0][:6] in rows[0]  # the Chinese meaning, as 校验结果 shows it


def test_commands_named_in_the_guide_exist():
    known = {m.COMMAND for m in command_modules()}
    named = set(re.findall(r"`shipbook ([a-z][a-z-]*)", GUIDE))
    assert named and named <= known, named - known


def test_pictures_exist_are_png_and_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", GUIDE)
    assert "images/orders.png" in images
    for rel in images:
        path = GUIDE_PATH.parent / rel
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) < 300_000, (rel, len(data))


def test_platforms_and_blocked_macros_are_stated_plainly():
    assert "Microsoft Excel on Windows and macOS" in GUIDE
    assert "WPS is not supported by xlwings" in GUIDE
    assert "The `shipbook` command works everywhere" in GUIDE
    for words in ("mark of the web", "Zone.Identifier", "Trusted Location", "解除锁定", "受信任位置", "excel-setup"):
        assert words in GUIDE, words


def test_the_manual_check_list_is_there():
    section = GUIDE.split("## 只有真正的 Excel 才能确认的")[1].split("\n## ")[0]
    assert len(re.findall(r"^\s*\d+\. \[ \]", section, re.M)) >= 10


def test_chinese_comes_first():
    first_paragraph = GUIDE.split("\n\n")[1]
    assert re.match(r"[\u4e00-\u9fff]", first_paragraph.strip()[:1] or "x") or "shipbook 是" in first_paragraph
