"""Where shipbook's own files live. Light: imported by the build and the loaders."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
# templates/ of the source checkout (the package is installed editable); a copy inside
# the package (pyshipbook/templates) wins when present, so a built wheel can carry its own.
TEMPLATES = next((p for p in (PACKAGE / "templates", ROOT / "templates") if p.is_dir()), ROOT / "templates")
