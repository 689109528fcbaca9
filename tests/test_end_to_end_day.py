"""One realistic shipping day through the `shipbook` command, clock moving along, on one workbook file:
import → validate → allocate → slips → sign ×2 → waybills → tracking → export-shipped → delivered →
close-completed (8 days later). The final book is checked line by line, SKU by SKU and 日志 row by row."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter

import openpyxl
from conftest import read_orders, read_sheet, run_cli

from pyshipbook.book.schema import LOG, SETTING_BY_KEY, SETTINGS, SIGNATURES, SLIPS, STOCK, TRACKING, WAYBILLS
from pyshipbook.sample import make_book, order_rows, write_export_csv

DAY = "2026-11-26"


def at(monkeypatch, when: str) -> None:
    monkeypatch.setenv("SHIPBOOK_NOW", when)


def cli(*argv, ok=(0,)):
    code, data = run_cli(*argv, "--json")
    assert code in ok, data
    return data


def table(path, name) -> list[dict]:
    rows = read_sheet(path, name)
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def stock_of(path) -> dict[str, tuple]:
    ws = openpyxl.load_workbook(path)[STOCK.name]
    cols = [STOCK.keys.index(k) for k in ("sku", "on_hand", "allocated", "available")]
    return {r[cols[0]]: tuple(r[c] for c in cols[1:]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def test_a_shipping_day(tmp_path, monkeypatch):
    book = make_book(tmp_path / "发货.xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        item = ws.cell(r, 1).value
        if item == SETTING_BY_KEY["signer_finance"].item:
            ws.cell(r, 2, "李财务")
        if item == SETTING_BY_KEY["signer_logistics"].item:
            ws.cell(r, 2, "赵物流")
    wb.save(book)
    initial_stock = stock_of(book)

    # 09:30 the sales specialist imports the shop's export and validates it
    at(monkeypatch, f"{DAY}T09:30:00")
    export = write_export_csv(tmp_path / "微信小店订单导出.csv", order_rows(120, seed=23), encoding="gbk")
    data = cli("import", book, export)
    assert data["added"] == 120 + 2 and data["rejected"] == []       # the sample's duplicate and split lines
    data = cli("validate", book, ok=(1,))                            # the sample carries real-world problems
    assert data["errors"] > 0
    assert cli("import", book, export)["added"] == 0

    # 14:10 the warehouse keeper allocates and makes slips of at most 20 orders
    at(monkeypatch, f"{DAY}T14:10:00")
    cli("allocate", book)
    after_alloc = {i: r["status"] for i, r in enumerate(read_orders(book))}
    slips = cli("slips", book, "--max-orders", "20")["slips"]
    assert len(slips) >= 2 and all(s["slip_no"].startswith("CK20261126-") for s in slips)
    on_slip = {o for s in slips for o in s["order_ids"]}

    # 15:00 the directors sign every slip; a wrong signer is refused on the way
    at(monkeypatch, f"{DAY}T15:00:00")
    refused = cli("sign", book, slips[0]["slip_no"], "--role", "logistics", "--as", "李财务", ok=(1,))
    assert refused["code"] == "sign.wrong_person"
    for s in slips:
        assert cli("sign", book, s["slip_no"], "--role", "finance", "--as", "李财务")["outcome"] == "accepted"
    # between the signatures nothing may ship yet
    early = cli("waybills", book, ok=(1,))
    assert early["added"] == [] and {p["code"] for p in early["refused"]} == {"waybill.not_signed"}
    for s in slips:
        assert cli("sign", book, s["slip_no"], "--role", "logistics", "--as", "赵物流")["both_signed"]
    assert {r["status"] for r in read_orders(book) if r["order_id"] in on_slip} == {"待发货"}

    # 16:00 the logistics specialist makes SF waybills and the upload file
    at(monkeypatch, f"{DAY}T16:00:00")
    upload = tmp_path / "顺丰批量下单.csv"
    data = cli("waybills", book, "--out", upload)
    assert set(data["added"]) == on_slip and data["refused"] == []
    uploaded = list(csv.reader(io.StringIO(upload.read_bytes().decode("gbk"))))
    assert uploaded[0][0] == "用户订单号" and {r[0] for r in uploaded[1:]} == on_slip

    # 18:30 SF's result file comes back: one number per order, two parcels for the first order
    at(monkeypatch, f"{DAY}T18:30:00")
    result = tmp_path / "顺丰下单结果.xlsx"
    rwb = openpyxl.Workbook()
    rws = rwb.active
    rws.append(["用户订单号", "运单号", "收件人"])
    numbers = {}
    for i, row in enumerate(uploaded[1:]):
        numbers[row[0]] = [f"SF1{i:012d}"]
        rws.append([row[0], numbers[row[0]][0], row[6]])
    first = uploaded[1][0]
    numbers[first].append("SF1999900000001")
    rws.append([first, numbers[first][1], uploaded[1][6]])
    rwb.save(result)
    data = cli("tracking", book, "--import", result)
    assert set(data["shipped_orders"]) == on_slip and data["refused"] == []
    assert cli("tracking", book, "--import", result)["duplicates"] == len(on_slip) + 1   # idempotent

    # 19:00 the shop's batch-ship file
    at(monkeypatch, f"{DAY}T19:00:00")
    shipfile = tmp_path / "微信批量发货.xlsx"
    data = cli("export-shipped", book, "--platform", "wechat", "--out", shipfile)
    assert data["rows"] == len(on_slip) + 1
    exported = [tuple(c.value for c in row) for row in openpyxl.load_workbook(shipfile).active.iter_rows()]
    assert exported[0] == ("订单号", "快递公司", "快递单号")
    assert Counter(r[0] for r in exported[1:])[first] == 2 and {r[1] for r in exported[1:]} == {"SF"}

    # two days later every parcel is signed for (SF's tracking export)
    at(monkeypatch, "2026-11-28T20:00:00")
    signed_for = tmp_path / "顺丰签收.csv"
    with open(signed_for, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["运单号", "签收时间", "签收人"])
        for oid, ns in numbers.items():
            for n in ns:
                w.writerow([n, "2026-11-28 10:30", "本人"])
    data = cli("delivered", book, "--import", signed_for)
    assert set(data["delivered_orders"]) == on_slip

    # a week later they are complete
    at(monkeypatch, "2026-11-28T20:00:00")
    assert cli("close-completed", book)["completed_orders"] == []
    at(monkeypatch, "2026-12-06T09:00:00")                        # +8 days
    assert set(cli("close-completed", book)["completed_orders"]) == on_slip

    # -- the final workbook --------------------------------------------------------------------------
    final = read_orders(book)
    for i, r in enumerate(final):   # allocated lines went all the way; nothing else moved
        want = "已完成" if after_alloc[i] == "已配货" else after_alloc[i]
        assert r["status"] == want, (r["order_id"], after_alloc[i], r["status"])
        if want == "已完成":
            assert r["carrier"] == "SF" and r["tracking_no"] == ",".join(numbers[r["order_id"]])
            assert r["shipped_at"] == dt.datetime(2026, 11, 26, 18, 30)
            assert r["delivered_at"] == dt.datetime(2026, 11, 28, 10, 30)
            assert (r["alloc_sku"], r["alloc_qty"]) == (r["sku"], r["qty"])
    assert {r["status"] for r in final} - {"已完成"} <= {"校验失败", "待付款", "缺货", "待配货"}
    # the stock ledger: what shipped left 库存数量 once; nothing is reserved any more
    shipped = Counter()
    for r in final:
        if r["status"] == "已完成":
            shipped[r["sku"]] += r["qty"]
    for sku, (on_hand, allocated, available) in stock_of(book).items():
        held = sum(r["alloc_qty"] for r in final if r["alloc_sku"] == sku and r["status"] in ("已配货", "已开单", "待发货"))
        assert allocated == held == 0, sku
        assert on_hand == initial_stock[sku][0] - shipped[sku], sku
        assert available == on_hand - allocated, sku
    # slips, signatures, waybills, tracking
    assert {s["状态"] for s in table(book, SLIPS.name)} == {"已签字"}
    sigs = table(book, SIGNATURES.name)
    assert len(sigs) == 2 * len(slips) and {s["有效"] for s in sigs} == {"有效"}
    assert {(s["角色"], s["签字人"]) for s in sigs} == {("财务总监", "李财务"), ("物流总监", "赵物流")}
    assert sorted(r["订单号"] for r in table(book, WAYBILLS.name)) == sorted(on_slip)
    events = Counter(e["事件"] for e in table(book, TRACKING.name))
    parcels = len(on_slip) + 1
    assert events == {"已发货": len(on_slip), "追加包裹": 1, "已导出批量发货 wechat": parcels, "已签收": parcels}
    # 日志: one row per run, who and what
    log = [(r[1], r[2], r[5]) for r in read_sheet(book, LOG.name)[1:] if r[2]]
    n = len(slips)
    assert log == ([("测试员", "import", "ok"), ("测试员", "validate", "errors"), ("测试员", "import", "ok"),
                    ("测试员", "allocate", "ok"), ("测试员", "slips", "ok"), ("李财务", "sign", "errors")]
                   + [("李财务", "sign", "ok")] * n + [("测试员", "waybills", "errors")]
                   + [("赵物流", "sign", "ok")] * n
                   + [("测试员", "waybills", "ok"), ("测试员", "tracking", "ok"), ("测试员", "tracking", "ok"),
                      ("测试员", "export-shipped", "ok"), ("测试员", "delivered", "ok"),
                      ("测试员", "close-completed", "ok"), ("测试员", "close-completed", "ok")])
    times = [r[0] for r in read_sheet(book, LOG.name)[1:] if r[2]]
    assert times == sorted(times) and times[-1] == dt.datetime(2026, 12, 6, 9, 0)
