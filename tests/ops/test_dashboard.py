"""dashboard (看板) on a real workbook: every figure checked against the orders, the chart in the saved file."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from conftest import good_line, read_sheet, run_cli

from pyshipbook.book.schema import DASHBOARD, LOG, SHORTAGES, SLIPS, TRACKING

T = dt.datetime  # the clock is pinned at 2026-11-26 15:00
EARLIER = T(2026, 11, 20, 9, 0)


def L(order_id, status, paid_at=EARLIER, **over) -> dict:
    return good_line(order_id=order_id, status=status, ordered_at=paid_at - dt.timedelta(minutes=5)
                     if paid_at else EARLIER, paid_at=paid_at, **over)


ORDERS = [
    L("A1", "待配货", T(2026, 11, 26, 9, 0)),
    L("A1", "待配货", T(2026, 11, 26, 9, 0), sku="WS1002"),
    L("B1", "校验失败", T(2026, 11, 26, 10, 0)),
    L("C1", "已配货"),
    L("C1", "缺货", sku="WS1005"),
    L("D1", "已取消", T(2026, 11, 26, 11, 0)),                 # paid today but cancelled: not counted
    L("E1", "已取消"),
    L("E1", "待发货", sku="WS1002"),
    L("S1", "已发货", shipped_at=T(2026, 11, 20, 10, 0), carrier="SF", tracking_no="SF1234567890123"),
    L("S2", "已发货", shipped_at=T(2026, 11, 22, 16, 0), carrier="ZTO", tracking_no="73100000000001"),
    L("S3", "已发货", shipped_at=T(2026, 11, 21, 12, 0)),       # has a tracking event
    L("S4", "已发货", shipped_at=T(2026, 11, 23, 16, 0)),       # under 3 days: not yet an anomaly
    L("S5", "已发货", T(2026, 11, 25, 9, 0), shipped_at=T(2026, 11, 26, 11, 0)),
    L("S5", "已发货", T(2026, 11, 25, 9, 0), shipped_at=T(2026, 11, 26, 11, 0), sku="WS1002"),
    L("G1", "已签收", shipped_at=T(2026, 11, 24, 9, 0), delivered_at=T(2026, 11, 26, 10, 0)),
    L("H1", "已完成", shipped_at=T(2026, 11, 10, 9, 0), delivered_at=T(2026, 11, 12, 9, 0)),
    good_line(order_id="COD1", status="待配货", payment_status="货到付款", ordered_at=T(2026, 11, 26, 8, 0),
              paid_at=None),
    good_line(order_id="U1", status="待付款", payment_status="未付款", paid_at=None, ordered_at=EARLIER),
    L("N1", None),
    L("Z1", "搞错了"),
]

SLIP_ROWS = [  # 出库单号, 日期, 订单数, 件数, 金额, 制单人, 财务, 财务时间, 物流, 物流时间, 指纹, 状态
    ("CK20261126-001", T(2026, 11, 26, 9), 2, 5, 500.0, "库管", "财务甲", T(2026, 11, 26, 11), "物流乙",
     T(2026, 11, 26, 12), "f1", "已签"),
    ("CK20261126-002", T(2026, 11, 26, 10), 1, 1, 89.0, "库管", "财务甲", T(2026, 11, 26, 11, 30), None, None,
     "f2", "待签"),
    ("CK20261125-001", T(2026, 11, 25, 16), 3, 4, 300.0, "库管", None, None, None, None, "f3", "待签"),
    ("CK20261125-002", T(2026, 11, 25, 17), 1, 1, 59.0, "库管", None, None, None, None, "f4", "已作废"),
    ("CK20261124-001", T(2026, 11, 24, 9), 1, 2, 178.0, "库管", "财务甲", T(2026, 11, 24, 10), "物流乙",
     T(2026, 11, 24, 11), "f5", "已签"),
]
TRACKING_ROWS = [  # 订单号, 快递公司, 快递单号, 时间, 事件
    ("S3", "SF", "SF1234567890999", T(2026, 11, 21, 18), "已揽收"),
    ("S2", "ZTO", "73100000000001", None, None),  # a number logged, no event yet
]
SHORTAGE_ROWS = [  # 商品编码, 商品名称, 缺货需求, 可用, 缺口, 安全库存, 建议生产/采购, 等待订单, 类型
    ("WS1005", "防晒喷雾SPF50", 10, 4, 6, 20, 26, "C1", "缺货"),
    ("WS1010", "手工红糖姜茶", 3, 0, None, 5, 8, None, None),   # no 类型 (older sheet): a shortage
    ("WS1020", "充电宝", 0, 3, 0, 10, 7, None, "补货"),          # below safety stock, nobody waiting
]


@pytest.fixture
def book(book_with):
    path = book_with(ORDERS)
    wb = openpyxl.load_workbook(path)
    for sheet, rows in ((SLIPS, SLIP_ROWS), (TRACKING, TRACKING_ROWS), (SHORTAGES, SHORTAGE_ROWS)):
        for r in rows:
            wb[sheet.name].append(list(r))
    wb.save(path)
    return path


def board(path) -> dict[str, tuple]:
    rows = read_sheet(path, DASHBOARD.name)
    assert rows[0][:3] == ("项目", "数值", "说明")
    return {r[0]: (r[1], r[2]) for r in rows[1:] if r[0] is not None}


def value(b, item):
    return b[item][0]


def test_figures_match_the_orders(book):
    code, data = run_cli("dashboard", book, "--json")
    assert code == 0, data
    b = board(book)
    lines = {"待校验": 1, "校验失败": 1, "待付款": 1, "待配货": 3, "缺货": 1, "已配货": 1, "已开单": 0, "待发货": 1,
             "已发货": 6, "已签收": 1, "已完成": 1, "已取消": 2, "售后": 0, "搞错了": 1}
    assert {s: value(b, f"行 · {s}") for s in lines} == lines
    assert value(b, "行 · 合计") == len(ORDERS) == 20
    assert b["行 · 搞错了"][1] == "不在流程中的状态"
    orders = {"待校验": 1, "校验失败": 1, "待付款": 1, "待配货": 2, "缺货": 1, "已配货": 0, "已开单": 0,
              "待发货": 1, "已发货": 5, "已签收": 1, "已完成": 1, "已取消": 1, "售后": 0, "搞错了": 1}
    assert {s: value(b, f"订单 · {s}") for s in orders} == orders  # C1 is 缺货, E1 待发货 (cancelled line ignored)
    assert value(b, "订单 · 合计") == 16
    assert data["lines_by_status"] == lines and data["orders_by_status"] == orders

    # today
    assert b["今日付款 (订单)"] == (3, "4 行; 货到付款按下单时间")  # A1 (2 lines), B1, COD1; not the cancelled D1
    assert b["已配货待开单 (订单)"][0] == 1
    assert b["今日开单 (出库单)"] == (2, "3 单, 6 件")
    assert b["今日签字 (次)"] == (3, "其中 1 张出库单今日签齐")
    assert b["今日发货 (订单)"] == (1, "2 行")
    assert b["今日签收 (订单)"] == (1, "1 行")

    # shortages
    assert b["缺货商品 (SKU)"] == (2, "缺货状态的订单行 1 行, 1 单")
    assert b["缺货 · WS1005 防晒喷雾SPF50"] == (6, "缺口; 需求 10, 可用 4, 建议生产/采购 26; 等待订单 C1")
    assert value(b, "缺货 · WS1010 手工红糖姜茶") == 3  # no 缺口 given: demand − available
    assert value(b, "需补货商品 (SKU)") == 1
    assert b["补货 · WS1020 充电宝"] == (7, "建议生产/采购; 可用 3, 安全库存 10")

    # slips waiting for a signature (the voided one is not waiting)
    assert b["待签字出库单"] == (2, "待财务总监 1, 待物流总监 2")
    assert b["待签字 · CK20261126-002"][1].startswith("等待 物流总监 签字")
    assert b["待签字 · CK20261125-001"][1].startswith("等待 财务总监、物流总监 签字")
    assert "待签字 · CK20261125-002" not in b and "待签字 · CK20261124-001" not in b

    # shipped over 3 days ago, no tracking event: S1 (6 days), S2 (3 days 23 h; a number but no event)
    assert value(b, "发货超时无跟踪 (订单)") == 2
    assert value(b, "异常 · S1") == 6 and "SF1234567890123" in b["异常 · S1"][1]
    assert value(b, "异常 · S2") == 3
    assert [s["order_id"] for s in data["stale_shipments"]] == ["S1", "S2"]

    # the last 14 days' shipments, orders by 发货时间 date (S5's two lines are one order)
    series = {(dt.date(2026, 11, 13) + dt.timedelta(days=i)).strftime("%m-%d"): 0 for i in range(14)}
    series.update({"11-20": 1, "11-21": 1, "11-22": 1, "11-23": 1, "11-24": 1, "11-26": 1})
    assert {k: value(b, k) for k in series} == series
    assert [x["orders"] for x in data["shipments"]] == list(series.values())


def _chart_parts(path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))


def test_the_chart_is_in_the_saved_file_and_draws_the_series(book):
    assert run_cli("dashboard", book)[0] == 0
    wb = openpyxl.load_workbook(book)  # opened again from disk
    ws = wb[DASHBOARD.name]
    (chart,) = ws._charts
    assert isinstance(chart, openpyxl.chart.BarChart)
    assert chart.title.tx.rich.p[0].r[0].t == "近14天发货 (订单数)"
    (series,) = chart.series
    m = re.fullmatch(r"'看板'!\$B\$(\d+):\$B\$(\d+)", series.val.numRef.f)
    first, last = int(m.group(1)), int(m.group(2))
    assert last - first == 13
    assert series.cat.strRef.f == f"'看板'!$A${first}:$A${last}"
    labels = [ws.cell(r, 1).value for r in range(first, last + 1)]
    counts = [ws.cell(r, 2).value for r in range(first, last + 1)]
    assert labels[0] == "11-13" and labels[-1] == "11-26"
    assert counts == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1]
    assert _chart_parts(book) == ["xl/charts/chart1.xml"]


def test_rerun_rebuilds_never_stacks(book):
    run_cli("dashboard", book)
    first = read_sheet(book, DASHBOARD.name)
    run_cli("dashboard", book)
    assert read_sheet(book, DASHBOARD.name) == first
    assert len(openpyxl.load_workbook(book)[DASHBOARD.name]._charts) == 1
    assert _chart_parts(book) == ["xl/charts/chart1.xml"]
    log = [r for r in read_sheet(book, LOG.name)[1:] if r[2] == "dashboard"]
    assert len(log) == 2


def test_the_series_moves_with_the_rows_when_the_board_grows(book):
    run_cli("dashboard", book)
    wb = openpyxl.load_workbook(book)  # three more shortages push the series table down
    for i in range(3):
        wb[SHORTAGES.name].append([f"WS10{30 + i}", "商品", 1, 0, 1, 0, 1, None, "缺货"])
    wb.save(book)
    run_cli("dashboard", book)
    ws = openpyxl.load_workbook(book)[DASHBOARD.name]
    (chart,) = ws._charts
    first = int(re.search(r"\$B\$(\d+):", chart.series[0].val.numRef.f).group(1))
    assert ws.cell(first, 1).value == "11-13" and ws.cell(first - 1, 1).value.startswith("【近14天发货")


def test_a_book_without_the_macro_sheets_still_gets_a_board(book_with):
    path = book_with([good_line(status="待配货")])
    wb = openpyxl.load_workbook(path)
    for sheet in (SLIPS, TRACKING, SHORTAGES, DASHBOARD):
        del wb[sheet.name]
    wb.save(path)
    code, data = run_cli("dashboard", path, "--json")
    assert code == 0, data
    b = board(path)
    assert value(b, "行 · 待配货") == 1 and value(b, "待签字出库单") == 0 and value(b, "缺货商品 (SKU)") == 0
    assert len(openpyxl.load_workbook(path)[DASHBOARD.name]._charts) == 1


def test_an_empty_book(book_with):
    path = book_with([])
    code, data = run_cli("dashboard", path, "--json")
    assert code == 0, data
    assert value(board(path), "行 · 合计") == 0 and value(board(path), "11-26") == 0


def test_dashboard_refuses_a_book_open_in_excel(book):
    book.with_name("~$" + book.name).write_bytes(b"x")
    before = book.read_bytes()
    code, text = run_cli("dashboard", book)
    assert code == 2 and text.count("\n") == 1 and book.read_bytes() == before


@pytest.mark.libreoffice
def test_libreoffice_reads_the_chart(book, tmp_path):
    """An independent reader: LibreOffice converts the book and finds the bar chart over the series."""
    soffice = shutil.which("soffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) not installed")
    run_cli("dashboard", book)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "ods",
                    "--outdir", str(tmp_path / "out"), str(book)], capture_output=True, timeout=180)
    ods = tmp_path / "out" / "book.ods"
    assert ods.exists(), "LibreOffice did not convert the book"
    with zipfile.ZipFile(ods) as z:
        objects = [n for n in z.namelist() if re.fullmatch(r"Object \d+/content\.xml", n)]
        assert len(objects) == 1
        xml = z.read(objects[0]).decode()
    assert 'chart:class="chart:bar"' in xml and "近14天发货 (订单数)" in xml
    first = int(re.search(r"\$B\$(\d+):", openpyxl.load_workbook(book)[DASHBOARD.name]._charts[0]
                          .series[0].val.numRef.f).group(1))
    assert f'chart:values-cell-range-address="看板.B{first}:看板.B{first + 13}"' in xml
