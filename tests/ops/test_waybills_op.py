"""waybills on real workbook files: only validly signed slips, refusals named, courier layouts from the
templates, the 运单 sheet and the upload file (.xlsx all text, .csv GBK), re-runs add nothing."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from conftest import read_orders, read_sheet, run_cli
from test_allocate import edit_orders, line
from test_sign import SLIP, do_reissue, set_settings, sign, sign_both, slip_row, slipped, without_log

from pyshipbook.book.schema import ORDERS, WAYBILLS
from pyshipbook.book.templates import load_waybill_layouts

LAYOUTS = load_waybill_layouts()


def waybills(path, *extra):
    code, data = run_cli("waybills", path, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


def waybill_rows(path) -> list[dict]:
    rows = read_sheet(path, WAYBILLS.name)
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def test_waybills_only_for_orders_whose_slip_both_directors_signed(book_with):
    path = slipped(book_with, max_orders=2)        # CK…-001: A and B; CK…-002: C
    sign_both(path)
    sign(path, "finance", "李财务", "CK20261126-002")
    code, data = waybills(path)
    assert code == 1
    assert data["added"] == ["A", "B"]
    [refused] = data["refused"]
    assert (refused["order_id"], refused["code"], refused["slip_no"]) == ("C", "waybill.not_signed", "CK20261126-002")
    assert "缺 物流总监 签字" in refused["message"] and "needs logistics" in refused["message"]
    rows = waybill_rows(path)
    assert [(r["订单号"], r["快递公司"], r["用户订单号"]) for r in rows] == [("A", "SF", "A"), ("B", "SF", "B")]
    a = rows[0]
    assert (a["寄件人"], a["寄件电话"], a["收件人"], a["收件手机"]) == ("小林优选", "0571-88886666", "收件人A",
                                                                  next(r["phone"] for r in read_orders(path)
                                                                       if r["order_id"] == "A"))
    assert a["托寄物内容"] == "玻尿酸补水面膜×2, 玫瑰精华面膜×1" and a["托寄物数量"] == "3" and a["包裹重量"] == "0.75"
    assert a["收件详细地址"] == "广东省深圳市南山区科技园南区高新南七道8号" and a["业务类型"] == "顺丰标快"
    # the orders now name their courier (a numeric tracking number will be checked against it)
    assert {r["order_id"]: r["carrier"] for r in read_orders(path)} == {"A": "SF", "B": "SF", "C": None}
    assert read_sheet(path, "日志")[-1][2:4] == ("waybills", "--carrier SF")


def test_rerunning_adds_nothing_for_orders_already_on_the_sheet(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    before = without_log(path)
    code, data = waybills(path)
    assert code == 0 and data["added"] == [] and data["skipped"] == ["A", "B", "C"]
    assert without_log(path) == before


def test_an_edited_slip_blocks_its_waybills_until_reissued_and_signed(book_with):
    path = slipped(book_with)
    sign_both(path)
    edit_orders(path, {("C", "WS1003"): {"qty": 2, "amount": 336.0}})
    code, data = waybills(path)
    assert code == 1 and data["added"] == []
    assert {p["order_id"] for p in data["refused"]} == {"A", "B", "C"}
    assert all("内容已修改" in p["message"] for p in data["refused"])
    assert data["voided"][0]["slip_no"] == SLIP
    assert waybill_rows(path) == []
    assert {r["status"] for r in read_orders(path)} == {"已开单"}
    # re-issued but signed by one director only: still refused, saying so
    from test_sign import do_reissue
    assert do_reissue(path).exit_code == 0
    sign(path, "finance", "李财务")
    code, data = waybills(path)
    assert code == 1 and all("缺 物流总监 签字 (原签字已失效)" in p["message"] for p in data["refused"])
    sign(path, "logistics", "赵物流")
    code, data = waybills(path)
    assert code == 0 and data["added"] == ["A", "B", "C"]
    assert [r["托寄物数量"] for r in waybill_rows(path) if r["订单号"] == "C"] == ["2"]


@pytest.mark.parametrize("carrier", sorted(LAYOUTS))
def test_each_courier_layout_comes_from_its_template(book_with, tmp_path, carrier):
    path = slipped(book_with)
    sign_both(path)
    out = tmp_path / f"{carrier}.xlsx"
    code, data = waybills(path, "--carrier", carrier, "--out", out)
    assert code == 0 and data["carrier"] == carrier and data["layout"] == LAYOUTS[carrier].name
    ws = openpyxl.load_workbook(out).active
    cells = [[c for c in row] for row in ws.iter_rows()]
    assert [c.value for c in cells[0]] == LAYOUTS[carrier].headers
    assert len(cells) == 4 and all(c.number_format == "@" for row in cells for c in row)
    assert all(isinstance(c.value, str) for row in cells[1:] for c in row if c.value is not None)
    # the sheet: 订单号 | 快递公司, then the layout's columns (its own 订单号 column is that pair), then what
    # the row was made from: 出库单指纹 | 订单指纹
    head = read_sheet(path, WAYBILLS.name)[0]
    assert head[:2] == ("订单号", "快递公司")
    assert [h for h in head[2:] if h] == [h for h in LAYOUTS[carrier].headers if h not in ("订单号", "快递公司")] + \
        ["出库单指纹", "订单指纹"]
    assert {r["carrier"] for r in read_orders(path)} == {carrier}


def test_switching_courier_adds_the_new_columns_and_keeps_the_old_rows(book_with):
    path = slipped(book_with, max_orders=2)
    sign_both(path)
    waybills(path, "--carrier", "ZTO")
    sign_both(path, "CK20261126-002")
    code, data = waybills(path)          # 设置 默认快递: SF
    assert code == 0 and data["added"] == ["C"]
    rows = waybill_rows(path)
    assert [(r["订单号"], r["快递公司"]) for r in rows] == [("A", "ZTO"), ("B", "ZTO"), ("C", "SF")]
    assert rows[0]["收件人姓名"] == "收件人A" and rows[0]["收件人"] is None
    assert rows[2]["收件人"] == "收件人C" and rows[2]["收件人姓名"] is None


def test_csv_upload_file_is_gbk_with_formula_text_neutralised(book_with, tmp_path):
    path = slipped(book_with)
    edit_orders(path, {("A", "WS1002"): {"remark": "=1+1 加急"}, ("A", "WS1001"): {"remark": "=1+1 加急"}})
    sign_both(path)
    out = tmp_path / "运单.csv"
    code, data = waybills(path, "--out", out)
    assert code == 0 and data["file"]["format"] == "csv"
    text = out.read_bytes().decode("gbk")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == LAYOUTS["SF"].headers and [r[0] for r in rows[1:]] == ["A", "B", "C"]
    assert rows[1][LAYOUTS["SF"].headers.index("寄方备注")] == "'=1+1 加急"
    # on the sheet the remark stays as typed, as text
    assert waybill_rows(path)[0]["寄方备注"] == "=1+1 加急"


def test_no_new_waybill_writes_no_file(book_with, tmp_path):
    path = slipped(book_with)
    out = tmp_path / "x.xlsx"
    code, data = waybills(path, "--out", out)
    assert code == 1 and data["file"] is None and not out.exists()


def test_unknown_courier_and_bad_out_file_stop_before_anything_changes(book_with, tmp_path):
    path = slipped(book_with)
    before = path.read_bytes()
    assert run_cli("waybills", path, "--carrier", "顺心捷达")[0] == 2
    assert run_cli("waybills", path, "--out", tmp_path / "x.pdf")[0] == 2
    assert run_cli("waybills", path, "--out", path)[0] == 2
    assert path.read_bytes() == before


def test_sender_missing_refuses_every_order(book_with):
    path = slipped(book_with)
    set_settings(path, {"sender_phone": ""})
    sign_both(path)
    code, data = waybills(path)
    assert code == 1 and data["added"] == []
    assert {(p["order_id"], p["code"]) for p in data["refused"]} == \
        {("A", "waybill.sender_missing"), ("B", "waybill.sender_missing"), ("C", "waybill.sender_missing")}
    assert waybill_rows(path) == []


def test_weight_missing_is_a_warning_and_cod_amounts_are_carried(book_with):
    lines = [line("A", sku="WS1001", qty=2), line("D", paid=None, ordered=3, payment_status="货到付款", qty=1)]
    path = slipped(book_with, lines=lines, on_hand={"WS1001": 10})
    wb = openpyxl.load_workbook(path)
    ws = wb["库存"]
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "WS1001":
            ws.cell(r, 9).value = None          # 单件重量kg
    wb.save(path)
    sign_both(path)
    code, data = waybills(path)
    assert code == 0 and sorted(data["added"]) == ["A", "D"]
    assert {(w["order_id"], w["code"], w["severity"]) for w in data["warnings"]} == \
        {("A", "waybill.weight_missing", "warning"), ("D", "waybill.weight_missing", "warning")}
    rows = {r["订单号"]: r for r in waybill_rows(path)}
    assert rows["A"]["包裹重量"] is None and rows["D"]["代收金额"] == "89" and rows["A"]["代收金额"] is None


# -- a slip changed after its waybills were made ------------------------------------------------------------
NEW_ADDRESS = "广东省深圳市南山区科技园南区高新南九道9号"


def fingerprints(path) -> dict[str, tuple]:
    """订单号 -> (出库单指纹, 订单指纹) of its 运单 row."""
    return {r["订单号"]: (r["出库单指纹"], r["订单指纹"]) for r in waybill_rows(path)}


def order_fp(path, order) -> str:
    import pandas as pd
    from pyshipbook.domain.slips import fingerprint
    return fingerprint(pd.DataFrame([r for r in read_orders(path) if r["order_id"] == order]))


def test_each_waybill_row_records_the_fingerprints_it_was_made_from(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    slip_fp = slip_row(path)["fingerprint"]
    assert fingerprints(path) == {o: (slip_fp, order_fp(path, o)) for o in "ABC"}
    assert len(slip_fp) == 64 and len({fp for _, fp in fingerprints(path).values()}) == 3


def test_a_slip_edited_and_reissued_after_its_waybills_replaces_the_changed_order_once_signed_again(book_with,
                                                                                                   tmp_path):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    before = {r["订单号"]: r for r in waybill_rows(path)}
    old_slip_fp = slip_row(path)["fingerprint"]
    edit_orders(path, {("B", "WS1001"): {"address": NEW_ADDRESS}})
    # edited, not re-issued: every order of the slip has a waybill that must not go to the courier
    code, data = waybills(path)
    assert code == 1 and data["added"] == [] and data["replaced"] == []
    assert {(p["order_id"], p["code"]) for p in data["refused"]} == \
        {(o, "waybill.changed_not_signed") for o in "ABC"}
    assert all("内容已修改" in p["message"] and p["slip_no"] == SLIP for p in data["refused"])
    assert "不要交给快递" in run_cli("waybills", path)[1]
    # re-issued and signed by one director: still refused, the rows untouched
    assert do_reissue(path).exit_code == 0
    sign(path, "finance", "李财务")
    code, data = waybills(path)
    assert code == 1 and {p["code"] for p in data["refused"]} == {"waybill.changed_not_signed"}
    assert all("缺 物流总监 签字" in p["message"] for p in data["refused"])
    assert {r["订单号"]: r for r in waybill_rows(path)} == before
    # signed by both: B's row is replaced in place with the new address; A and C did not change: kept
    sign(path, "logistics", "赵物流")
    out = tmp_path / "upload.xlsx"
    code, data = waybills(path, "--out", out)
    assert code == 0 and data["refused"] == []
    assert (data["added"], data["replaced"], data["reconfirmed"]) == ([], ["B"], ["A", "C"])
    assert "替换 1 单 (B)" in read_sheet(path, "日志")[-1][6]
    rows = waybill_rows(path)
    assert [r["订单号"] for r in rows] == ["A", "B", "C"]
    new = {r["订单号"]: r for r in rows}
    assert new["B"]["收件详细地址"] == NEW_ADDRESS and before["B"]["收件详细地址"] != NEW_ADDRESS
    assert {k: v for k, v in new["B"].items() if k not in ("收件详细地址", "出库单指纹", "订单指纹")} == \
        {k: v for k, v in before["B"].items() if k not in ("收件详细地址", "出库单指纹", "订单指纹")}
    new_slip_fp = slip_row(path)["fingerprint"]
    assert new_slip_fp != old_slip_fp
    assert fingerprints(path) == {o: (new_slip_fp, order_fp(path, o)) for o in "ABC"}
    assert new["B"]["订单指纹"] != before["B"]["订单指纹"] and new["A"]["订单指纹"] == before["A"]["订单指纹"]
    # the upload file carries the fresh row only
    ws = openpyxl.load_workbook(out).active
    assert [[c.value for c in row][0] for row in ws.iter_rows(min_row=2)] == ["B"]
    # and again: nothing changes
    snapshot = without_log(path)
    code, data = waybills(path)
    assert code == 0 and data["replaced"] == [] and data["skipped"] == ["A", "B", "C"]
    assert without_log(path) == snapshot


def test_a_replacement_in_another_courier_clears_the_old_layout_and_names_the_new_courier(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path, "--carrier", "ZTO")
    edit_orders(path, {("C", "WS1003"): {"address": NEW_ADDRESS}})
    do_reissue(path)
    sign_both(path)
    code, data = waybills(path, "--carrier", "SF")
    assert code == 0 and data["replaced"] == ["C"] and data["reconfirmed"] == ["A", "B"]
    rows = {r["订单号"]: r for r in waybill_rows(path)}
    assert (rows["C"]["快递公司"], rows["C"]["收件人"], rows["C"]["收件人姓名"]) == ("SF", "收件人C", None)
    assert rows["C"]["收件详细地址"] == NEW_ADDRESS
    assert (rows["A"]["快递公司"], rows["A"]["收件人姓名"]) == ("ZTO", "收件人A")
    assert {r["order_id"]: r["carrier"] for r in read_orders(path)} == {"A": "ZTO", "B": "ZTO", "C": "SF"}


def test_an_order_shipped_before_its_change_is_never_replaced(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    assert run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123")[0] == 0
    before = waybill_rows(path)
    edit_orders(path, {("A", "WS1001"): {"address": NEW_ADDRESS}, ("A", "WS1002"): {"address": NEW_ADDRESS}})
    assert do_reissue(path).exit_code == 0
    sign_both(path)
    code, data = waybills(path)
    assert code == 1 and data["added"] == [] and data["replaced"] == []
    [p] = data["refused"]
    assert (p["order_id"], p["code"], p["severity"], p["tracking_no"]) == \
        ("A", "waybill.shipped_before_change", "error", "SF1234567890123")
    assert "SF1234567890123" in p["message"] and "deal with the parcel" in p["message"]
    assert data["reconfirmed"] == ["B", "C"]          # their own content did not change
    assert [r["收件详细地址"] for r in waybill_rows(path)] == [r["收件详细地址"] for r in before]
    assert "发货后内容被修改" in read_sheet(path, "日志")[-1][6]
    # it stays reported until a person deals with it
    code, data = waybills(path)
    assert code == 1 and [p["code"] for p in data["refused"]] == ["waybill.shipped_before_change"]


def test_a_change_to_another_order_of_the_slip_is_no_concern_of_a_shipped_order(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123")
    edit_orders(path, {("B", "WS1001"): {"qty": 4, "amount": 356.0}})
    do_reissue(path)
    sign_both(path)
    code, data = waybills(path)
    assert code == 0 and data["replaced"] == ["B"] and data["reconfirmed"] == ["C"] and data["refused"] == []
    assert [r["托寄物数量"] for r in waybill_rows(path)] == ["3", "4", "1"]


def drop_fingerprint_columns(path) -> None:
    """The 运单 sheet as shipbook wrote it before the rows recorded their fingerprints."""
    wb = openpyxl.load_workbook(path)
    ws = wb[WAYBILLS.name]
    head = [c.value for c in ws[1]]
    ws.delete_cols(head.index("出库单指纹") + 1, 2)
    wb.save(path)


def test_rows_made_before_fingerprints_were_recorded(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    drop_fingerprint_columns(path)
    # the slip never changed since it was signed: the rows were made from its content; recorded so
    old = waybill_rows(path)
    code, data = waybills(path)
    assert code == 0 and data["skipped"] == ["A", "B", "C"] and data["replaced"] == data["reconfirmed"] == []
    slip_fp = slip_row(path)["fingerprint"]
    assert fingerprints(path) == {o: (slip_fp, order_fp(path, o)) for o in "ABC"}
    assert [{k: v for k, v in r.items() if k not in ("出库单指纹", "订单指纹")} for r in waybill_rows(path)] == old
    # rows without fingerprints on a slip changed since: what they were made from is unknown, so each is
    # compared with a fresh one: B's differs (replaced), A's and C's read the same (kept)
    drop_fingerprint_columns(path)
    edit_orders(path, {("B", "WS1001"): {"address": NEW_ADDRESS}})
    code, data = waybills(path)
    assert code == 1 and {p["code"] for p in data["refused"]} == {"waybill.changed_not_signed"}
    do_reissue(path)
    sign_both(path)
    code, data = waybills(path)
    assert code == 0 and data["replaced"] == ["B"] and data["reconfirmed"] == ["A", "C"]
    assert [r["收件详细地址"] for r in waybill_rows(path)][1] == NEW_ADDRESS
    assert set(fingerprints(path)["B"]) == {slip_row(path)["fingerprint"], order_fp(path, "B")}


# -- an order cancelled after its waybill row was made -----------------------------------------------------
A_LINES = (("A", "WS1002"), ("A", "WS1001"))


def cancel(path, *keys) -> None:
    """Set these (order, sku) lines 已取消, as a person does on 订单."""
    edit_orders(path, {k: {"status": "已取消"} for k in keys})


def by_code(data) -> dict[str, set]:
    out: dict[str, set] = {}
    for p in data["refused"]:
        out.setdefault(p["code"], set()).add(p["order_id"])
    return out


def test_an_order_cancelled_before_shipping_keeps_its_row_and_is_reported_on_every_run(book_with, tmp_path):
    path = slipped(book_with, max_orders=2)        # CK…-001: A and B; CK…-002: C
    sign_both(path)
    waybills(path)
    before = waybill_rows(path)
    cancel(path, *A_LINES)
    code, data = waybills(path)
    assert code == 1 and data["added"] == data["replaced"] == [] and data["cancelled"] == ["A"]
    [a] = [p for p in data["refused"] if p["order_id"] == "A"]
    assert (a["code"], a["severity"], a["slip_no"], a["waybill_row"], a["tracking_no"]) == \
        ("waybill.order_cancelled", "error", SLIP, 2, None)
    assert "不要交给快递" in a["message"] and "cancel the courier order" in a["message"]
    assert "运单 row 2 (SF)" in a["message"]
    # the slip lost A's lines: B's row is out of date until the slip is re-issued and signed again
    assert by_code(data) == {"waybill.order_cancelled": {"A"}, "waybill.changed_not_signed": {"B"},
                             "waybill.not_signed": {"C"}}
    assert waybill_rows(path) == before                     # never deleted, never touched
    assert "1 单已全部取消但已有运单" in read_sheet(path, "日志")[-1][6]
    # the courier's result comes back for it: no tracking number is logged on a cancelled order
    code, out = run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123", "--json")
    assert code == 1 and [(p["code"], p["order_id"]) for p in out["refused"]] == [("tracking.order_not_ready", "A")]
    assert "已取消" in out["refused"][0]["message"]
    assert {r["status"] for r in read_orders(path) if r["order_id"] == "A"} == {"已取消"}
    # the slip re-issued and signed, C's slip signed: C gets its waybill; the upload file has C only
    assert do_reissue(path).exit_code == 0
    sign_both(path)
    sign_both(path, "CK20261126-002")
    out_file = tmp_path / "upload.xlsx"
    code, data = waybills(path, "--out", out_file)
    assert code == 1 and data["added"] == ["C"] and data["reconfirmed"] == ["B"] and data["cancelled"] == ["A"]
    assert by_code(data) == {"waybill.order_cancelled": {"A"}}
    ws = openpyxl.load_workbook(out_file).active
    assert [row[0].value for row in ws.iter_rows(min_row=2)] == ["C"]
    assert [r["订单号"] for r in waybill_rows(path)] == ["A", "B", "C"]
    rows = waybill_rows(path)
    assert rows[0] == before[0]                             # A's row exactly as it was
    assert rows[1] == before[1] | {"出库单指纹": rows[1]["出库单指纹"]}   # B's: only its slip fingerprint renewed
    # and again: the same report, nothing changes, no file
    snapshot = without_log(path)
    again = tmp_path / "again.xlsx"
    code, data2 = waybills(path, "--out", again)
    assert code == 1 and data2["refused"] == data["refused"] and data2["cancelled"] == ["A"]
    assert data2["added"] == [] and data2["file"] is None and not again.exists()
    assert without_log(path) == snapshot
    # a person cancelled the courier order and deleted the row: nothing more to say
    wb = openpyxl.load_workbook(path)
    wb[WAYBILLS.name].delete_rows(2)
    wb.save(path)
    code, data = waybills(path)
    assert code == 0 and data["refused"] == [] and data["cancelled"] == [] and data["added"] == []


def test_an_order_cancelled_after_it_shipped_is_said_to_be_out_and_not_exported(book_with, tmp_path):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    assert run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123")[0] == 0
    assert run_cli("tracking", path, "--order", "B", "--number", "SF1234567890124")[0] == 0
    before = waybill_rows(path)
    cancel(path, *A_LINES)
    code, data = waybills(path)
    assert code == 1 and data["cancelled"] == ["A"]
    [a] = [p for p in data["refused"] if p["order_id"] == "A"]
    assert (a["code"], a["severity"], a["tracking_no"], a["waybill_row"]) == \
        ("waybill.cancelled_after_shipping", "error", "SF1234567890123", 2)
    assert "包裹已寄出" in a["message"] and "intercept" in a["message"] and "售后" in a["message"]
    assert "waybill.order_cancelled" not in by_code(data)
    assert by_code(data)["waybill.cancelled_after_shipping"] == {"A"}
    assert waybill_rows(path) == before
    assert "发货后被取消, 包裹已寄出" in read_sheet(path, "日志")[-1][6]
    snapshot = without_log(path)
    code, data2 = waybills(path)
    assert code == 1 and data2["refused"] == data["refused"] and without_log(path) == snapshot
    # the shop's batch-ship file does not announce a cancelled order as shipped
    code, out = run_cli("export-shipped", path, "--json", "--out", tmp_path / "ship.xlsx")
    assert code == 0 and [(p["order_id"], p["tracking_no"]) for p in out["exported"]] == [("B", "SF1234567890124")]
    # a return handled as after-sales (状态 售后): the row is what shipped, nothing left to report on A
    edit_orders(path, {k: {"status": "售后"} for k in A_LINES})
    code, data = waybills(path)
    assert "A" not in {p["order_id"] for p in data["refused"]} and data["cancelled"] == []


def test_an_order_cancelled_in_part_is_a_change_of_content_replaced_once_signed_again(book_with, tmp_path):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    before = {r["订单号"]: r for r in waybill_rows(path)}
    assert before["A"]["托寄物内容"] == "玻尿酸补水面膜×2, 玫瑰精华面膜×1"
    cancel(path, ("A", "WS1001"))
    code, data = waybills(path)
    assert code == 1 and data["cancelled"] == [] and data["added"] == data["replaced"] == []
    assert by_code(data) == {"waybill.changed_not_signed": {"A", "B", "C"}}
    [a] = [p for p in data["refused"] if p["order_id"] == "A"]
    assert "cancelled lines: WS1001×1" in a["message"]
    assert all("cancelled lines" not in p["message"] for p in data["refused"] if p["order_id"] != "A")
    assert {r["订单号"]: r for r in waybill_rows(path)} == before
    # re-issued and signed: A's row is replaced with the goods left; the upload file carries it alone
    assert do_reissue(path).exit_code == 0
    sign_both(path)
    out_file = tmp_path / "upload.xlsx"
    code, data = waybills(path, "--out", out_file)
    assert code == 0 and (data["replaced"], data["reconfirmed"], data["cancelled"]) == (["A"], ["B", "C"], [])
    rows = {r["订单号"]: r for r in waybill_rows(path)}
    assert (rows["A"]["托寄物内容"], rows["A"]["托寄物数量"]) == ("玻尿酸补水面膜×2", "2")
    assert rows["B"] == before["B"] | {"出库单指纹": rows["B"]["出库单指纹"]}
    ws = openpyxl.load_workbook(out_file).active
    assert [row[0].value for row in ws.iter_rows(min_row=2)] == ["A"]
    snapshot = without_log(path)
    code, data = waybills(path)
    assert code == 0 and data["skipped"] == ["A", "B", "C"] and without_log(path) == snapshot


def test_an_order_cancelled_in_part_after_it_shipped_is_reported_naming_the_cancelled_lines(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    assert run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123")[0] == 0
    before = waybill_rows(path)
    cancel(path, ("A", "WS1001"))
    code, data = waybills(path)
    assert code == 1 and data["cancelled"] == []
    [a] = [p for p in data["refused"] if p["order_id"] == "A"]
    assert (a["code"], a["tracking_no"]) == ("waybill.shipped_before_change", "SF1234567890123")
    assert "cancelled lines: WS1001×1" in a["message"]
    assert waybill_rows(path) == before


def test_every_waybill_code_is_explained_in_the_user_guide():
    from pathlib import Path

    from pyshipbook.domain.shipping_codes import WAYBILL_OP_CODES
    from pyshipbook.domain.waybills import CODES as RECORD_CODES
    guide = (Path(__file__).resolve().parents[2] / "docs" / "USER-GUIDE.md").read_text(encoding="utf-8")
    for code, c in {**RECORD_CODES, **WAYBILL_OP_CODES}.items():
        rows = [line for line in guide.splitlines() if line.startswith(f"| `{code}` |")]
        assert len(rows) == 1, code
        assert c.zh[:6] in rows[0] and ("错误 error" if c.severity == "error" else "警告 warning") in rows[0], code


def test_a_waybill_row_whose_order_was_deleted_from_the_order_sheet_is_a_warning_until_removed(book_with):
    path = slipped(book_with)
    sign_both(path)
    waybills(path)
    before = waybill_rows(path)
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    col = [c.value for c in ws[1]].index("订单号") + 1
    for r in sorted((r for r in range(2, ws.max_row + 1) if ws.cell(r, col).value == "A"), reverse=True):
        ws.delete_rows(r)
    wb.save(path)
    code, data = waybills(path)
    # the slip lost A's lines, so its signatures are void: B and C wait for a re-issue (errors); A is a warning
    assert code == 1 and data["missing"] == ["A"] and data["added"] == []
    assert by_code(data) == {"waybill.changed_not_signed": {"B", "C"}}
    [w] = [p for p in data["warnings"] if p["code"] == "waybill.order_missing"]
    assert (w["order_id"], w["severity"], w["waybill_row"], w["row"]) == ("A", "warning", 2, None)
    assert "运单 row 2" in w["message"] and "已取消" in w["message"]
    assert "1 个运单行的订单已不在订单表中" in read_sheet(path, "日志")[-1][6]
    assert waybill_rows(path) == before
    snapshot = without_log(path)
    code, again = waybills(path)
    assert code == 1 and again["missing"] == ["A"] and again["warnings"] == data["warnings"]
    assert without_log(path) == snapshot
    wb = openpyxl.load_workbook(path)
    wb[WAYBILLS.name].delete_rows(2)
    wb.save(path)
    do_reissue(path)
    sign_both(path)
    code, data = waybills(path)
    assert code == 0 and data["missing"] == [] and data["warnings"] == [] and data["refused"] == []
