"""How a cell reads as text: the one helper every operation and rule uses. Pure."""

from __future__ import annotations

from .headers import normalise_header  # noqa: F401 (how header cells compare: offered beside text)
from .normalize import clean_text


def text(v: object) -> str | None:
    """A cell as cleaned text: full-width folded, stripped, whole floats without '.0'; None when blank."""
    return clean_text(v)
