"""export-shipped on real workbook files: platform layouts and courier code mapping, exported parcels
remembered in 物流跟踪 (per platform), one row per order where the platform wants it, refusals."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from conftest import read_sheet, run_cli
from test_allocate import edit_orders
from test_sign import rows_of, sign_both, slipped, without_log

from pyshipbook.book.schema import TRACKING

SF1, SF2 = "SF1000000000001", "SF1000000000002"
JT1 = "JT1000000000001"
JD1 = "JDVA10000000001"
YT1 = "YT1000000000001"


@pytest.fixture
def shipped(book_with):
    """A by 顺丰, B by 极兔, C by 京东: shipped."""
    path = slipped(book_with)
    sign_both(path)
    for order, number in (("A", SF1), ("B", JT1), ("C", JD1)):
        code, out = run_cli("tracking", path, "--order", order, "--number", number)
        assert code == 0, out
    return path


def export(path, *argv):
    code, data = run_cli("export-shipped", path, "--json", *argv)
    assert isinstance(data, dict), data
    return code, data


def cells(path) -> list[list]:
    ws = openpyxl.load_workbook(path).active
    assert all(c.number_format == "@" for row in ws.iter_rows() for c in row)
    return [[c.value for c in row] for row in ws.iter_rows()]


@pytest.mark.parametrize("platform,headers,codes", [
    ("wechat", ["订单号", "快递公司", "快递单号"], ["SF", "JTSD", "JD"]),
    ("taobao", ["订单编号", "物流公司", "运单号"], ["SF", "JT", "JDLEx"]),
    ("youzan", ["订单号", "物流公司", "物流单号"], ["shunfeng", "jtexpress", "jd"]),
    ("generic", ["订单号", "快递公司", "快递单号"], ["顺丰速运", "极兔速递", "京东物流"]),
])
def test_platform_layouts_and_courier_codes(shipped, tmp_path, platform, headers, codes):
    out = tmp_path / f"{platform}.xlsx"
    code, data = export(shipped, "--platform", platform, "--out", out)
    assert code == 0 and (data["rows"], data["orders"]) == (3, 3)
    assert cells(out) == [headers, ["A", codes[0], SF1], ["B", codes[1], JT1], ["C", codes[2], JD1]]


def test_exported_parcels_are_remembered_and_only_new_ones_go_next_time(shipped, tmp_path):
    code, data = export(shipped, "--out", tmp_path / "1.xlsx")           # --platform defaults to wechat
    assert code == 0 and data["platform"] == "wechat" and data["rows"] == 3
    marks = [(e["order_id"], e["tracking_no"], e["event"]) for e in rows_of(shipped, TRACKING)
             if e["event"].startswith("已导出")]
    assert marks == [("A", SF1, "已导出批量发货 wechat"), ("B", JT1, "已导出批量发货 wechat"),
                     ("C", JD1, "已导出批量发货 wechat")]
    before = without_log(shipped)
    code, data = export(shipped, "--out", tmp_path / "2.xlsx")
    assert code == 0 and data["rows"] == 0 and data["file"] is None and not (tmp_path / "2.xlsx").exists()
    assert without_log(shipped) == before
    run_cli("tracking", shipped, "--order", "A", "--number", SF2)       # a second parcel for A
    code, data = export(shipped, "--out", tmp_path / "3.xlsx")
    assert cells(tmp_path / "3.xlsx")[1:] == [["A", "SF", SF2]]
    # another platform is a file of its own
    code, data = export(shipped, "--platform", "generic", "--out", tmp_path / "4.xlsx")
    assert data["rows"] == 4


def test_a_platform_taking_one_number_per_order_gets_the_first_parcel(shipped, tmp_path):
    run_cli("tracking", shipped, "--order", "A", "--number", SF2)
    code, data = export(shipped, "--platform", "taobao", "--out", tmp_path / "t.xlsx")
    assert [r[0] for r in cells(tmp_path / "t.xlsx")[1:]] == ["A", "B", "C"]
    assert cells(tmp_path / "t.xlsx")[1] == ["A", "SF", SF1]
    run_cli("tracking", shipped, "--order", "A", "--number", YT1)
    code, data = export(shipped, "--platform", "taobao", "--out", tmp_path / "t2.xlsx")
    assert data["rows"] == 0                      # A was exported to Taobao already
    code, data = export(shipped, "--platform", "wechat", "--out", tmp_path / "w.xlsx")
    assert [r[2] for r in cells(tmp_path / "w.xlsx")[1:]] == [SF1, JT1, JD1, SF2, YT1]


def test_numbers_typed_by_hand_are_exported_and_an_unknown_courier_is_named(book_with, tmp_path):
    path = slipped(book_with)
    sign_both(path)
    edit_orders(path, {("B", "WS1001"): {"status": "已发货", "carrier": "顺心捷达", "tracking_no": "SX88001"},
                       ("C", "WS1003"): {"status": "已发货", "carrier": "圆通", "tracking_no": YT1}})
    code, data = export(path, "--out", tmp_path / "x.csv")
    assert code == 1
    [p] = data["refused"]
    assert (p["order_id"], p["tracking_no"], p["code"]) == ("B", "SX88001", "tracking.platform_code_missing")
    text = (tmp_path / "x.csv").read_bytes().decode("gbk")
    assert list(csv.reader(io.StringIO(text))) == [["订单号", "快递公司", "快递单号"], ["C", "YTO", YT1]]
    # the refused parcel is not marked: it is offered again
    code, data = export(path, "--out", tmp_path / "y.csv")
    assert code == 1 and data["rows"] == 0 and len(data["refused"]) == 1


def test_the_file_goes_beside_the_book_by_default(shipped):
    code, data = export(shipped)
    name = "批量发货-wechat-20261126-1500.xlsx"
    assert code == 0 and data["file"]["file"].endswith(name) and (shipped.parent / name).exists()
    assert read_sheet(shipped, "日志")[-1][2:4] == ("export-shipped", f"--platform wechat --out {name}")


def test_an_unknown_platform_changes_nothing(shipped, tmp_path):
    before = shipped.read_bytes()
    code, text = run_cli("export-shipped", shipped, "--platform", "拼多多", "--out", tmp_path / "p.xlsx")
    assert code == 2 and "未知的平台" in text
    assert shipped.read_bytes() == before
