"""The docs describe what exists: every command, every ribbon button, every problem code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyshipbook.buttons import BUTTONS
from pyshipbook.cli import build_parser, command_modules
from pyshipbook.domain.catalogue import all_codes

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [m.COMMAND for m in command_modules()])
def test_every_command_is_in_the_readme_table(command):
    rows = [line for line in README.splitlines() if line.startswith("|")]
    assert any(re.search(rf"`shipbook {re.escape(command)}[ `]", row) for row in rows), command


@pytest.mark.parametrize("command", [m.COMMAND for m in command_modules()])
def test_every_command_has_bilingual_help(command):
    mod = next(m for m in command_modules() if m.COMMAND == command)
    assert re.search(r"[\u4e00-\u9fff]", mod.HELP) and re.search(r"[a-z]{3}", mod.HELP), mod.HELP
    help_text = build_parser().format_help()
    assert command in help_text


def test_readme_commands_all_exist():
    known = {m.COMMAND for m in command_modules()}
    mentioned = set(re.findall(r"`shipbook ([a-z][a-z-]*)", README))
    assert mentioned <= known, mentioned - known


@pytest.mark.parametrize("code", sorted(all_codes()))
def test_every_problem_code_is_in_the_contract(code):
    contract = (ROOT / "docs" / "WORKBOOK.md").read_text(encoding="utf-8")
    assert f"| {code} |" in contract


@pytest.mark.parametrize("button", BUTTONS, ids=[b.id for b in BUTTONS])
def test_every_ribbon_button_is_in_the_user_guide(button):
    guide = ROOT / "docs" / "USER-GUIDE.md"
    assert guide.exists(), "docs/USER-GUIDE.md is missing"
    assert button.label in guide.read_text(encoding="utf-8")


def test_readme_test_command_is_what_ci_runs():
    cmd = re.search(r"python -m pip install -e '\.\[test\]' && python -m pytest", README)
    assert cmd, "README lost its test command"
    assert cmd.group(0) in (ROOT / ".ci" / "run").read_text()
