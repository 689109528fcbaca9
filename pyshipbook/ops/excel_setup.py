"""Excel 设置 (excel-setup): make this computer ready for the ribbon buttons of shipbook.xlsm.

Install layout (per user, no administrator rights). On Windows the workbook's
hidden ``xlwings.conf`` sheet (build.XLWINGS_CONF) names these paths, so
every copy of the workbook finds Python on every computer set up this way:

    %LOCALAPPDATA%\\shipbook\\venv\\    Python + pyshipbook and its libraries (Interpreter_Win:
                                       venv\\Scripts\\python.exe)
    %LOCALAPPDATA%\\shipbook\\app\\     on PYTHONPATH, ahead of the venv: empty normally; a pyshipbook
                                       folder dropped here overrides the installed one (offline fix)
    %APPDATA%\\shipbook\\config.toml    who you are (name, role) for 日志 and signatures
    %USERPROFILE%\\.xlwings\\xlwings.conf  the user's xlwings settings: the same interpreter and
                                       PYTHONPATH, for books without the sheet (the sheet wins)

On macOS the sheet has no interpreter for the Mac, so the user file
(~/Library/Containers/com.microsoft.Excel/Data/xlwings.conf, where Excel's
sandbox looks) carries INTERPRETER_MAC = the Python running this command.

What this command does: checks the interpreter and creates the app folder,
writes the user's xlwings config and (with --name/--role) the identity
config, and on Windows, on request, adds a folder to Excel's Trusted
Locations (HKCU registry) and removes the mark of the web (the
Zone.Identifier stream) from a workbook file. Since 2022 Office blocks
macros in files that came from the internet or by email; a file in a
trusted location, or unblocked, runs its buttons. The registry and the
stream are reached through two small interfaces (`Registry`, `Streams`) so
tests run them against fakes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Protocol

from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result

COMMAND = "excel-setup"
HELP = ("Excel 设置 / set up this computer for the Excel buttons: xlwings config, identity, "
        "trusted location, unblock a workbook")

OFFICE_VERSION = "16.0"  # Office 2016, 2019, 2021, 2024 and Microsoft 365
TRUSTED_LOCATIONS = r"Software\Microsoft\Office\{version}\Excel\Security\Trusted Locations"
ZONE_STREAM = "Zone.Identifier"
DESCRIPTION = "shipbook"


# -- the system, injectable -------------------------------------------------------------------------
class Registry(Protocol):
    """HKEY_CURRENT_USER, as much of it as this command needs. Keys are paths below HKCU."""

    def subkeys(self, key: str) -> list[str]: ...

    def values(self, key: str) -> dict[str, object]: ...

    def set_value(self, key: str, name: str, value: str | int) -> None:
        """Create the key if needed; str -> REG_SZ, int -> REG_DWORD."""


class Streams(Protocol):
    """NTFS alternate data streams of a file."""

    def read(self, path: Path, stream: str) -> str | None: ...

    def remove(self, path: Path, stream: str) -> None: ...


class WinRegistry:
    """The real HKCU through winreg (Windows only)."""

    def subkeys(self, key: str) -> list[str]:
        import winreg
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
                out, i = [], 0
                while True:
                    try:
                        out.append(winreg.EnumKey(k, i))
                    except OSError:
                        return out
                    i += 1
        except FileNotFoundError:
            return []

    def values(self, key: str) -> dict[str, object]:
        import winreg
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
                out, i = {}, 0
                while True:
                    try:
                        name, value, _ = winreg.EnumValue(k, i)
                    except OSError:
                        return out
                    out[name] = value
                    i += 1
        except FileNotFoundError:
            return {}

    def set_value(self, key: str, name: str, value: str | int) -> None:
        import winreg
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as k:
            kind = winreg.REG_DWORD if isinstance(value, int) else winreg.REG_SZ
            winreg.SetValueEx(k, name, 0, kind, value)


class NtfsStreams:
    """Alternate data streams through the `file:stream` path syntax (Windows, NTFS)."""

    def read(self, path: Path, stream: str) -> str | None:
        try:
            with open(f"{path}:{stream}", encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, OSError):
            return None

    def remove(self, path: Path, stream: str) -> None:
        os.remove(f"{path}:{stream}")


@dataclass
class Env:
    """Where things are on this computer (tests build one on tmp with fakes)."""

    platform: str                      # sys.platform: "win32", "darwin", "linux"
    home: Path
    executable: str
    environ: dict[str, str] = field(default_factory=dict)
    registry: Registry | None = None
    streams: Streams | None = None

    @classmethod
    def current(cls) -> "Env":
        win = sys.platform == "win32"
        return cls(sys.platform, Path.home(), sys.executable, dict(os.environ),
                   WinRegistry() if win else None, NtfsStreams() if win else None)

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    def expand(self, text: str) -> str:
        """%VAR% expanded as Windows (and xlwings' VBA) does; unknown names stay."""
        return re.sub(r"%([^%]+)%", lambda m: self.environ.get(m.group(1), m.group(0)), text)


# -- the layout ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    python: str          # as xlwings.conf names it (%VARS% unexpanded on Windows)
    pythonpath: str
    python_path: Path    # the same, expanded
    app_path: Path
    xlwings_conf: Path   # the user's xlwings config file
    interpreter_key: str


def layout(env: Env) -> Layout:
    """The install layout for this platform; on Windows the workbook's own xlwings.conf values."""
    if env.windows:
        from ..build import XLWINGS_CONF
        conf = dict(XLWINGS_CONF)
        python, pythonpath = str(conf["Interpreter_Win"]), str(conf["PYTHONPATH"])
        profile = env.environ.get("USERPROFILE") or str(env.home)
        return Layout(python, pythonpath, _local(env.expand(python)), _local(env.expand(pythonpath)),
                      _local(profile) / ".xlwings" / "xlwings.conf", "INTERPRETER_WIN")
    if env.platform == "darwin":
        app = env.home / "Library" / "Application Support" / "shipbook" / "app"
        conf = env.home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
        return Layout(env.executable, str(app), Path(env.executable), app, conf, "INTERPRETER_MAC")
    app = env.home / ".local" / "share" / "shipbook" / "app"
    return Layout(env.executable, str(app), Path(env.executable), app, env.home / ".xlwings" / "xlwings.conf",
                  "INTERPRETER")


def _local(windows_path: str) -> Path:
    """A Windows path as this system's Path (tests run the Windows layout on Linux)."""
    if os.name == "nt":
        return Path(windows_path)
    parts = PureWindowsPath(windows_path).parts
    if parts and parts[0] in ("\\", "/"):
        return Path("/", *parts[1:])
    return Path(*parts)


# -- xlwings user config ------------------------------------------------------------------------------
_CONF_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def read_xlwings_conf(path: Path) -> list[tuple[str, str]]:
    """The (key, value) lines of an xlwings.conf file ("KEY","VALUE" per line); unreadable lines dropped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _CONF_LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def xlwings_conf_text(existing: list[tuple[str, str]], wanted: dict[str, str], windows: bool) -> str:
    """The file with `wanted` keys set (case-insensitive, as xlwings reads them), other lines kept."""
    keys = {k.upper() for k in wanted}
    lines = [(k, v) for k, v in existing if k.upper() not in keys] + list(wanted.items())
    for k, v in lines:
        if '"' in k or '"' in v:
            raise ShipbookError(f"xlwings 配置的值不能含有引号: {k}={v}", f"an xlwings config value cannot hold quotes: {k}={v}")
    nl = "\r\n" if windows else "\n"
    return "".join(f'"{k}","{v}"{nl}' for k, v in lines)


# -- identity config ----------------------------------------------------------------------------------
def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def identity_config_text(path: Path, name: str | None, role: str | None) -> str:
    """config.toml with [user] name/role set; other settings kept (simple values only)."""
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ShipbookError(f"配置文件无法读取, 未改动: {path}: {exc}",
                                f"cannot read config file {path}, left unchanged: {exc}") from None
    user = dict(data.get("user", {}))
    if name is not None:
        user["name"] = name.strip()
    if role is not None:
        user["role"] = role.strip()
    data["user"] = user
    out = []
    for table, values in data.items():
        if not isinstance(values, dict):
            raise ShipbookError(f"配置文件 {path} 含有此命令不能改写的内容 ({table})",
                                f"config file {path} holds content this command cannot rewrite ({table})")
        out.append(f"[{table}]")
        for k, v in values.items():
            if isinstance(v, bool):
                out.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, (int, float)):
                out.append(f"{k} = {v}")
            elif isinstance(v, str):
                out.append(f"{k} = {_toml_str(v)}")
            else:
                raise ShipbookError(f"配置文件 {path} 含有此命令不能改写的内容 ({table}.{k})",
                                    f"config file {path} holds content this command cannot rewrite ({table}.{k})")
        out.append("")
    return "\n".join(out)


# -- trusted locations --------------------------------------------------------------------------------
def office_version(registry: Registry) -> str:
    """The newest Office with an Excel key under HKCU (16.0 when none is found)."""
    found = []
    for ver in registry.subkeys(r"Software\Microsoft\Office"):
        if re.fullmatch(r"\d+\.\d", ver) and "Excel" in registry.subkeys(rf"Software\Microsoft\Office\{ver}"):
            found.append(ver)
    return max(found, key=lambda v: float(v)) if found else OFFICE_VERSION


def _norm_dir(p: str) -> str:
    return str(PureWindowsPath(p)).rstrip("\\").casefold()


def trusted_location(registry: Registry, folder: str, version: str, *, now: dt.datetime,
                     write: bool = True) -> tuple[str, str]:
    """Add `folder` as a Trusted Location (with subfolders). Returns (status, key): "ok" if already there."""
    base = TRUSTED_LOCATIONS.format(version=version)
    names = registry.subkeys(base)
    for name in names:
        values = registry.values(rf"{base}\{name}")
        if isinstance(values.get("Path"), str) and _norm_dir(values["Path"]) == _norm_dir(folder):
            if values.get("AllowSubfolders") != 1 and write:
                registry.set_value(rf"{base}\{name}", "AllowSubfolders", 1)
            return "ok", rf"{base}\{name}"
    used = {int(m.group(1)) for n in names if (m := re.fullmatch(r"Location(\d+)", n))}
    n = next(i for i in range(len(used) + 1) if i not in used)
    key = rf"{base}\Location{n}"
    if write:
        path = str(PureWindowsPath(folder)).rstrip("\\") + "\\"
        registry.set_value(key, "Path", path)
        registry.set_value(key, "AllowSubfolders", 1)
        registry.set_value(key, "Description", DESCRIPTION)
        registry.set_value(key, "Date", now.strftime("%Y/%m/%d %H:%M"))
    return "done", key


# -- the command -----------------------------------------------------------------------------------------
@dataclass
class Step:
    step: str
    status: str  # ok | done | todo | skipped
    zh: str
    en: str


def _app_folder(lay: Layout, write: bool) -> list[Step]:
    """The folder on PYTHONPATH (created empty)."""
    if lay.app_path.is_dir():
        return [Step("app", "ok", f"程序目录: {lay.app_path}", f"app folder: {lay.app_path}")]
    if write:
        lay.app_path.mkdir(parents=True, exist_ok=True)
    return [Step("app", "done", f"已创建程序目录: {lay.app_path}", f"created the app folder: {lay.app_path}")]


def _xlwings_conf(lay: Layout, env: Env, write: bool) -> list[Step]:
    """The user's xlwings.conf with our interpreter and PYTHONPATH; its other lines kept."""
    wanted = {lay.interpreter_key: lay.python, "PYTHONPATH": lay.pythonpath}
    existing = read_xlwings_conf(lay.xlwings_conf)
    have = {k.upper(): v for k, v in existing}
    if all(have.get(k.upper()) == v for k, v in wanted.items()):
        return [Step("xlwings_conf", "ok", f"xlwings 配置已是最新: {lay.xlwings_conf}",
                     f"xlwings config is up to date: {lay.xlwings_conf}")]
    text = xlwings_conf_text(existing, wanted, env.windows)
    if write:
        lay.xlwings_conf.parent.mkdir(parents=True, exist_ok=True)
        lay.xlwings_conf.write_bytes(text.encode("utf-8"))
    return [Step("xlwings_conf", "done", f"已写入 xlwings 配置: {lay.xlwings_conf}",
                 f"wrote the xlwings config: {lay.xlwings_conf}")]


def setup(ctx: Context, env: Env, *, name: str | None = None, role: str | None = None,
          trust: str | None = None, unblock: str | None = None, dry_run: bool = False) -> Result:
    steps: list[Step] = []
    lay = layout(env)
    write = not dry_run

    # 1. the interpreter the workbook runs
    if env.windows:
        if lay.python_path.exists():
            here = os.path.normcase(str(Path(env.executable))) == os.path.normcase(str(lay.python_path))
            steps.append(Step("interpreter", "ok", f"Python: {lay.python_path}" + ("" if here else " (已安装)"),
                              f"Python: {lay.python_path}" + ("" if here else " (installed)")))
        else:
            venv = lay.python_path.parent.parent
            cmds = (f'py -3.11 -m venv "{venv}"\n    "{lay.python_path}" -m pip install "pyshipbook[excel]"'
                    "\n    (源码目录中 / from a source folder: pip install -e \".[excel]\")")
            steps.append(Step("interpreter", "todo", f"未找到 {lay.python_path}; 请先安装:\n    {cmds}",
                              f"{lay.python_path} not found; install it first:\n    {cmds}"))
    elif env.platform == "darwin":
        steps.append(Step("interpreter", "ok", f"Python: {env.executable} (写入 INTERPRETER_MAC)",
                          f"Python: {env.executable} (written as INTERPRETER_MAC)"))
    else:
        steps.append(Step("interpreter", "skipped", "此系统没有 Excel; shipbook 命令可直接使用",
                          "no Excel on this system; the shipbook command works as it is"))

    if env.windows or env.platform == "darwin":
        steps += _app_folder(lay, write) + _xlwings_conf(lay, env, write)

    # 4. who you are
    from ..identity import config_path, current_identity
    if name is not None or role is not None:
        path = config_path()
        text = identity_config_text(path, name, role)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        steps.append(Step("identity", "done", f"已写入身份: {path}", f"wrote your identity: {path}"))
    if write or (name is None and role is None):
        who = current_identity()
        steps.append(Step("identity", "ok", f"当前用户: {who.name}" + (f" ({who.role})" if who.role else ""),
                          f"you are: {who.name}" + (f" ({who.role})" if who.role else "")))

    # 5. a trusted location
    if trust:
        folder = Path(trust).absolute()
        if not env.windows or env.registry is None:
            steps.append(Step("trust", "skipped", "受信任位置只能在 Windows 上添加", "trusted locations are Windows only"))
        elif str(PureWindowsPath(trust)).startswith("\\\\"):
            steps.append(Step("trust", "todo",
                              f"{trust} 是网络位置: Excel 默认不信任网络位置, 请改用本机文件夹",
                              f"{trust} is a network location: Excel does not trust those by default; "
                              "use a local folder"))
        else:
            if write:
                folder.mkdir(parents=True, exist_ok=True)
            version = office_version(env.registry)
            status, key = trusted_location(env.registry, str(folder), version, now=ctx.clock, write=write)
            steps.append(Step("trust", status,
                              f"受信任位置{'已存在' if status == 'ok' else '已添加'}: {folder} (HKCU\\{key})",
                              f"trusted location {'already there' if status == 'ok' else 'added'}: {folder} "
                              f"(HKCU\\{key})"))

    # 6. the mark of the web
    if unblock:
        path = Path(unblock)
        if not path.is_file():
            raise ShipbookError(f"找不到文件: {path}", f"no such file: {path}")
        if not env.windows or env.streams is None:
            steps.append(Step("unblock", "skipped", "只有 Windows 文件有\"来自网络\"标记",
                              "only Windows files carry the mark of the web"))
        else:
            mark = env.streams.read(path, ZONE_STREAM)
            if mark is None:
                steps.append(Step("unblock", "ok", f"{path.name} 没有\"来自网络\"标记", f"{path.name} has no mark of the web"))
            else:
                if write:
                    env.streams.remove(path, ZONE_STREAM)
                steps.append(Step("unblock", "done", f"已解除锁定: {path.name} (删除了 {ZONE_STREAM})",
                                  f"unblocked {path.name} (removed its {ZONE_STREAM} stream)"))

    todo = [s for s in steps if s.status == "todo"]
    mark = {"ok": "✓", "done": "✓", "todo": "✗", "skipped": "-"}
    zh = "\n".join([("Excel 设置" + (" (试运行, 未改动)" if dry_run else ""))]
                   + [f"  {mark[s.status]} {s.zh}" for s in steps] + ["", TRUST_ZH])
    en = "\n".join([("Excel setup" + (" (dry run, nothing changed)" if dry_run else ""))]
                   + [f"  {mark[s.status]} {s.en}" for s in steps] + ["", TRUST_EN])
    data = {"steps": [s.__dict__ for s in steps], "layout": {
        "interpreter": lay.python, "pythonpath": lay.pythonpath, "xlwings_conf": str(lay.xlwings_conf)},
        "dry_run": dry_run}
    return Result(COMMAND, EXIT_PROBLEMS if todo else EXIT_OK, zh, en, data, rows=0)


TRUST_ZH = ("宏被阻止时 (\"Microsoft 已阻止宏运行\"): 文件来自邮件或网络。关闭工作簿, 然后任选其一: "
            "右键文件 → 属性 → 勾选\"解除锁定\"; 或 shipbook excel-setup --unblock 文件; "
            "或把文件放进受信任位置 (shipbook excel-setup --trust 文件夹)。")
TRUST_EN = ("When macros are blocked (\"Microsoft has blocked macros from running\"): the file came by email or "
            "from the internet. Close it, then either right-click it → Properties → tick Unblock; or run "
            "shipbook excel-setup --unblock FILE; or keep it in a trusted location "
            "(shipbook excel-setup --trust FOLDER).")


def add_arguments(parser) -> None:
    parser.add_argument("--name", help="你的名字, 写入 日志 和签字 / your name, for 日志 and signatures")
    parser.add_argument("--role", help="你的角色, 如 库管员 / your role, e.g. 库管员")
    parser.add_argument("--trust", metavar="FOLDER",
                        help="把此文件夹加入 Excel 受信任位置 (Windows) / add FOLDER to Excel's Trusted Locations")
    parser.add_argument("--unblock", metavar="FILE",
                        help="解除文件的\"来自网络\"锁定 (Windows) / remove the mark of the web from FILE")
    parser.add_argument("--dry-run", action="store_true", help="只显示将要做的事 / show what would be done")


def cli(args, ctx: Context) -> Result:
    return setup(ctx, Env.current(), name=args.name, role=args.role, trust=args.trust, unblock=args.unblock,
                 dry_run=args.dry_run)
