"""The xlwings adapter (book/live.py) through xlwings' object model, without Excel.

Each workbook file is handed to xlwings' remote engine as the JSON payload Excel would send; a ribbon
button runs through macros.click on it; the Excel actions it produces are replayed onto the file
(remote_excel.apply_actions, strict about text Excel would reinterpret) and compared with what the
`shipbook` command writes on the same file: the two paths share the business logic, so the books must
come out the same.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import remote_excel as rx
from conftest import good_line, read_orders, read_sheet, run_cli

from pyshipbook.book import live, xlsx
from pyshipbook.book.live import LiveBook, excel_busy, from_excel, to_excel
from pyshipbook.book.schema import LOG, ORDERS, SETTINGS, SHORTAGES, STOCK
from pyshipbook.sample import make_book, order_rows, write_export_csv, write_orders


# -- helpers -------------------------------------------------------------------------------------------------
def twin(path: Path) -> Path:
    """A copy of the book for the command-line path."""
    other = path.with_name("cli-" + path.name)
    shutil.copy(path, other)
    return other


def replayed(path: Path, actions) -> Path:
    out, _ = rx.replay_to_file(path, actions, path.with_name("excel-" + path.name))
    return out


def assert_same_books(cli_path: Path, excel_path: Path) -> None:
    assert read_orders(excel_path) == read_orders(cli_path)
    assert rx.rules_of_file(excel_path, ORDERS.name) == rx.rules_of_file(cli_path, ORDERS.name)
    assert read_sheet(excel_path, LOG.name) == read_sheet(cli_path, LOG.name)


def repeated_book(path: Path, copies: int, lines: int = 100) -> Path:
    """`copies` × the same `lines` sample lines (own order ids): same columns change at any size."""
    base = order_rows(lines)
    rows = [{**r, "order_id": f"{k:03d}{r['order_id']}"} for k in range(copies) for r in base]
    make_book(path)
    wb = openpyxl.load_workbook(path)
    write_orders(wb[ORDERS.name], rows)
    wb.save(path)
    return path


@pytest.fixture
def sample(tmp_path) -> Path:
    return make_book(tmp_path / "sample.xlsx", n_lines=200)


# -- the two paths write the same book -----------------------------------------------------------------------
def test_validate_in_excel_writes_what_the_command_writes(sample):
    cli = twin(sample)
    code, _ = run_cli("validate", cli)
    result, _, actions, ui = rx.click_on(sample, "sbValidate")
    assert result is not None and result.exit_code == code == 1
    out = replayed(sample, actions)
    assert_same_books(cli, out)
    checks = [r["check"] for r in read_orders(out)]
    assert checks.count("OK") > 150 and any("[phone.invalid]" in c for c in checks)
    assert ui.shown[-1][0] == "shipbook · 校验" and result.zh in ui.shown[-1][1]


def test_import_then_validate_in_excel_equal_the_commands(tmp_path):
    book = make_book(tmp_path / "book.xlsx")
    rows = order_rows(120)
    export = write_export_csv(tmp_path / "微信小店订单导出.csv", rows, encoding="gbk")
    cli = twin(book)
    run_cli("import", cli, export)
    result, _, actions, ui = rx.click_on(book, "sbImport", open_file=export)
    assert result is not None and result.data["added"] == len(rows), ui.shown
    after_import = replayed(book, actions)
    assert_same_books(cli, after_import)

    run_cli("validate", cli)
    result, _, actions, _ = rx.click_on(after_import, "sbValidate")
    assert result.data["lines"] == len(rows)
    assert_same_books(cli, replayed(after_import, actions))


def test_second_validate_writes_only_its_log_row(sample):
    _, _, actions, _ = rx.click_on(sample, "sbValidate")
    once = replayed(sample, actions)
    result, _, again, _ = rx.click_on(once, "sbValidate")
    assert result.data["cells_changed"] == 0
    writes = rx.range_writes(again)
    log_position = [ws.title for ws in openpyxl.load_workbook(once).worksheets].index(LOG.name)
    assert writes and all(a["sheet_position"] == log_position for a in writes), Counter(a["func"] for a in writes)
    assert Counter(a["func"] for a in writes) == {"setValues": 1, "setNumberFormat": 4}  # 1 row, 4 format runs


# -- Excel calls do not grow with the rows -------------------------------------------------------------------
def measured(path: Path, button: str, **kw):
    result, _, actions, _ = rx.click_on(path, button, **kw)
    return result, Counter(a["func"] for a in rx.range_writes(actions)), Counter(a["func"] for a in actions)


@pytest.mark.slow
def test_validate_makes_as_many_excel_writes_for_10000_lines_as_for_100(tmp_path):
    small, small_writes, small_all = measured(repeated_book(tmp_path / "s.xlsx", 1), "sbValidate")
    big, big_writes, big_all = measured(repeated_book(tmp_path / "b.xlsx", 100), "sbValidate")
    assert big.data["lines"] == 100 * small.data["lines"] >= 10_000
    assert big.data["cells_changed"] == 100 * small.data["cells_changed"] > 0  # the same work, 100 times over
    assert big_writes == small_writes and big_all == small_all
    assert sum(big_writes.values()) < 60, big_writes


@pytest.mark.slow
def test_import_makes_as_many_excel_writes_for_10000_lines_as_for_100(tmp_path):
    base = order_rows(100, problems=False)
    counts = []
    for copies in (1, 100):
        rows = [{**r, "order_id": f"{k:03d}{r['order_id']}"} for k in range(copies) for r in base]
        export = write_export_csv(tmp_path / f"export{copies}.csv", rows, encoding="gbk")
        book = make_book(tmp_path / f"book{copies}.xlsx")
        result, writes, everything = measured(book, "sbImport", open_file=export)
        assert result.data["added"] == 100 * copies
        counts.append((writes, everything))
    assert counts[0] == counts[1]
    assert sum(counts[0][0].values()) < 20, counts[0][0]


# -- text stays text, formulas stay formulas -----------------------------------------------------------------
def test_text_that_excel_would_reinterpret_is_written_as_text(book_with):
    lines = [good_line(order_id="A001", remark="=1+1", customer="@所有人", recipient=" 王芳 "),
             good_line(order_id="A002", remark="+86 138 0013 8000", customer="-老客户-", phone="013812345678",
                       sku="WS1002", unit_price=59.0, amount=118.0, product_name="玻尿酸补水面膜", spec="5片/盒"),
             good_line(order_id="A003", remark="2026/11/26", qty="两件", ordered_at="明天上午",
                       sku="WS1003", unit_price=168.0, amount=336.0, product_name="烟酰胺美白精华", spec="30ml")]
    path = book_with(lines)
    cli = twin(path)
    run_cli("validate", cli)
    _, _, actions, _ = rx.click_on(path, "sbValidate")
    out = replayed(path, actions)  # the replay refuses any string Excel would not keep as text
    assert_same_books(cli, out)
    rows = {r["order_id"]: r for r in read_orders(out)}
    assert rows["A001"]["remark"] == "=1+1" and rows["A001"]["customer"] == "@所有人"
    assert rows["A002"]["remark"] == "+86 138 0013 8000"
    assert rows["A003"]["qty"] == "两件" and rows["A003"]["ordered_at"] == "明天上午"
    # a text column gets the "@" format before its values; a number column's strings carry "'"
    formats = {}
    for a in actions:
        key = (a["sheet_position"], a["start_row"], a["start_column"])
        if a["func"] == "setNumberFormat":
            formats[key] = a["args"][0]
        elif a["func"] == "setValues" and a["column_count"] == 1 and a["sheet_position"] == 0:
            strings = [row[0] for row in a["values"] if isinstance(row[0], str)]
            if formats.get(key) == "@":
                continue
            assert formats.get(key) is not None, a
            assert all(s.startswith("'") for s in strings), (formats.get(key), strings)


def test_formula_cells_are_kept_and_formula_text_is_neutralised(book_with):
    # P = 金额 (a number column: its formula stays), S = 备注 (text: a formula there is made text)
    lines = [good_line(order_id="A001", amount="=N2*O2", remark="=A2"),
             good_line(order_id="A002", amount=None, sku="WS1002", unit_price=59.0, product_name="玻尿酸补水面膜",
                       spec="5片/盒")]
    path = book_with(lines, raw_cells=True)
    cached = {(ORDERS.name, 2, 16): 178.0, (ORDERS.name, 2, 19): "A001"}
    cli = twin(path)
    run_cli("validate", cli)
    _, _, actions, _ = rx.click_on(path, "sbValidate", cached=cached)
    assert any(a["func"] == "setFormula" and a["start_column"] == 15 for a in actions)  # 金额 kept its formula
    out = replayed(path, actions)
    ws = openpyxl.load_workbook(out)[ORDERS.name]
    assert ws["P2"].data_type == "f" and ws["P2"].value == "=N2*O2"
    assert ws["P3"].value == 118  # filled: qty × price
    assert ws["S2"].data_type == "s" and ws["S2"].value == "=A2"
    ref = openpyxl.load_workbook(cli)[ORDERS.name]
    assert (ref["P2"].value, ref["P3"].value, ref["S2"].value) == (ws["P2"].value, ws["P3"].value, ws["S2"].value)
    checks = {r["order_id"]: r["check"] for r in read_orders(out)}
    assert "[cell.formula]" in checks["A001"]


def test_a_text_constant_starting_with_equals_is_not_a_formula(book_with):
    path = book_with([good_line(remark="=HYPERLINK(\"http://example.com\",\"点我\")")])
    book = rx.remote_book(path)
    table = LiveBook(book).read_table(ORDERS)
    assert table.formula_cells == {}
    assert table.frame.at[2, "remark"].startswith("=HYPERLINK")


# -- reading: the same tables as the openpyxl adapter --------------------------------------------------------
def title_rows_book(tmp_path) -> Path:
    path = make_book(tmp_path / "titled.xlsx", n_lines=60)
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    ws.insert_rows(1, 2)
    ws["A1"] = "十一月订单"
    ws["C2"] = "导出于 2026-11-26"
    wb.save(path)
    return path


@pytest.mark.parametrize("make", ["sample", "titled", "sparse"])
def test_read_table_equals_the_openpyxl_adapter(tmp_path, make):
    if make == "sample":
        path = make_book(tmp_path / "s.xlsx", n_lines=200)
    elif make == "titled":
        path = title_rows_book(tmp_path)
    else:  # blank rows between lines, columns in another order, one missing
        path = tmp_path / "sparse.xlsx"
        make_book(path)
        wb = openpyxl.load_workbook(path)
        ws = wb[ORDERS.name]
        ws.delete_rows(1)
        keys = [k for k in reversed(ORDERS.keys) if k != "spec"]
        for c, k in enumerate(keys, 1):
            ws.cell(1, c, ORDERS.column(k).header)
        for r, line in ((2, good_line()), (5, good_line(order_id="A002", qty=3.0)), (9, good_line(order_id="A003"))):
            for c, k in enumerate(keys, 1):
                if line.get(k) is not None:
                    ws.cell(r, c, line[k])
        wb.save(path)
    excel = LiveBook(rx.remote_book(path))
    with xlsx.open_book(path, write=False) as book:
        for sheet in (ORDERS, STOCK, SETTINGS):
            want, got = book.read_table(sheet), excel.read_table(sheet)
            assert (got.header_row, got.present, got.formula_cells) == \
                (want.header_row, want.present, want.formula_cells), sheet.name
            pd.testing.assert_frame_equal(got.frame, want.frame, check_dtype=False)
        assert excel.read_settings() == book.read_settings()
    assert excel.writes == 0 and excel.reads <= 6  # values (and formulas) once per sheet


# -- writing details -----------------------------------------------------------------------------------------
def test_missing_columns_are_added_after_the_last_one(tmp_path):
    path = make_book(tmp_path / "narrow.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    ws.delete_cols(ORDERS.keys.index("status") + 1, len(ORDERS.keys))  # 状态, 校验结果 … gone
    lines = [good_line(), good_line(order_id="A002", phone="123")]
    for r, line in enumerate(lines, 2):
        for c, key in enumerate(ORDERS.keys[:ORDERS.keys.index("status")], 1):
            ws.cell(r, c, line.get(key))
    wb.save(path)
    cli = twin(path)
    run_cli("validate", cli)
    _, _, actions, _ = rx.click_on(path, "sbValidate")
    out = replayed(path, actions)
    assert_same_books(cli, out)
    headers = [c.value for c in openpyxl.load_workbook(out)[ORDERS.name][1]]
    assert headers[19:21] == ["状态", "校验结果"]  # after the last column the sheet had


def test_user_rules_are_kept_and_stale_rules_of_ours_replaced(sample):
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill
    wb = openpyxl.load_workbook(sample)
    ws = wb[ORDERS.name]
    fill = PatternFill("solid", fgColor="00B0F0", bgColor="00B0F0")
    ws.conditional_formatting.add("A2:A500", FormulaRule(formula=["LEN($A2)>14"], fill=fill))  # the user's own
    ws.conditional_formatting.add("Z2:Z1048576", FormulaRule(formula=['ISNUMBER(SEARCH("[old.code]",$U2))'],
                                                             fill=fill))  # ours, from an older version
    wb.save(sample)
    cli = twin(sample)
    run_cli("validate", cli)
    _, _, actions, _ = rx.click_on(sample, "sbValidate")
    out = replayed(sample, actions)
    rules = rx.rules_of_file(out, ORDERS.name)
    assert rules == rx.rules_of_file(cli, ORDERS.name)
    assert ("A2:A500", "LEN($A2)>14", False) in rules
    assert not any("old.code" in f for _, f, _ in rules)
    assert sum(a["func"] == "deleteConditionalFormat" for a in actions) == 1


def test_an_engine_without_synchronous_formula_and_rule_reads_still_validates(sample):
    cli = twin(sample)
    run_cli("validate", cli)
    result, _, actions, _ = rx.click_on(sample, "sbValidate", sync_reads=False)
    assert result.exit_code == 1
    assert any(a["func"] == "clearConditionalFormats" for a in actions)
    assert_same_books(cli, replayed(sample, actions))


def test_settings_and_replaced_rows_match_the_openpyxl_adapter(tmp_path):
    path = make_book(tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(ws.max_row, 1, -1):
        if ws.cell(r, 1).value == "截单时间":
            ws.delete_rows(r)
    wb.save(path)
    cli = twin(path)
    first = pd.DataFrame([["WS1001", "玫瑰精华面膜", 5, 2, 3, 10, 13, "A1, A2"],
                          ["WS1002", "=SUM(1)", 7, 0, 7, 5, 12, "A3"]], columns=SHORTAGES.keys[:8], dtype=object)
    second = first.iloc[:1].copy()
    second.loc[0, "demand"] = 6

    def work(book):
        book.write_setting("default_carrier", "ZTO")
        book.write_setting("cutoff", "15:30")  # its row is missing: appended
        book.replace_rows(SHORTAGES, first)
        book.replace_rows(SHORTAGES, second)
        return book.read_settings()

    with xlsx.open_book(cli) as book:
        want = work(book)
    excel = rx.remote_book(path)
    got = work(LiveBook(excel))
    assert got == want and got["default_carrier"] == "ZTO" and got["cutoff"] == "15:30"
    out = replayed(path, excel.json()["actions"])
    for sheet in (SETTINGS.name, SHORTAGES.name):
        # a save by the file adapter also gives the book its 工作簿编号 (book/revisions.py); Excel saves itself
        assert [r for r in read_sheet(out, sheet) if r[0] != "工作簿编号"] == \
            [r for r in read_sheet(cli, sheet) if r[0] != "工作簿编号"]


def test_a_missing_log_sheet_is_created(sample):
    wb = openpyxl.load_workbook(sample)
    del wb[LOG.name]
    wb.save(sample)
    cli = twin(sample)
    run_cli("validate", cli)
    _, _, actions, _ = rx.click_on(sample, "sbValidate")
    assert any(a["func"] == "addSheet" and a["args"][1] == LOG.name for a in actions)
    out = replayed(sample, actions)
    assert read_sheet(out, LOG.name) == read_sheet(cli, LOG.name)


# -- around the operation ------------------------------------------------------------------------------------
def test_screen_calculation_restored_in_order(sample):
    _, _, actions, _ = rx.click_on(sample, "sbValidate")
    funcs = [(a["func"], a["args"]) for a in actions if a["func"] in ("setScreenUpdating", "setCalculation")]
    assert funcs == [("setScreenUpdating", [False]), ("setCalculation", ["Manual"]),
                     ("setCalculation", ["Automatic"]), ("setScreenUpdating", [True])]
    first_write = next(i for i, a in enumerate(actions) if a["func"] in rx.RANGE_FUNCS)
    last_write = max(i for i, a in enumerate(actions) if a["func"] in rx.RANGE_FUNCS)
    assert [a["func"] for a in actions[:first_write]] == ["setScreenUpdating", "setCalculation"]
    assert [a["func"] for a in actions[last_write + 1:]] == ["setCalculation", "setScreenUpdating", "alert"]


class StubApp:
    """What COM offers: readable and settable application settings, a status bar, message boxes."""

    def __init__(self):
        self.screen_updating, self.calculation, self.enable_events = True, "semiautomatic", True
        self.status_bar = False
        self.log = []

    def __setattr__(self, name, value):
        if hasattr(self, "log"):
            self.log.append((name, value))
        object.__setattr__(self, name, value)

    def alert(self, prompt, title=None, buttons="ok", mode=None):
        self.log.append(("alert", title, mode))


def test_excel_busy_restores_every_setting_after_an_error():
    app = StubApp()
    with pytest.raises(RuntimeError):
        with excel_busy(app):
            assert (app.screen_updating, app.calculation, app.enable_events) == (False, "manual", False)
            raise RuntimeError("boom")
    assert (app.screen_updating, app.calculation, app.enable_events) == (True, "semiautomatic", True)


def test_status_bar_shows_progress_and_is_given_back():
    from pyshipbook.book.live import ExcelUI

    class Book:
        app = StubApp()
    ui = ExcelUI(Book())
    ui.progress(50, 200, "校验 / validating")
    assert Book.app.status_bar == "shipbook: 校验 / validating 50/200"
    ui.status(None)
    assert Book.app.status_bar is False  # Excel shows its own status again


# -- small parts ---------------------------------------------------------------------------------------------
def test_formats_and_colours_are_those_of_the_openpyxl_adapter():
    assert live.NUMBER_FORMATS == xlsx.NUMBER_FORMATS
    assert live.HEADER_SCAN_ROWS == xlsx.HEADER_SCAN_ROWS
    assert live.ERROR_FILL.lstrip("#") == xlsx.ERROR_FILL.fgColor.rgb[-6:]
    assert live.WARNING_FILL.lstrip("#") == xlsx.WARNING_FILL.fgColor.rgb[-6:]
    assert live.HEADER_FILL.lstrip("#") == xlsx.HEADER_FILL.fgColor.rgb[-6:]


@pytest.mark.parametrize("value,kind,sent", [
    ("=1+1", "text", "=1+1"), ("13812345678", "text", "13812345678"), ("两件", "integer", "'两件"),
    ("=1+1", "money", "'=1+1"), ("2026/11/26", "datetime", "'2026/11/26"), (None, "text", None),
    (2, "integer", 2), (dt.datetime(2026, 11, 26, 9, 30), "datetime", dt.datetime(2026, 11, 26, 9, 30)),
])
def test_values_sent_to_excel(value, kind, sent):
    assert to_excel(live._plain(value), kind) == sent


@pytest.mark.parametrize("read,seen", [(2.0, 2), (89.5, 89.5), ("", None), (float("nan"), None), ("a", "a"),
                                       (True, True), (1e15, 10 ** 15), (1e20, 1e20)])
def test_values_read_from_excel(read, seen):
    assert from_excel(read) == seen and type(from_excel(read)) is type(seen)


def test_control_characters_never_reach_a_cell():
    assert live._plain("a\x01b\x1fc\td") == "abc\td"
