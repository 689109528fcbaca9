"""Errors that stop a command: each carries a Chinese and an English message.

Bad *input rows* never raise: they become problems (see domain.problems).
These are for when the command itself cannot run (exit code 2).
"""


class ShipbookError(Exception):
    """The command could not run. Printed as one line, never as a traceback."""

    exit_code = 2

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


class BookRefused(ShipbookError):
    """The workbook file is unsafe or unusable; it was left untouched."""


class BookLocked(ShipbookError):
    """The workbook is open in Excel or cannot be written."""
