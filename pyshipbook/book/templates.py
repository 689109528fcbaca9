"""Reading the data templates (templates/carriers.toml, templates/waybills/*.toml,
templates/platforms/*.toml): the I/O edge. The domain functions take what these return.

A broken template stops the command (ShipbookError, zh + en, naming the file); it is
never half-used.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ..domain.carriers import CarrierBook, Platform
from ..domain.waybills import WaybillLayout
from ..errors import ShipbookError

from ..paths import TEMPLATES

CARRIERS_FILE = TEMPLATES / "carriers.toml"
WAYBILLS_DIR = TEMPLATES / "waybills"
PLATFORMS_DIR = TEMPLATES / "platforms"

M = TypeVar("M", bound=BaseModel)


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShipbookError(f"找不到模板文件 {path}", f"template {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShipbookError(f"无法读取模板文件 {path}: {exc}", f"cannot read template {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ShipbookError(f"模板文件格式有误 {path}: {exc}", f"template {path} is not valid TOML: {exc}") from None


def _model(model: type[M], data: dict, path: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        text = f"{where}: {first.get('msg', '')}" if where else first.get("msg", "")
        raise ShipbookError(f"模板文件内容有误 {path}: {text}", f"template {path} is invalid: {text}") from None


def load_carriers(path: Path | str | None = None) -> CarrierBook:
    """templates/carriers.toml as a CarrierBook."""
    path = Path(path) if path else CARRIERS_FILE
    return _model(CarrierBook, _read(path), path)


def load_waybill_layout(path: Path | str) -> WaybillLayout:
    """One waybill layout; its carrier defaults to the file name (SF.toml -> SF) and must agree with it."""
    path = Path(path)
    data = _read(path)
    stem = path.stem.upper()
    data.setdefault("carrier", stem)
    layout = _model(WaybillLayout, data, path)
    if layout.carrier.upper() != stem:
        raise ShipbookError(f"模板文件 {path} 的 carrier={layout.carrier} 与文件名不符",
                            f"template {path}: carrier={layout.carrier} does not match the file name")
    return layout


def load_waybill_layouts(directory: Path | str | None = None) -> dict[str, WaybillLayout]:
    """Every templates/waybills/*.toml, by carrier code. A new courier's layout is just a new file."""
    directory = Path(directory) if directory else WAYBILLS_DIR
    return {layout.carrier: layout for layout in
            (load_waybill_layout(p) for p in sorted(directory.glob("*.toml")))}


def load_platform(path: Path | str) -> Platform:
    path = Path(path)
    data = _read(path)
    data.setdefault("platform", path.stem)
    return _model(Platform, data, path)


def load_platforms(directory: Path | str | None = None) -> dict[str, Platform]:
    """Every templates/platforms/*.toml, by platform name (wechat, taobao, youzan, generic …)."""
    directory = Path(directory) if directory else PLATFORMS_DIR
    return {p.platform: p for p in (load_platform(f) for f in sorted(directory.glob("*.toml")))}
