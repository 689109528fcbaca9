"""Who is running a command: name and role, from --as or the per-user config.

Config file: $SHIPBOOK_CONFIG, else ~/.config/shipbook/config.toml (Windows:
%APPDATA%\\shipbook\\config.toml):

    [user]
    name = "王芳"
    role = "库管员"
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ShipbookError


@dataclass(frozen=True)
class Identity:
    name: str
    role: str = ""


def config_path() -> Path:
    if os.environ.get("SHIPBOOK_CONFIG"):
        return Path(os.environ["SHIPBOOK_CONFIG"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "shipbook" / "config.toml"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "shipbook" / "config.toml"


def load_config() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ShipbookError(f"配置文件无法读取: {path}: {exc}", f"cannot read config file {path}: {exc}") from None


def current_identity(as_name: str | None = None) -> Identity:
    user = load_config().get("user", {})
    if as_name:
        return Identity(as_name.strip(), str(user.get("role", "")) if user.get("name") == as_name else "")
    name = str(user.get("name") or "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except Exception:  # no login name (service account): still record something honest
            name = "unknown"
    return Identity(name, str(user.get("role", "")))
