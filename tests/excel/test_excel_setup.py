"""shipbook excel-setup: install layout, xlwings user config, identity, trusted location, unblocking.

The registry and NTFS streams are reached through small interfaces; here they are fakes, and the files are
written for real under tmp. What only Windows can run (winreg, the Zone.Identifier stream) is in the
manual check list of docs/USER-GUIDE.md.
"""

from __future__ import annotations

import datetime as dt
import sys
import tomllib
from pathlib import Path, PureWindowsPath

import pytest
from conftest import run_cli

from pyshipbook.build import XLWINGS_CONF
from pyshipbook.errors import ShipbookError
from pyshipbook.identity import Identity
from pyshipbook.ops import excel_setup as es
from pyshipbook.ops.common import Context

NOW = dt.datetime(2026, 11, 26, 15, 0)
TL = r"Software\Microsoft\Office\16.0\Excel\Security\Trusted Locations"


class FakeRegistry:
    def __init__(self, keys: dict[str, dict] | None = None):
        self.keys = {k: dict(v) for k, v in (keys or {}).items()}
        self.writes = []

    def subkeys(self, key):
        prefix = key + "\\"
        return sorted({k[len(prefix):].split("\\")[0] for k in self.keys if k.startswith(prefix)})

    def values(self, key):
        return dict(self.keys.get(key, {}))

    def set_value(self, key, name, value):
        self.writes.append((key, name, value))
        self.keys.setdefault(key, {})[name] = value


class FakeStreams:
    def __init__(self, marked: set[Path]):
        self.marked = set(marked)

    def read(self, path, stream):
        marked = stream == "Zone.Identifier" and path in self.marked
        return "[ZoneTransfer]\r\nZoneId=3\r\n" if marked else None

    def remove(self, path, stream):
        assert stream == "Zone.Identifier"
        self.marked.discard(path)


def office_keys(extra: dict | None = None) -> dict:
    keys = {r"Software\Microsoft\Office\15.0\Excel": {}, r"Software\Microsoft\Office\16.0\Excel": {},
            r"Software\Microsoft\Office\16.0\Word": {},
            TL + r"\Location0": {"Path": r"C:\Program Files\Microsoft Office\root\Templates\\", "AllowSubfolders": 1},
            TL + r"\Location1": {"Path": r"C:\Users\wf\AppData\Roaming\Microsoft\Excel\XLSTART\\"},
            TL + r"\Location5": {"Path": r"C:\Users\wf\AppData\Roaming\Microsoft\Templates\\"}}
    keys.update(extra or {})
    return keys


def win_env(tmp_path, registry=None, streams=None) -> es.Env:
    environ = {"LOCALAPPDATA": str(tmp_path / "Local"), "USERPROFILE": str(tmp_path / "wf"),
               "APPDATA": str(tmp_path / "Roaming")}
    return es.Env("win32", tmp_path / "wf", str(tmp_path / "Local" / "shipbook" / "venv" / "Scripts" / "python.exe"),
                  environ, registry if registry is not None else FakeRegistry(office_keys()), streams)


def ctx() -> Context:
    return Context(Identity("测试员"), NOW)


def install_python(env: es.Env) -> Path:
    python = es.layout(env).python_path
    python.parent.mkdir(parents=True)
    python.write_bytes(b"MZ")
    return python


def steps(result) -> dict[str, str]:
    return {s["step"]: s["status"] for s in result.data["steps"]}


# -- the layout is the workbook's ----------------------------------------------------------------------
def test_windows_layout_is_what_the_workbook_xlwings_conf_sheet_names(tmp_path):
    lay = es.layout(win_env(tmp_path))
    conf = dict(XLWINGS_CONF)
    assert lay.python == conf["Interpreter_Win"] == r"%LOCALAPPDATA%\shipbook\venv\Scripts\python.exe"
    assert lay.pythonpath == conf["PYTHONPATH"] == r"%LOCALAPPDATA%\shipbook\app"
    assert lay.python_path == tmp_path / "Local" / "shipbook" / "venv" / "Scripts" / "python.exe"
    assert lay.app_path == tmp_path / "Local" / "shipbook" / "app"
    assert lay.xlwings_conf == tmp_path / "wf" / ".xlwings" / "xlwings.conf"
    assert lay.interpreter_key == "INTERPRETER_WIN"


def test_first_run_on_windows_without_python_says_how_to_install(tmp_path):
    env = win_env(tmp_path)
    result = es.setup(ctx(), env)
    assert result.exit_code == 1 and steps(result)["interpreter"] == "todo"
    assert "py -3.11 -m venv" in result.en and "pip install" in result.en
    assert (tmp_path / "Local" / "shipbook" / "app").is_dir()


def test_windows_setup_writes_the_user_xlwings_config_and_keeps_other_keys(tmp_path):
    env = win_env(tmp_path)
    install_python(env)
    conf = tmp_path / "wf" / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes(b'"LICENSE_KEY","abc"\r\n"interpreter_win","C:\\old\\python.exe"\r\n')
    result = es.setup(ctx(), env)
    assert result.exit_code == 0, result.en
    assert steps(result) == {"interpreter": "ok", "app": "done", "xlwings_conf": "done", "identity": "ok"}
    assert conf.read_bytes() == (b'"LICENSE_KEY","abc"\r\n'
                                 b'"INTERPRETER_WIN","%LOCALAPPDATA%\\shipbook\\venv\\Scripts\\python.exe"\r\n'
                                 b'"PYTHONPATH","%LOCALAPPDATA%\\shipbook\\app"\r\n')
    before = conf.read_bytes()
    again = es.setup(ctx(), env)
    assert steps(again)["xlwings_conf"] == "ok" and steps(again)["app"] == "ok" and conf.read_bytes() == before


def test_xlwings_conf_lines_read_as_vba_input_reads_them(tmp_path):
    path = tmp_path / "xlwings.conf"
    path.write_text('"A","1"\n  "B" , "x y"\nnot a line\n', encoding="utf-8")
    assert es.read_xlwings_conf(path) == [("A", "1"), ("B", "x y")]
    with pytest.raises(ShipbookError):
        es.xlwings_conf_text([], {"PYTHONPATH": 'C:\\a"b'}, True)


def test_identity_is_written_and_other_settings_kept(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text('[user]\nname = "旧名"\n\n[smtp]\nhost = "smtp.example.com"\nport = 465\n', encoding="utf-8")
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(cfg))
    env = win_env(tmp_path)
    install_python(env)
    result = es.setup(ctx(), env, name="王芳", role="库管员")
    data = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert data == {"user": {"name": "王芳", "role": "库管员"}, "smtp": {"host": "smtp.example.com", "port": 465}}
    assert "王芳 (库管员)" in result.zh


def test_macos_writes_the_interpreter_where_excel_sandbox_reads_it(tmp_path):
    env = es.Env("darwin", tmp_path, "/opt/homebrew/bin/python3.11", {})
    result = es.setup(ctx(), env)
    conf = tmp_path / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
    assert result.exit_code == 0 and conf.read_text(encoding="utf-8").startswith(
        '"INTERPRETER_MAC","/opt/homebrew/bin/python3.11"\n')


def test_without_excel_only_identity_is_handled(tmp_path):
    result = es.setup(ctx(), es.Env("linux", tmp_path, sys.executable, {}), trust=str(tmp_path))
    assert result.exit_code == 0
    assert steps(result) == {"interpreter": "skipped", "identity": "ok", "trust": "skipped"}
    assert not (tmp_path / ".xlwings").exists()


# -- trusted locations ---------------------------------------------------------------------------------------
def test_a_trusted_location_is_added_once(tmp_path):
    registry = FakeRegistry(office_keys())
    env = win_env(tmp_path, registry)
    install_python(env)
    folder = tmp_path / "发货"
    result = es.setup(ctx(), env, trust=str(folder))
    assert steps(result)["trust"] == "done" and folder.is_dir()
    key = TL + r"\Location2"  # the first free number
    assert registry.keys[key] == {"Path": str(PureWindowsPath(folder)) + "\\", "AllowSubfolders": 1,
                                  "Description": "shipbook", "Date": "2026/11/26 15:00"}
    writes = len(registry.writes)
    again = es.setup(ctx(), env, trust=str(folder) + "\\")
    assert steps(again)["trust"] == "ok" and len(registry.writes) == writes


def test_an_existing_location_gets_subfolders_allowed(tmp_path):
    folder = r"D:\发货"
    registry = FakeRegistry(office_keys({TL + r"\Location9": {"Path": folder + "\\", "AllowSubfolders": 0}}))
    status, key = es.trusted_location(registry, folder, "16.0", now=NOW)
    assert status == "ok" and registry.keys[key]["AllowSubfolders"] == 1


def test_network_folders_are_not_trusted(tmp_path):
    registry = FakeRegistry(office_keys())
    env = win_env(tmp_path, registry)
    result = es.setup(ctx(), env, trust=r"\\server\share\发货")
    assert steps(result)["trust"] == "todo" and registry.writes == []


def test_office_version_is_the_newest_with_excel():
    assert es.office_version(FakeRegistry(office_keys())) == "16.0"
    assert es.office_version(FakeRegistry({r"Software\Microsoft\Office\15.0\Excel": {}})) == "15.0"
    assert es.office_version(FakeRegistry({})) == "16.0"


# -- mark of the web -------------------------------------------------------------------------------------------
def test_unblock_removes_the_zone_identifier(tmp_path):
    book = tmp_path / "shipbook.xlsm"
    book.write_bytes(b"PK")
    streams = FakeStreams({book})
    env = win_env(tmp_path, streams=streams)
    install_python(env)
    assert steps(es.setup(ctx(), env, unblock=str(book)))["unblock"] == "done"
    assert streams.marked == set()
    assert steps(es.setup(ctx(), env, unblock=str(book)))["unblock"] == "ok"


def test_unblock_needs_an_existing_file(tmp_path):
    with pytest.raises(ShipbookError):
        es.setup(ctx(), win_env(tmp_path, streams=FakeStreams(set())), unblock=str(tmp_path / "none.xlsm"))


# -- dry run, the command --------------------------------------------------------------------------------------
def test_dry_run_changes_nothing(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(cfg))
    book = tmp_path / "b.xlsm"
    book.write_bytes(b"PK")
    registry, streams = FakeRegistry(office_keys()), FakeStreams({book})
    env = win_env(tmp_path, registry, streams)
    result = es.setup(ctx(), env, name="王芳", trust=str(tmp_path / "t"), unblock=str(book), dry_run=True)
    assert result.data["dry_run"] and "试运行" in result.zh
    assert registry.writes == [] and streams.marked == {book} and not cfg.exists()
    assert not (tmp_path / "Local").exists() and not (tmp_path / "wf").exists() and not (tmp_path / "t").exists()


def test_the_command_runs_here(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    code, data = run_cli("excel-setup", "--dry-run", "--json")
    assert code == 0 and data["dry_run"] is True
    code, text = run_cli("excel-setup", "--dry-run")
    assert "Excel setup" in text and "Unblock" in text and "解除锁定" in text


@pytest.mark.skipif(sys.platform != "win32", reason="winreg and NTFS streams exist only on Windows")
def test_real_registry_and_streams_on_windows(tmp_path):  # pragma: no cover - Windows only
    reg = es.WinRegistry()
    key = r"Software\shipbook-test"
    reg.set_value(key, "Path", "x")
    assert reg.values(key)["Path"] == "x"
    f = tmp_path / "f.txt"
    f.write_text("x")
    with open(f"{f}:Zone.Identifier", "w") as s:
        s.write("[ZoneTransfer]\nZoneId=3\n")
    streams = es.NtfsStreams()
    assert "ZoneId=3" in streams.read(f, "Zone.Identifier")
    streams.remove(f, "Zone.Identifier")
    assert streams.read(f, "Zone.Identifier") is None
