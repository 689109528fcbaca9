"""Every ribbon button through macros.click, on sample workbooks, through xlwings' object model (remote engine).

A button whose ops module exists must do in Excel what its `shipbook` command does on the file; a
button whose module is not in this version must say so honestly and touch nothing. Inputs (ButtonInput),
errors and identity are checked here too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import types
from pathlib import Path

import openpyxl
import pytest
import remote_excel as rx
from conftest import NOW, read_sheet, run_cli

from pyshipbook import macros
from pyshipbook.buttons import BUTTONS, BY_ID
from pyshipbook.book.schema import LOG, ORDERS, SLIPS
from pyshipbook.ops.common import EXIT_OK, Result
from pyshipbook.sample import make_book, order_rows, write_export_csv


def ops_module(button):
    """The button's ops module if this version has it with its entry function (run() unless the button names
    another), found independently of macros.py."""
    name = f"pyshipbook.ops.{button.operation}"
    if importlib.util.find_spec(name) is None:
        return None
    mod = importlib.import_module(name)
    return mod if callable(getattr(mod, button.entry, None)) else None


LIVE = {b.id for b in BUTTONS if not b.operation or ops_module(b) is not None}


def click(path: Path, button_id: str, *, open_file=None, answers=(), **payload_kw):
    """rx.click_on with a UI that also answers input boxes (ask_text) from `answers`, in order.

    ui.prompts lists what was asked; an input box beyond the answers is cancelled."""
    from pyshipbook.book.live import ExcelUI
    book = rx.remote_book(path, **payload_kw)
    queue = list(answers)

    class UI(ExcelUI):
        asked: list[str] = []
        prompts: list[str] = []

        def ask_open_file(self, title, filters):
            self.asked.append(title)
            return str(open_file) if open_file else None

        def ask_text(self, title, prompt, default=""):
            self.prompts.append(prompt)
            return queue.pop(0) if queue else None

    ui = UI(book)
    result = macros.click(button_id, book=book, ui=ui)
    return result, book, book.json()["actions"], ui


def test_which_buttons_are_live_in_this_version():
    assert set(macros.live_buttons()) == LIVE
    assert {"sbImport", "sbValidate", "sbHelp"} <= LIVE  # this version's own operations
    for b in BUTTONS:
        assert macros.has_module(b) == (importlib.util.find_spec(f"pyshipbook.ops.{b.operation}") is not None
                                        if b.operation else True)


@pytest.mark.parametrize("button", [b for b in BUTTONS if b.id in LIVE and b.operation], ids=lambda b: b.id)
def test_every_live_button_gathers_what_its_operation_needs(button):
    # raises when a required parameter is not gathered
    macros.check_inputs(button, getattr(ops_module(button), button.entry))


def test_inputs_belong_to_buttons():
    assert set(macros.INPUTS) <= set(BY_ID)
    for inputs in macros.INPUTS.values():
        assert all(i.param.isidentifier() and callable(i.gather) and i.zh and i.en for i in inputs)


# -- a book with something for every button to do --------------------------------------------------------
def _flow_commands(book: Path) -> None:
    for command in ("validate", "allocate", "slips"):
        if any(getattr(ops_module(b), "COMMAND", None) == command for b in BUTTONS if b.operation):
            code, out = run_cli(command, book)
            assert code in (0, 1), out


@pytest.fixture(scope="module")
def flow_book(tmp_path_factory) -> Path:
    """Sample orders validated, allocated and put on slips (as far as this version goes)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHIPBOOK_NOW", NOW)
        cfg = tmp_path_factory.mktemp("cfg") / "config.toml"
        cfg.write_text('[user]\nname = "测试员"\nrole = "微商专员"\n', encoding="utf-8")
        mp.setenv("SHIPBOOK_CONFIG", str(cfg))
        path = make_book(tmp_path_factory.mktemp("flow") / "flow.xlsx", n_lines=200)
        _flow_commands(path)
    return path


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    return write_export_csv(tmp_path_factory.mktemp("export") / "微信小店订单导出.csv", order_rows(80, seed=5),
                            encoding="gbk")


def first_slip(path: Path) -> str | None:
    rows = read_sheet(path, SLIPS.name)
    return rows[1][0] if len(rows) > 1 and rows[1][0] else None


def all_sheets(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    # 版本 has a row per save by shipbook's file adapter (fresh ids each time); Excel's saves record none
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets
            if ws.title != "版本"}


def trimmed(rows: list[tuple]) -> list[tuple]:
    """Rows without trailing empty cells and trailing empty rows (files differ in their used range)."""
    out = [tuple(row[:max((i + 1 for i, v in enumerate(row) if v is not None), default=0)]) for row in rows]
    while out and not out[-1]:
        out.pop()
    return out


def first_order(path: Path) -> tuple[int, str] | None:
    """(row, 订单号) of the first order line on 订单."""
    rows = read_sheet(path, ORDERS.name)
    col = list(rows[0]).index("订单号")
    return next(((i, r[col]) for i, r in enumerate(rows[1:], 2) if r[col]), None)


# what each button is given in Excel: payload (active sheet, selection) and input-box answers
def excel_setup(button, book: Path) -> tuple[dict, list[str]]:
    if button.id in ("sbSign", "sbPrint", "sbReissue"):  # the first slip's row is selected on 出库单
        return {"active": SLIPS.name, "selection": "A2"}, (["1"] if button.id == "sbSign" else [])
    if button.id in ("sbTracking", "sbDelivered"):  # the first order's row is selected on 订单
        row, _ = first_order(book)
        return {"active": ORDERS.name, "selection": f"A{row}"}, (["SF1234567890123"] if button.id == "sbTracking"
                                                                 else [])
    if button.id == "sbExportShipped":
        return {}, ["1"]
    return {}, []


# which command line gives the same operation, for buttons with inputs
def cli_argv(button, book: Path, export: Path, slip: str | None):
    mod = ops_module(button)
    if button.id == "sbImport":
        return [mod.COMMAND, book, export]
    if button.id == "sbPrint":
        return [mod.COMMAND, book, slip]
    if button.id == "sbReissue":
        return ["slips", book, "--reissue", slip]
    if button.id == "sbSign":
        return [mod.COMMAND, book, slip, "--role", "finance"]   # 测试员 (微商专员) chose 1 = 财务总监
    if button.id == "sbWaybills":
        return [mod.COMMAND, book, "--out", book.parent]
    if button.id == "sbTracking":
        return [mod.COMMAND, book, "--order", first_order(book)[1], "--number", "SF1234567890123"]
    if button.id == "sbExportShipped":
        return [mod.COMMAND, book, "--platform", "wechat", "--out", book.parent]
    if button.id == "sbDelivered":
        return [mod.COMMAND, book, "--order", first_order(book)[1]]
    if button.id in macros.INPUTS:
        return None  # an input this test does not know how to pass on the command line
    return [mod.COMMAND, book]


@pytest.mark.parametrize("button", BUTTONS, ids=lambda b: b.id)
def test_every_button_through_excel(button, flow_book, export_file, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    slip = first_slip(book)
    kw, answers = excel_setup(button, book)
    result, xbook, actions, ui = click(book, button.id, open_file=export_file, answers=answers, **kw)
    texts = " ".join(t for _, t, _ in ui.shown)
    assert "Traceback" not in texts and "内部错误" not in texts, texts

    if not button.operation:  # 帮助
        assert result is None and len(ui.shown) == 1 and ui.shown[0][0] == "shipbook 帮助 / Help"
        assert rx.range_writes(actions) == []
        return
    if button.id not in LIVE:
        assert result is None and actions == [{**actions[0], "func": "alert"}]
        assert len(ui.shown) == 1
        title, text, mode = ui.shown[0]
        assert title == f"shipbook · {button.label}" and mode == "info"
        assert "尚不可用" in text and "not available in this version" in text and "工作簿未改动" in text
        return
    if button.id in ("sbSign", "sbPrint", "sbReissue") and slip is None:
        pytest.skip("this version makes no slips to select")
    assert result is not None, texts
    assert ui.shown[-1][0] == f"shipbook · {button.label}" and result.zh in ui.shown[-1][1]
    out, _ = rx.replay_to_file(book, actions, tmp_path / "excel.xlsx")

    (tmp_path / "cli").mkdir()
    shutil.copy(flow_book, tmp_path / "cli" / "book.xlsx")
    argv = cli_argv(button, tmp_path / "cli" / "book.xlsx", export_file, slip)
    if argv is None:
        return
    code, printed = run_cli(*argv)
    assert code == result.exit_code, printed
    want, got = all_sheets(argv[1]), all_sheets(out)
    assert list(got) == list(want)
    for name in want:
        assert trimmed(got[name]) == trimmed(want[name]), name


def test_dashboard_draws_its_chart_in_excel(flow_book, tmp_path):
    dashboard = BY_ID["sbDashboard"]
    if ops_module(dashboard) is None:
        pytest.skip("no dashboard in this version")
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    _, _, actions, _ = rx.click_on(book, "sbDashboard")
    funcs = [a["func"] for a in actions]
    assert "addChart" in funcs and "setChartXAxisValues" in funcs and "setChartTitle" in funcs


# -- ButtonInput ----------------------------------------------------------------------------------------
def test_import_cancelled_in_the_dialog_does_nothing(tmp_path):
    book = make_book(tmp_path / "book.xlsx")
    result, _, actions, ui = rx.click_on(book, "sbImport", open_file=None)
    assert result is None and actions == [] and ui.shown == []
    assert ui.asked and "选择订单导出文件" in ui.asked[-1]


def test_import_of_a_file_that_is_not_an_export_is_refused_before_anything_changes(tmp_path):
    book = make_book(tmp_path / "book.xlsx")
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF-1.4")
    result, _, actions, ui = rx.click_on(book, "sbImport", open_file=bad)
    assert result is None and [a["func"] for a in actions] == ["alert"]
    title, text, mode = ui.shown[-1]
    assert mode == "critical" and "出错 / error" in title and "工作簿未改动" in text


def fake_sign(calls):
    def run(book, ctx, slip_no, role):
        calls.append((slip_no, role))
        return Result("sign", EXIT_OK, f"已签字 {slip_no}", f"signed {slip_no}")
    return types.SimpleNamespace(run=run, COMMAND="sign")


def slips_book(tmp_path) -> Path:
    path = make_book(tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[SLIPS.name]
    ws.append(["CK20261126-001", None, 3])
    ws.append(["CK20261126-002", None, 1])
    ws.append([None, "2026-11-26"])
    wb.save(path)
    return path


def test_sign_reads_the_slip_of_the_selected_row(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(macros, "load_operation", lambda b: fake_sign(calls) if b.id == "sbSign" else None)
    path = slips_book(tmp_path)
    result, _, _, ui = click(path, "sbSign", active=SLIPS.name, selection="C3", answers=["2"])
    assert calls == [("CK20261126-002", "logistics")] and result.en == "signed CK20261126-002", ui.shown


@pytest.mark.parametrize("active,selection,says", [
    (ORDERS.name, "A2", "请先在「出库单」表中点选"),   # not on 出库单
    (SLIPS.name, "A4", "第 4 行没有出库单号"),        # a row without a slip number
    (SLIPS.name, "A1", "第 1 行没有出库单号"),        # the header
])
def test_sign_explains_what_to_select(tmp_path, monkeypatch, active, selection, says):
    calls = []
    monkeypatch.setattr(macros, "load_operation", lambda b: fake_sign(calls) if b.id == "sbSign" else None)
    result, _, actions, ui = rx.click_on(slips_book(tmp_path), "sbSign", active=active, selection=selection)
    assert result is None and calls == [] and rx.range_writes(actions) == []
    title, text, mode = ui.shown[-1]
    assert mode == "critical" and says in text and "select the row of the slip" in text


def test_an_operation_whose_inputs_do_not_match_says_so(tmp_path, monkeypatch):
    def run(book, ctx, slip_no, role, stamp):  # a version of sign that also needs a stamp
        raise AssertionError("must not run")
    monkeypatch.setattr(macros, "load_operation", lambda b: types.SimpleNamespace(run=run))
    result, _, actions, ui = click(slips_book(tmp_path), "sbSign", active=SLIPS.name, selection="A2", answers=["1"])
    assert result is None and [a["func"] for a in actions] == ["alert"]
    assert "+stamp" in ui.shown[-1][1] and "do not match" in ui.shown[-1][1]


@pytest.mark.parametrize("selection", ["A1:A1048576", "A1:Z40"])
def test_delivered_refuses_a_whole_column_selection(tmp_path, monkeypatch, selection):
    calls = []
    monkeypatch.setattr(macros, "load_operation",
                        lambda b: types.SimpleNamespace(run=lambda book, ctx, **kw: calls.append(kw)))
    result, _, actions, ui = rx.click_on(make_book(tmp_path / "b.xlsx"), "sbDelivered", active=ORDERS.name,
                                         selection=selection)
    assert result is None and calls == [] and rx.range_writes(actions) == []
    assert "whole column" in ui.shown[-1][1]


# -- errors never become tracebacks ---------------------------------------------------------------------------
def test_unknown_button(tmp_path):
    result, _, _, ui = rx.click_on(make_book(tmp_path / "b.xlsx"), "sbNoSuchThing")
    assert result is None and "unknown button" in ui.shown[-1][1]


def test_a_shipbook_error_is_a_bilingual_message_and_the_book_is_untouched(tmp_path):
    path = make_book(tmp_path / "b.xlsx")
    wb = openpyxl.load_workbook(path)
    wb[ORDERS.name].delete_cols(6)  # 电话 gone: validate cannot run
    wb.save(path)
    result, _, actions, ui = rx.click_on(path, "sbValidate")
    assert result is None and rx.range_writes(actions) == []
    title, text, mode = ui.shown[-1]
    assert mode == "critical" and "缺少列: 电话" in text and "lacks column(s): phone" in text
    assert "工作簿未改动 / The workbook was not changed." in text
    settings = [(a["func"], a["args"]) for a in actions if a["func"] != "alert"]
    assert settings == [("setScreenUpdating", [False]), ("setCalculation", ["Manual"]),
                        ("setCalculation", ["Automatic"]), ("setScreenUpdating", [True])]


def test_an_internal_error_names_a_log_and_restores_excel(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    from pyshipbook.ops import validate

    def broken(*a, **kw):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(validate, "validate_lines", broken)
    result, _, actions, ui = rx.click_on(make_book(tmp_path / "b.xlsx", n_lines=50), "sbValidate")
    assert result is None
    title, text, mode = ui.shown[-1]
    assert mode == "critical" and "内部错误 ZeroDivisionError: boom" in text and "Internal error" in text
    assert "Traceback" not in text
    log = tmp_path / "local" / "shipbook" / "last-error.txt"
    assert str(log) in text and "Traceback" in log.read_text(encoding="utf-8")
    assert [a["func"] for a in actions][-3:] == ["setCalculation", "setScreenUpdating", "alert"]


def test_an_error_after_writes_says_the_book_may_be_partly_changed(tmp_path, monkeypatch):
    from pyshipbook.ops import validate

    def broken(*a, **kw):
        raise KeyboardInterrupt()
    monkeypatch.setattr(validate, "log_operation", broken)
    result, _, actions, ui = rx.click_on(make_book(tmp_path / "b.xlsx", n_lines=50), "sbValidate")
    assert result is None and rx.range_writes(actions)
    assert "可能已部分修改" in ui.shown[-1][1] and "close it without saving" in ui.shown[-1][1]


def test_click_without_excel_returns_quietly():
    assert macros.click("sbValidate") is None  # xw.Book.caller() fails outside Excel: no exception


# -- identity, help, summaries -----------------------------------------------------------------------------------
def test_log_rows_name_the_configured_user(tmp_path):
    _, _, actions, _ = rx.click_on(make_book(tmp_path / "b.xlsx", n_lines=50), "sbValidate")
    out, _ = rx.replay_to_file(tmp_path / "b.xlsx", actions, tmp_path / "out.xlsx")
    assert read_sheet(out, LOG.name)[-1][1] == "测试员"


def test_without_a_config_the_windows_user_name_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(tmp_path / "none.toml"))
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "wangfang")
    _, _, actions, _ = rx.click_on(make_book(tmp_path / "b.xlsx", n_lines=50), "sbValidate")
    out, _ = rx.replay_to_file(tmp_path / "b.xlsx", actions, tmp_path / "out.xlsx")
    assert read_sheet(out, LOG.name)[-1][1] == "wangfang"


def test_help_lists_what_works_and_who_you_are(tmp_path):
    _, _, _, ui = rx.click_on(make_book(tmp_path / "b.xlsx"), "sbHelp")
    text = ui.shown[-1][1]
    assert "导入" in text.split("可用 / available:")[1].split("\n")[0]
    assert "测试员 (微商专员)" in text and "shipbook 0." in text and "docs/USER-GUIDE.md" in text


def test_summary_lists_the_first_problems_and_reminds_to_save(tmp_path):
    result, _, _, ui = rx.click_on(make_book(tmp_path / "b.xlsx", n_lines=200), "sbValidate")
    text = ui.shown[-1][1]
    assert text.startswith(result.zh) and result.en in text
    assert text.count("行 row ") == macros.MAX_PROBLEMS_SHOWN and "more" in text
    assert "请保存工作簿 (Ctrl+S)" in text and ui.shown[-1][2] == "critical"  # errors found: warning icon


def test_no_message_box_is_too_long_for_excel(tmp_path):
    from pyshipbook.book.live import ExcelUI

    class App:
        def alert(self, prompt, title=None, mode=None):
            self.prompt = prompt

    book = types.SimpleNamespace(app=App())
    ExcelUI(book).message("t", "长" * 5000)
    assert len(book.app.prompt) <= 1000


def test_the_error_log_lives_in_local_app_data(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    assert macros.error_log_path() == os.path.join(str(tmp_path), "shipbook", "last-error.txt")


def test_printing_a_big_slip_makes_as_many_excel_calls_as_a_small_one(tmp_path):
    printing, slips = BY_ID["sbPrint"], next((b for b in BUTTONS if b.operation == "slips"), None)
    if ops_module(printing) is None or slips is None or ops_module(slips) is None:
        pytest.skip("no slips to print in this version")
    counts = []
    for max_orders in (3, 60):  # the print sheet is brought to the front afterwards
        book = make_book(tmp_path / f"b{max_orders}.xlsx", n_lines=200)
        for argv in (["validate", book], ["allocate", book], ["slips", book, "--max-orders", max_orders]):
            run_cli(*argv)
        result, _, actions, _ = rx.click_on(book, "sbPrint", active=SLIPS.name, selection="A2")
        assert result is not None and result.exit_code == 0
        assert [a["func"] for a in actions][-2:] == ["activateSheet", "alert"]
        counts.append((result.rows, sorted((a["func"], a["row_count"] is None) for a in actions)))
    assert counts[0][0] < 10 < 50 < counts[1][0]  # slip lines
    assert counts[0][1] == counts[1][1]


# -- the shipping buttons (签字, 生成运单, 登记快递单号, 导出批量发货, 签收) through Excel ------------------------
def set_config(monkeypatch, tmp_path, name: str, role: str) -> None:
    cfg = tmp_path / f"cfg-{name}.toml"
    cfg.write_text(f'[user]\nname = "{name}"\nrole = "{role}"\n', encoding="utf-8")
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(cfg))


def set_settings(path: Path, values: dict[str, str]) -> None:
    from pyshipbook.book.schema import SETTING_BY_KEY, SETTINGS
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        for key, value in values.items():
            if ws.cell(r, 1).value == SETTING_BY_KEY[key].item:
                ws.cell(r, 2, value)
    wb.save(path)


def test_sign_takes_the_role_from_the_users_config(flow_book, tmp_path, monkeypatch):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    set_config(monkeypatch, tmp_path, "钱总", "物流总监")
    result, _, _, ui = click(book, "sbSign", active=SLIPS.name, selection="A2")
    assert ui.prompts == [] and result.exit_code == 0
    assert (result.data["role"], result.data["signer"]) == ("logistics", "钱总")


def test_sign_takes_the_role_settings_name_the_user_for(flow_book, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    set_settings(book, {"signer_finance": "李财务", "signer_logistics": "测试员"})
    result, _, _, ui = click(book, "sbSign", active=SLIPS.name, selection="A2")
    assert ui.prompts == [] and (result.data["role"], result.data["outcome"]) == ("logistics", "accepted")


def test_sign_asks_for_the_role_and_a_cancel_changes_nothing(flow_book, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    result, _, actions, ui = click(book, "sbSign", active=SLIPS.name, selection="A2", answers=[])
    assert result is None and rx.range_writes(actions) == [] and ui.shown == []
    assert "财务总监" in ui.prompts[0] and "物流总监" in ui.prompts[0]
    result, _, actions, ui = click(book, "sbSign", active=SLIPS.name, selection="A2", answers=["会计"])
    assert result is None and rx.range_writes(actions) == []
    assert "不是签字角色" in ui.shown[-1][1] and "not a signing role" in ui.shown[-1][1]


def test_a_refused_signature_says_why_in_excel(flow_book, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    set_settings(book, {"signer_finance": "李财务"})
    result, _, _, ui = click(book, "sbSign", active=SLIPS.name, selection="A2", answers=["1"])
    assert result.exit_code == 1 and result.data["code"] == "sign.wrong_person"
    title, text, mode = ui.shown[-1]
    assert mode == "critical" and "签字被拒绝" in text and "sign.wrong_person" in text


def test_tracking_by_hand_cancelled_or_on_a_blank_row(flow_book, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    row, order_id = first_order(book)
    result, _, actions, ui = click(book, "sbTracking", active=ORDERS.name, selection=f"A{row}", answers=[])
    assert result is None and rx.range_writes(actions) == [] and order_id in ui.prompts[0]
    assert ui.asked == []  # no file dialog when an order row is selected
    result, _, actions, ui = click(book, "sbTracking", active=ORDERS.name, selection="A1")
    assert result is None and "没有订单号" in ui.shown[-1][1]
    result, _, actions, ui = click(book, "sbTracking", active=SLIPS.name, selection="A2", open_file=None)
    assert result is None and actions == [] and ui.asked  # elsewhere: the file dialog, cancelled


def test_export_to_an_unknown_platform_is_refused_before_anything_changes(flow_book, tmp_path):
    book = tmp_path / "book.xlsx"
    shutil.copy(flow_book, book)
    result, _, actions, ui = click(book, "sbExportShipped", answers=["拼多多"])
    assert result is None and rx.range_writes(actions) == []
    assert "未知的平台" in ui.shown[-1][1] and "unknown platform" in ui.shown[-1][1]


def sheets_equal(a: Path, b: Path) -> None:
    want, got = all_sheets(b), all_sheets(a)
    assert list(got) == list(want)
    for name in want:
        assert trimmed(got[name]) == trimmed(want[name]), name


def file_cells(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path).active
    assert all(c.number_format == "@" for row in ws.iter_rows() for c in row)
    return [tuple(c.value for c in row) for row in ws.iter_rows()]


def test_the_shipping_day_through_excel_does_what_the_commands_do(flow_book, tmp_path):
    """签字 → 生成运单 → 登记快递单号 → 导出批量发货 → 签收: each click, replayed onto the file, leaves the
    book as the command does on a copy; the files written beside the book are the same."""
    excel, cli = tmp_path / "excel" / "books" / "book.xlsx", tmp_path / "cli" / "books" / "book.xlsx"
    for p in (excel, cli):
        p.parent.mkdir(parents=True)
        shutil.copy(flow_book, p)
    slip = first_slip(excel)

    def step(button_id, argv, *, answers=(), open_file=None, **payload):
        result, _, actions, ui = click(excel, button_id, answers=answers, open_file=open_file, **payload)
        assert result is not None, ui.shown
        assert ui.shown[-1][0] == f"shipbook · {BY_ID[button_id].label}" and result.zh[:200] in ui.shown[-1][1]
        rx.replay_to_file(excel, actions, excel)
        code, printed = run_cli(argv[0], cli, *argv[1:])
        assert code == result.exit_code, printed
        sheets_equal(excel, cli)
        return result

    r = step("sbSign", ["sign", slip, "--role", "finance"], answers=["1"], active=SLIPS.name, selection="A2")
    assert r.exit_code == 0 and r.data["missing_roles"] == ["物流总监"]
    for p in (excel, cli):
        assert run_cli("sign", p, slip, "--role", "logistics", "--as", "赵物流")[0] == 0

    r = step("sbWaybills", ["waybills", "--out", cli.parent])
    assert r.exit_code == 0 and r.data["added"] and r.data["refused"] == []
    name = Path(r.data["file"]["file"]).name
    assert name == "运单-SF-20261126-1500.xlsx" and (excel.parent / name).exists()
    assert file_cells(excel.parent / name) == file_cells(cli.parent / name)
    added = r.data["added"]

    result_file = tmp_path / "顺丰回单.csv"
    import csv
    with open(result_file, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["用户订单号", "运单号", "快递公司"])
        for i, oid in enumerate(added):
            w.writerow([oid, f"SF1{i:012d}", "顺丰速运"])
    r = step("sbTracking", ["tracking", "--import", result_file], open_file=result_file, active=SLIPS.name)
    assert r.exit_code == 0 and set(r.data["shipped_orders"]) == set(added)

    r = step("sbExportShipped", ["export-shipped", "--platform", "wechat", "--out", cli.parent], answers=["1"])
    assert r.data["orders"] == len(added)
    name = Path(r.data["file"]["file"]).name
    assert file_cells(excel.parent / name) == file_cells(cli.parent / name)
    assert file_cells(excel.parent / name)[1] == (added[0], "SF", "SF1000000000000")

    rows = [i for i, row in enumerate(read_sheet(excel, ORDERS.name), 1) if row[0] == added[0]]
    assert rows == list(range(rows[0], rows[-1] + 1))
    r = step("sbDelivered", ["delivered", "--order", added[0]], active=ORDERS.name,
             selection=f"B{rows[0]}:D{rows[-1]}")
    assert r.exit_code == 0 and r.data["delivered_orders"] == [added[0]]
    assert {row[ORDERS.keys.index("status")] for row in read_sheet(excel, ORDERS.name) if row[0] == added[0]} \
        == {"已签收"}


# -- 重开出库单 and 完成订单: the two commands that had no button -------------------------------------------------
def test_reissue_and_close_completed_are_buttons_running_their_commands_code():
    import zipfile

    from lxml import etree

    from pyshipbook.ops import close_completed, reissue, slips
    reissue_button, close_button = BY_ID["sbReissue"], BY_ID["sbCloseCompleted"]
    assert (reissue_button.group, reissue_button.label) == ("grpSlips", "重开出库单")
    assert (close_button.group, close_button.label) == ("grpShip", "完成订单")
    assert {"sbReissue", "sbCloseCompleted"} <= set(macros.live_buttons())
    # the very functions the command runs: `slips --reissue` calls reissue.reissue, close-completed run()
    assert "from .reissue import reissue" in Path(slips.__file__).read_text(encoding="utf-8")
    assert getattr(macros.load_operation(reissue_button), reissue_button.entry) is reissue.reissue
    assert getattr(macros.load_operation(close_button), close_button.entry) is close_completed.run
    assert [i.param for i in macros.INPUTS["sbReissue"]] == ["slip_no"] and "sbCloseCompleted" not in macros.INPUTS
    # on the ribbon of the committed workbook, in their groups, calling the one VBA callback
    root = Path(__file__).resolve().parents[2]
    with zipfile.ZipFile(root / "shipbook.xlsm") as z:
        ui = etree.fromstring(z.read("customUI/customUI.xml"))
    found = {b.get("id"): (b.getparent().get("id"), b.get("label"), b.get("onAction"))
             for b in ui.iter("{*}button")}
    assert found["sbReissue"] == ("grpSlips", "重开出库单", "ShipbookButton")
    assert found["sbCloseCompleted"] == ("grpShip", "完成订单", "ShipbookButton")


def edit_first_line_of(path: Path, slip: str) -> str:
    """One less of the first line on `slip` (a line with 2 or more): the slip's content changed after it was
    signed. Returns the order id."""
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    col = {h: i for i, h in enumerate(c.value for c in ws[1])}
    for row in ws.iter_rows(min_row=2):
        if row[col["出库单号"]].value == slip and isinstance(row[col["数量"]].value, int) and \
                row[col["数量"]].value > 1:
            row[col["数量"]].value -= 1
            wb.save(path)
            return row[col["订单号"]].value
    raise AssertionError(f"no line with 2 or more on {slip}")


def test_reissue_of_the_selected_slip_does_what_the_command_does(flow_book, tmp_path):
    """Signed, then an order on it edited: 重开出库单 on the slip's row (any cell of it) re-issues that slip,
    replayed onto the file it equals `shipbook slips BOOK --reissue SLIP` on a copy."""
    excel, cli = tmp_path / "excel" / "book.xlsx", tmp_path / "cli" / "book.xlsx"
    for p in (excel, cli):
        p.parent.mkdir()
        shutil.copy(flow_book, p)
    slip = first_slip(excel)
    for p in (excel, cli):
        assert run_cli("sign", p, slip, "--role", "finance", "--as", "李财务")[0] == 0
        edit_first_line_of(p, slip)
    result, _, actions, ui = click(excel, "sbReissue", active=SLIPS.name, selection="D2")
    assert result is not None and result.exit_code == 0, ui.shown
    assert (result.data["outcome"], result.data["slip_no"]) == ("reissued", slip)
    title, text, mode = ui.shown[-1]
    assert title == "shipbook · 重开出库单" and mode == "info" and result.zh in text and result.en in text
    assert "Traceback" not in text and "请保存工作簿 (Ctrl+S)" in text
    assert [a["func"] for a in actions][-2:] == ["activateSheet", "alert"]  # 出库单打印 to the front
    rx.replay_to_file(excel, actions, excel)

    code, printed = run_cli("slips", cli, "--reissue", slip)
    assert code == result.exit_code == 0, printed
    sheets_equal(excel, cli)
    from pyshipbook.book.schema import SIGNATURES
    assert [r[-1] for r in read_sheet(excel, SIGNATURES.name)[1:] if r[0] == slip] == ["失效"]
    assert [r[2] for r in read_sheet(excel, LOG.name)[-2:]] == ["print", "reissue"]


@pytest.mark.parametrize("active,selection,says,en", [
    (ORDERS.name, "A2", "请先在「出库单」表中点选要重开出库单的出库单所在的行", "select the row of the slip"),
    (SLIPS.name, "A2:A3", "一次只能重开出库单一张", "one slip at a time"),   # two slips' rows
    (SLIPS.name, "C2:F4", "一次只能重开出库单一张", "one slip at a time"),   # a block over three rows
    (SLIPS.name, "A1:A1048576", "一次只能重开出库单一张", "one slip at a time"),  # the whole column
    (SLIPS.name, "A1", "第 1 行没有出库单号", "select the row of the slip"),  # the header
    (SLIPS.name, "B4", "第 4 行没有出库单号", "select the row of the slip"),  # a row without a slip number
])
def test_reissue_refuses_a_selection_that_is_not_one_slip_row(tmp_path, active, selection, says, en):
    result, _, actions, ui = click(slips_book(tmp_path), "sbReissue", active=active, selection=selection)
    assert result is None and rx.range_writes(actions) == [] and [a["func"] for a in actions] == ["alert"]
    title, text, mode = ui.shown[-1]
    assert (title, mode) == ("shipbook · 重开出库单 · 出错 / error", "critical")
    assert says in text and en in text and "工作簿未改动 / The workbook was not changed." in text
    assert "Traceback" not in text and "内部错误" not in text


@pytest.mark.parametrize("button,label", [("sbSign", "签字"), ("sbPrint", "打印")])
@pytest.mark.parametrize("selection", ["A2:A3", "C2:F4", "A1:A1048576"])
def test_sign_and_print_refuse_several_slip_rows_instead_of_taking_the_first(tmp_path, button, label, selection):
    result, _, actions, ui = click(slips_book(tmp_path), button, active=SLIPS.name, selection=selection)
    assert result is None and rx.range_writes(actions) == [] and [a["func"] for a in actions] == ["alert"]
    title, text, mode = ui.shown[-1]
    assert (title, mode) == (f"shipbook · {label} · 出错 / error", "critical")
    assert f"一次只能{label}一张" in text and "one slip at a time" in text
    assert "工作簿未改动 / The workbook was not changed." in text


def test_reissue_takes_one_row_even_over_several_cells(tmp_path, monkeypatch):
    calls = []

    def fake(book, ctx, slip_no):
        calls.append(slip_no)
        return Result("reissue", EXIT_OK, f"重开 {slip_no}", f"re-issued {slip_no}")
    monkeypatch.setattr(macros, "load_operation", lambda b: types.SimpleNamespace(reissue=fake))
    result, _, _, ui = click(slips_book(tmp_path), "sbReissue", active=SLIPS.name, selection="B3:G3")
    assert calls == ["CK20261126-002"] and result.en == "re-issued CK20261126-002", ui.shown


@pytest.mark.parametrize("address,several", [
    ("$A$2", False), ("$B$3:$G$3", False), ("$A$2,$D$2", False), ("出库单!$A$2", False),
    ("$A$2,$A$5", True), ("$A$2:$A$3", True), ("$A:$A", True), ("$A$2,$A:$A", True),
])
def test_several_rows_are_seen_in_a_selection_of_several_areas(address, several):
    """Under COM a Ctrl+click selection's shape is its first area's only: the address tells the rest."""
    selection = types.SimpleNamespace(shape=(1, 1), address=address)
    ui = types.SimpleNamespace(book=types.SimpleNamespace(selection=selection),
                               selected_cell=lambda: (SLIPS.name, 2))
    assert macros.several_rows_selected(ui) is several
    if several:
        with pytest.raises(macros.ShipbookError, match="一次只能重开出库单一张"):
            macros.one_selected_slip(None, ui, BY_ID["sbReissue"])


def mark_delivered(path: Path) -> dict[str, str]:
    """Orders of the book made 已签收 at various times, one with an after-sales line, one without a time."""
    import datetime as dt
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    col = {h: i for i, h in enumerate(c.value for c in ws[1])}
    ids = [r[col["订单号"]].value for r in ws.iter_rows(min_row=2) if r[col["订单号"]].value]
    orders = list(dict.fromkeys(ids))
    after_sales = next(o for o in orders if ids.count(o) > 1)  # one line in 售后, the other 已签收
    orders.remove(after_sales)
    plan = {orders[0]: dt.datetime(2026, 11, 10, 9, 0), orders[1]: dt.datetime(2026, 11, 15, 18, 30),
            orders[2]: dt.datetime(2026, 11, 24, 12, 0), after_sales: dt.datetime(2026, 11, 1, 8, 0),
            orders[3]: None}
    seen = set()
    for row in ws.iter_rows(min_row=2):
        oid = row[col["订单号"]].value
        if oid in plan:
            first = oid not in seen
            seen.add(oid)
            row[col["状态"]].value = "售后" if oid == after_sales and first else "已签收"
            row[col["签收时间"]].value = plan[oid]
    wb.save(path)
    return {"old": orders[0], "mid": orders[1], "recent": orders[2], "after_sales": after_sales,
            "no_time": orders[3]}


@pytest.mark.parametrize("settings,done", [({}, ["old", "mid"]), ({"complete_after_days": "14"}, ["old"])])
def test_close_completed_click_does_what_the_command_does(flow_book, tmp_path, settings, done):
    excel, cli = tmp_path / "excel" / "book.xlsx", tmp_path / "cli" / "book.xlsx"
    excel.parent.mkdir()
    shutil.copy(flow_book, excel)
    which = mark_delivered(excel)
    set_settings(excel, settings)
    cli.parent.mkdir()
    shutil.copy(excel, cli)

    result, _, actions, ui = click(excel, "sbCloseCompleted")
    assert result is not None and result.exit_code == 0, ui.shown
    assert result.data["completed_orders"] == [which[k] for k in done]
    assert result.data["held_by_after_sales"] == [which["after_sales"]]
    assert {p["order_id"] for p in result.data["problems"]} == {which["no_time"]}  # one per line
    title, text, mode = ui.shown[-1]
    assert title == "shipbook · 完成订单" and result.zh in text and result.en in text and "Traceback" not in text
    rx.replay_to_file(excel, actions, excel)

    code, printed = run_cli("close-completed", cli)
    assert code == result.exit_code, printed
    sheets_equal(excel, cli)
    status = {}
    for row in read_sheet(excel, ORDERS.name)[1:]:
        status.setdefault(row[0], set()).add(row[ORDERS.keys.index("status")])
    assert {k: status[v] for k, v in which.items()} == {
        **{k: {"已签收"} for k in ("old", "mid", "recent", "no_time")}, "after_sales": {"售后", "已签收"},
        **{k: {"已完成"} for k in done}}
    # a second click changes nothing but adds its 日志 row
    result, _, actions, _ = click(excel, "sbCloseCompleted")
    log_position = [ws.title for ws in openpyxl.load_workbook(excel).worksheets].index(LOG.name)
    writes = rx.range_writes(actions)
    assert result.data["completed_orders"] == [] and writes
    assert all(a["sheet_position"] == log_position for a in writes)
