"""How a header cell is compared. A leaf without pandas: book/schema.py imports it, and the ribbon's
start-up imports the schema (tests/excel/test_macro_startup.py: no heavy module on a click)."""

from __future__ import annotations


def normalise_header(name: object) -> str:
    """How a header cell is compared: spaces (also full-width) removed, case folded."""
    if name is None:
        return ""
    return "".join(str(name).split()).replace("\u3000", "").casefold()
