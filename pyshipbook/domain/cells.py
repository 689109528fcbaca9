"""How a cell reads as text: the one helper every operation and rule uses. Pure."""

from __future__ import annotations

from .normalize import clean_text


def text(v: object) -> str | None:
    """A cell as cleaned text: full-width folded, stripped, whole floats without '.0'; None when blank."""
    return clean_text(v)


def normalise_header(name: object) -> str:
    """How a header cell is compared: spaces (also full-width) removed, case folded."""
    if name is None:
        return ""
    return "".join(str(name).split()).replace("\u3000", "").casefold()
