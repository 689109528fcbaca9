"""daily (订货明细单) on real workbook files: windows across days, COD, statuses, re-runs, empty days, refusals."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import openpyxl
import pytest
from conftest import good_line, read_sheet, run_cli

from pyshipbook.book.schema import DAILY, LOG, SETTING_BY_KEY, SETTINGS

T = dt.datetime
HEADER = tuple(c.header for c in DAILY.columns)
COL = {k: i for i, k in enumerate(DAILY.keys)}


def line(order_id: str, paid_at, status: str = "待配货", **over) -> dict:
    """A validated paid line (the state validate leaves a clean line in)."""
    over = {"check": "OK", **over}
    return good_line(order_id=order_id, paid_at=paid_at, ordered_at=(paid_at - dt.timedelta(minutes=5))
                     if isinstance(paid_at, dt.datetime) else T(2026, 11, 26, 9), status=status, **over)


def set_setting(path: Path, key: str, value: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    item = SETTING_BY_KEY[key].item
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == item:
            ws.cell(r, 2).value = value
            ws.cell(r, 2).data_type = "s"
            break
    else:
        ws.append([item, value])
    wb.save(path)


def daily(path, *args):
    code, data = run_cli("daily", path, "--json", *args)
    assert isinstance(data, dict), data
    return code, data


def sheet_rows(path) -> list[tuple]:
    rows = read_sheet(path, DAILY.name)
    assert rows[0][:len(HEADER)] == HEADER
    return [r[:len(HEADER)] for r in rows[1:] if any(v is not None for v in r)]


def block(path, day: dt.date) -> list[tuple]:
    return [r for r in sheet_rows(path) if isinstance(r[0], dt.datetime) and r[0].date() == day]


def listed_ids(rows) -> list[str]:
    return [r[COL["order_id"]] for r in rows if r[COL["order_id"]] not in ("小计", "合计")]


def total_row(rows) -> tuple:
    (t,) = [r for r in rows if r[COL["order_id"]] == "合计"]
    return t


# -- the window --------------------------------------------------------------------
def test_cutoff_window_across_days_boundaries_included_once(book_with):
    path = book_with([
        line("D25-1400", T(2026, 11, 25, 14, 0, 0)),       # 11-25's last moment
        line("D26-1400+1", T(2026, 11, 25, 14, 0, 1)),     # first moment of 11-26's window
        line("D26-0935", T(2026, 11, 26, 9, 35)),
        line("D26-1400", T(2026, 11, 26, 14, 0, 0)),       # exactly at the cut-off: today
        line("D27-1400+1", T(2026, 11, 26, 14, 0, 1)),     # one second later: tomorrow
        line("D27-2359", T(2026, 11, 26, 23, 59, 59)),
    ])
    results = {}
    for day in ("2026-11-26", "2026-11-25", "2026-11-27"):  # any order: windows do not depend on it
        code, data = daily(path, "--date", day)
        assert code == 0, data
        results[day] = data
    assert [x["order_id"] for x in results["2026-11-25"]["listed"]] == ["D25-1400"]
    assert [x["order_id"] for x in results["2026-11-26"]["listed"]] == ["D26-1400+1", "D26-0935", "D26-1400"]
    assert [x["order_id"] for x in results["2026-11-27"]["listed"]] == ["D27-1400+1", "D27-2359"]
    assert results["2026-11-26"]["window"] == {"start": "2026-11-25 14:00:00", "end": "2026-11-26 14:00:00"}

    rows = sheet_rows(path)
    days = [r[0].date() for r in rows]
    assert days == sorted(days)  # blocks in date order, whatever order they were made in
    assert listed_ids(block(path, dt.date(2026, 11, 26))) == ["D26-1400+1", "D26-0935", "D26-1400"]
    every = listed_ids(rows)
    assert sorted(every) == sorted(["D25-1400", "D26-1400+1", "D26-0935", "D26-1400", "D27-1400+1", "D27-2359"])
    assert len(every) == len(set(every))  # each line on exactly one day
    # every row of a block carries the day's cut-off moment
    assert {r[0] for r in block(path, dt.date(2026, 11, 26))} == {T(2026, 11, 26, 14, 0)}


def test_cod_lines_are_placed_by_order_time(book_with):
    cod = dict(payment_status="货到付款", status="待配货", check="OK")
    path = book_with([
        good_line(order_id="COD-IN", ordered_at=T(2026, 11, 26, 13, 59), paid_at=None, **cod),
        good_line(order_id="COD-LATE", ordered_at=T(2026, 11, 26, 14, 0, 1), paid_at=None, **cod),
        # a COD line with a stray payment time inside the window is still placed by its order time
        good_line(order_id="COD-OLD", ordered_at=T(2026, 11, 24, 10, 0), paid_at=T(2026, 11, 26, 10, 0), **cod),
    ])
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0
    assert [(x["order_id"], x["by"]) for x in data["listed"]] == [("COD-IN", "ordered_at")]
    code, data = daily(path, "--date", "2026-11-27")
    assert [x["order_id"] for x in data["listed"]] == ["COD-LATE"]


@pytest.mark.parametrize("status,listed", [
    ("待配货", True), ("缺货", True), ("已配货", True), ("已开单", True), ("待发货", True), ("已发货", True),
    ("已签收", True), ("已完成", True), ("售后", True),
    ("已取消", False), ("校验失败", False), ("待校验", False), ("待付款", False), (None, False), ("搞错了", False),
])
def test_which_statuses_are_listed(book_with, status, listed):
    path = book_with([line("A1", T(2026, 11, 26, 10, 0), status=status)])
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0
    assert [x["order_id"] for x in data["listed"]] == (["A1"] if listed else [])
    assert listed_ids(block(path, dt.date(2026, 11, 26))) == (["A1"] if listed else [])
    if not listed:
        assert [x["order_id"] for x in data["not_listed"]] == ["A1"]


def test_cancelled_and_failed_lines_are_reported_not_listed(book_with):
    path = book_with([
        line("OK1", T(2026, 11, 26, 10, 0)),
        line("X1", T(2026, 11, 26, 10, 5), status="已取消"),
        line("F1", T(2026, 11, 26, 10, 6), status="校验失败", check="缺少收件人 [recipient.missing]"),
        line("F2", T(2026, 11, 26, 10, 7), status="校验失败"),
    ])
    code, text = run_cli("daily", path, "--date", "2026-11-26")
    assert code == 0
    assert "时段内另有 3 行未列入" in text and "已取消 1" in text and "校验失败 2" in text
    assert listed_ids(block(path, dt.date(2026, 11, 26))) == ["OK1"]


def test_totals_per_product_and_overall(book_with):
    path = book_with([
        line("A1", T(2026, 11, 26, 9, 0), qty=2, unit_price=89.0, amount=178.0),
        line("A1", T(2026, 11, 26, 9, 0), sku="WS1002", product_name="玻尿酸补水面膜", spec="5片/盒", qty=1,
             unit_price=59.0, amount=59.0),
        line("B2", T(2026, 11, 26, 11, 0), qty=3, unit_price=80.1, amount=240.3, recipient="李雷",
             address="浙江省杭州市临平区南苑街道人民大道1号"),
        line("C3", T(2026, 11, 26, 12, 0), qty=1, unit_price=89.0, amount=None),  # amount from qty × price
    ])
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0
    assert (data["orders"], data["lines"], data["qty"], data["amount"]) == (3, 4, 7, 566.3)
    rows = block(path, dt.date(2026, 11, 26))
    lines = [r for r in rows if r[COL["order_id"]] not in ("小计", "合计")]
    assert lines[0][1:] == ("A1", "玫瑰精华面膜 10片/盒", 2, 89, 178, "广东省深圳市南山区科技园南区高新南七道8号", "王芳")
    assert lines[2][COL["recipient"]] == "李雷"
    subtotals = {r[COL["product_name"]]: (r[COL["qty"]], r[COL["unit_price"]], r[COL["amount"]])
                 for r in rows if r[COL["order_id"]] == "小计"}
    assert subtotals == {"玫瑰精华面膜 10片/盒": (6, None, pytest.approx(507.3)),  # two prices: no single price
                         "玻尿酸补水面膜 5片/盒": (1, 59, 59)}
    total = total_row(rows)
    assert total[COL["product_name"]] == "3 单 4 行"
    assert (total[COL["qty"]], total[COL["amount"]]) == (7, pytest.approx(566.3))
    assert "2026-11-25 14:00" in total[COL["address"]] and "2026-11-26 14:00" in total[COL["address"]]
    # block order: lines, then 小计 rows, then the 合计 row last
    assert [r[COL["order_id"]] for r in rows] == ["A1", "A1", "B2", "C3", "小计", "小计", "合计"]


def test_address_gets_province_and_city_when_the_detail_lacks_them(book_with):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0), province="广东省", city="深圳市", district="南山区",
                           address="科技园南区高新南七道8号")])
    daily(path, "--date", "2026-11-26")
    (r,) = [r for r in block(path, dt.date(2026, 11, 26)) if r[1] == "A1"]
    assert r[COL["address"]] == "广东省深圳市南山区科技园南区高新南七道8号"


# -- re-runs and empty days ---------------------------------------------------------------
def test_rerun_replaces_the_days_block_and_leaves_other_days_alone(book_with):
    path = book_with([line("A1", T(2026, 11, 25, 10, 0)), line("B1", T(2026, 11, 26, 10, 0))])
    daily(path, "--date", "2026-11-25")
    daily(path, "--date", "2026-11-26")
    day25 = block(path, dt.date(2026, 11, 25))
    first = sheet_rows(path)
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0 and data["block_changed"] is False
    assert sheet_rows(path) == first  # nothing duplicated

    wb = openpyxl.load_workbook(path)  # a late order paid in the window, then the re-run
    from pyshipbook.book.schema import ORDERS
    from pyshipbook.sample import write_orders
    write_orders(wb[ORDERS.name], [line("B2", T(2026, 11, 26, 13, 0), qty=5, amount=445.0)], start_row=4)
    wb.save(path)
    code, data = daily(path, "--date", "2026-11-26")
    assert data["block_changed"] is True
    assert listed_ids(block(path, dt.date(2026, 11, 26))) == ["B1", "B2"]
    assert total_row(block(path, dt.date(2026, 11, 26)))[COL["qty"]] == 7
    assert block(path, dt.date(2026, 11, 25)) == day25
    assert [r[1] for r in sheet_rows(path)].count("合计") == 2


def test_empty_day_is_a_block_of_one_total_row_and_an_attachment(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 20, 10, 0))])
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0
    assert (data["orders"], data["lines"], data["qty"], data["amount"]) == (0, 0, 0, 0)
    rows = block(path, dt.date(2026, 11, 26))
    assert len(rows) == 1
    assert rows[0][1:6] == ("合计", "0 单 0 行", 0, None, 0)
    att = tmp_path / "订货明细单-2026-11-26.xlsx"
    assert data["attachment"] == str(att)
    got = [r for r in openpyxl.load_workbook(att)[DAILY.name].iter_rows(values_only=True)]
    assert got[0] == HEADER and got[1][1:6] == ("合计", "0 单 0 行", 0, None, 0)
    code, _ = daily(path, "--date", "2026-11-26")  # re-run of an empty day: still one row
    assert len(block(path, dt.date(2026, 11, 26))) == 1


def test_attachment_holds_exactly_the_block(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0)), line("B1", T(2026, 11, 26, 10, 0), qty=1, amount=89.0)])
    out = tmp_path / "sub" / "清单.xlsx"
    out.parent.mkdir()
    code, data = daily(path, "--date", "2026-11-26", "--out", out)
    assert code == 0 and data["attachment"] == str(out)
    ws = openpyxl.load_workbook(out)[DAILY.name]
    got = [r for r in ws.iter_rows(values_only=True)]
    assert got[0] == HEADER
    assert got[1:] == block(path, dt.date(2026, 11, 26))
    assert not (tmp_path / "订货明细单-2026-11-26.xlsx").exists()


@pytest.mark.parametrize("option", ["--out", "--eml"])
def test_the_book_itself_is_never_an_output(book_with, option):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    set_setting(path, "mail_to", "wuliu@example.com")
    before = path.read_bytes()
    code, text = run_cli("daily", path, option, path)
    assert code == 2 and option in text and path.read_bytes() == before


def test_default_date_is_today_and_the_log_row_names_it(book_with):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    code, data = daily(path)
    assert code == 0 and data["date"] == "2026-11-26" and data["before_cutoff"] is False
    log = read_sheet(path, LOG.name)
    assert len(log) == 2
    assert log[1][2:6] == ("daily", "2026-11-26 截至14:00", 1, "ok")


def test_before_the_cutoff_the_list_says_it_may_grow(book_with, monkeypatch):
    monkeypatch.setenv("SHIPBOOK_NOW", "2026-11-26T10:00:00")
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    code, text = run_cli("daily", path)
    assert code == 0 and "截单时间 14:00 未到" in text and "may still grow" in text


# -- the cut-off -----------------------------------------------------------------------
def test_cutoff_comes_from_settings_and_can_be_overridden(book_with):
    path = book_with([line("A1", T(2026, 11, 26, 15, 0)), line("B1", T(2026, 11, 26, 15, 31))])
    set_setting(path, "cutoff", "15:30")
    code, data = daily(path, "--date", "2026-11-26")
    assert data["cutoff"] == "15:30" and [x["order_id"] for x in data["listed"]] == ["A1"]
    assert block(path, dt.date(2026, 11, 26))[0][0] == T(2026, 11, 26, 15, 30)
    code, data = daily(path, "--date", "2026-11-27", "--cutoff", "16:00")
    assert data["window"]["start"] == "2026-11-26 15:30:00"  # from the previous block, not 16:00
    assert [x["order_id"] for x in data["listed"]] == ["B1"]


def test_a_changed_cutoff_neither_repeats_nor_skips_lines(book_with):
    path = book_with([line("A1", T(2026, 11, 25, 13, 0)), line("B1", T(2026, 11, 25, 14, 30)),
                      line("C1", T(2026, 11, 26, 14, 45))])
    daily(path, "--date", "2026-11-25")                 # cut at 14:00
    set_setting(path, "cutoff", "15:00")
    code, data = daily(path, "--date", "2026-11-26")    # from 11-25 14:00 (recorded) to 11-26 15:00
    assert [x["order_id"] for x in data["listed"]] == ["B1", "C1"]
    assert sorted(listed_ids(sheet_rows(path))) == ["A1", "B1", "C1"]


def test_recutting_a_day_that_a_later_list_starts_from_is_refused(book_with):
    path = book_with([line("A1", T(2026, 11, 25, 13, 0))])
    daily(path, "--date", "2026-11-25")
    daily(path, "--date", "2026-11-26")
    before = path.read_bytes()
    code, text = run_cli("daily", path, "--date", "2026-11-25", "--cutoff", "16:00")
    assert code == 2 and "--cutoff 14:00" in text and text.count("\n") == 1
    assert path.read_bytes() == before
    code, _ = run_cli("daily", path, "--date", "2026-11-25", "--cutoff", "14:00")
    assert code == 0


@pytest.mark.parametrize("setting", ["25:00", "下午两点", "14:75"])
def test_unreadable_cutoff_setting_exits_2_and_leaves_the_book(book_with, setting):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    set_setting(path, "cutoff", setting)
    before = path.read_bytes()
    code, text = run_cli("daily", path)
    assert code == 2 and "截单时间" in text and "Traceback" not in text and text.count("\n") == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("value,expected", [("14:00", "14:00"), ("14点", "14:00"), ("１４：３０", "14:30"),
                                            (dt.time(13, 45), "13:45")])
def test_cutoff_setting_forms(book_with, value, expected):
    path = book_with([])
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "截单时间":
            ws.cell(r, 2).value = value
    wb.save(path)
    code, data = daily(path)
    assert code == 0 and data["cutoff"] == expected


def test_bad_date_option_exits_2(book_with):
    path = book_with([])
    code, text = run_cli("daily", path, "--date", "2026-13-01")
    assert code == 2 and "--date" in text and text.count("\n") == 1


# -- lines that missed their day --------------------------------------------------------
def test_lines_of_the_previous_day_on_no_list_are_pointed_out(book_with):
    path = book_with([line("LATE", T(2026, 11, 25, 10, 0)), line("A1", T(2026, 11, 26, 10, 0))])
    code, data = daily(path, "--date", "2026-11-26")
    assert code == 0
    assert [x["order_id"] for x in data["previous_day_unlisted"]] == ["LATE"]
    code, text = run_cli("daily", path, "--date", "2026-11-26")
    assert "--date 2026-11-25" in text
    daily(path, "--date", "2026-11-25")
    code, data = daily(path, "--date", "2026-11-26")
    assert data["previous_day_unlisted"] == []


def test_a_line_fixed_after_its_days_list_is_pointed_out(book_with):
    path = book_with([line("A1", T(2026, 11, 25, 9, 0)), line("FIX", T(2026, 11, 25, 10, 0), status="校验失败")])
    daily(path, "--date", "2026-11-25")
    wb = openpyxl.load_workbook(path)  # fixed and validated the next morning
    from pyshipbook.book.schema import ORDERS
    ws = wb[ORDERS.name]
    ws.cell(3, ORDERS.keys.index("status") + 1).value = "待配货"
    wb.save(path)
    code, data = daily(path, "--date", "2026-11-26")
    assert [x["order_id"] for x in data["previous_day_unlisted"]] == ["FIX"]


# -- integration with validate, refusals ----------------------------------------------------
def test_after_validate_the_list_holds_the_clean_lines(book_with):
    path = book_with([good_line(order_id="A1"), good_line(order_id="B1", phone="123"),
                      good_line(order_id="U1", payment_status="未付款", paid_at=None),
                      good_line(order_id="C1", payment_status="货到付款", paid_at=None)])
    assert run_cli("validate", path)[0] == 1
    code, data = daily(path)
    assert [x["order_id"] for x in data["listed"]] == ["C1", "A1"]  # by time: C1 ordered 9:30, A1 paid 9:35
    # U1 has no payment time: it is in no window until it is paid
    assert {x["order_id"]: x["reason"] for x in data["not_listed"]} == {"B1": "校验失败"}


def test_daily_refuses_a_book_open_in_excel(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    owner = path.with_name("~$" + path.name)
    owner.write_bytes(b"\x00" * 165)
    before = path.read_bytes()
    code, text = run_cli("daily", path)
    assert code == 2 and "Excel" in text and text.count("\n") == 1
    assert path.read_bytes() == before
    assert not (tmp_path / "订货明细单-2026-11-26.xlsx").exists()


def test_attachment_open_in_excel_is_refused_and_the_book_left(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    (tmp_path / "~$订货明细单-2026-11-26.xlsx").write_bytes(b"x")
    before = path.read_bytes()
    code, text = run_cli("daily", path)
    assert code == 2 and text.count("\n") == 1
    assert path.read_bytes() == before


def test_a_book_without_the_daily_sheet_gets_it(book_with):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    wb = openpyxl.load_workbook(path)
    del wb[DAILY.name]
    wb.save(path)
    code, data = daily(path)
    assert code == 0
    assert listed_ids(block(path, dt.date(2026, 11, 26))) == ["A1"]


# -- the message file (no sending) -------------------------------------------------------------
def test_eml_needs_the_logistics_address(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    before = path.read_bytes()
    code, text = run_cli("daily", path, "--eml", tmp_path / "m.eml")
    assert code == 2 and "物流组邮箱" in text and text.count("\n") == 1
    assert path.read_bytes() == before and not (tmp_path / "m.eml").exists()


@pytest.mark.parametrize("key,value", [("mail_to", "wuliu@example"), ("mail_to", "a@example.com, 张三"),
                                       ("mail_cc", "jianguan@@example.com")])
def test_malformed_address_is_refused(book_with, tmp_path, key, value):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0))])
    set_setting(path, "mail_to", "wuliu@example.com")
    set_setting(path, key, value)
    before = path.read_bytes()
    code, text = run_cli("daily", path, "--eml", tmp_path / "m.eml")
    assert code == 2 and SETTING_BY_KEY[key].item in text and text.count("\n") == 1
    assert path.read_bytes() == before


def test_eml_is_a_complete_message_with_the_attachment(book_with, tmp_path):
    path = book_with([line("A1", T(2026, 11, 26, 9, 0)), line("B1", T(2026, 11, 26, 10, 0), qty=1, amount=89.0)])
    set_setting(path, "mail_to", "物流组 <wuliu@example.com>；wl2@example.com")
    set_setting(path, "mail_cc", "jianguan@example.com，boss@example.cn")
    eml = tmp_path / "订货明细单.eml"
    code, data = daily(path, "--eml", eml)
    assert code == 0 and data["eml"] == str(eml)
    raw = eml.read_bytes()
    assert raw.startswith(b"X-Unsent: 1\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF everywhere
    assert max(len(x) for x in raw.split(b"\r\n")) <= 998 and raw.isascii()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == ["wuliu@example.com", "wl2@example.com"]
    assert msg["To"].addresses[0].display_name == "物流组"
    assert [a.addr_spec for a in msg["Cc"].addresses] == ["jianguan@example.com", "boss@example.cn"]
    assert str(msg["Subject"]) == "订货明细单 2026-11-26 (截至14:00)"
    assert "共 2 单, 2 行, 合计 3 件, 金额 267.00 元" in msg.get_body(("plain",)).get_content()
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "订货明细单-2026-11-26.xlsx"
    assert att.get_content() == Path(data["attachment"]).read_bytes()
