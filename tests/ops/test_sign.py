"""sign and slips re-issue on real workbook files: both signatures, who may sign, no-op re-signing, content
changes void signatures (and send 待发货 lines back), re-issue and sign again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import read_orders, read_sheet, run_cli
from test_allocate import allocate, edit_orders, ledger_balances, line, prepared, stock

from pyshipbook.book.schema import LOG, SETTING_BY_KEY, SETTINGS, SIGNATURES, SLIP_LINES, SLIPS
from pyshipbook.book.xlsx import open_book
from pyshipbook.domain.slips import fingerprint
from pyshipbook.identity import Identity
from pyshipbook.ops.common import Context
from pyshipbook.ops.reissue import reissue

SLIP = "CK20261126-001"
NAMED = {"signer_finance": "李财务", "signer_logistics": "赵物流"}


def set_settings(path: Path, values: dict[str, str]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        for key, value in values.items():
            if ws.cell(r, 1).value == SETTING_BY_KEY[key].item:
                ws.cell(r, 2, value)
    wb.save(path)


def slipped(book_with, lines=None, on_hand=None, settings=None, max_orders=None) -> Path:
    """Orders validated, allocated and put on slips (A: two lines; B; C)."""
    lines = lines or [line("A", sku="WS1002", qty=2), line("A", sku="WS1001", qty=1),
                      line("B", paid=5, sku="WS1001", qty=3), line("C", paid=9, sku="WS1003", qty=1)]
    path = prepared(book_with, lines, on_hand or {"WS1001": 10, "WS1002": 10, "WS1003": 10})
    if settings:
        set_settings(path, settings)
    allocate(path)
    code, out = run_cli("slips", path, *(["--max-orders", max_orders] if max_orders else []))
    assert code == 0, out
    return path


def sign(path, role, who, slip=SLIP, *extra):
    code, data = run_cli("sign", path, slip, "--role", role, "--as", who, "--json", *extra)
    assert isinstance(data, dict), data
    return code, data


def sign_both(path, slip=SLIP, finance="李财务", logistics="赵物流"):
    assert sign(path, "finance", finance, slip)[0] == 0
    assert sign(path, "logistics", logistics, slip)[0] == 0


def rows_of(path, sheet) -> list[dict]:
    rows = read_sheet(path, sheet.name)
    keys = {c.header: c.key for c in sheet.columns}
    head = [keys.get(h, h) for h in rows[0]]
    return [dict(zip(head, r)) for r in rows[1:] if any(v is not None for v in r)]


def slip_row(path, slip=SLIP) -> dict:
    return next(r for r in rows_of(path, SLIPS) if r["slip_no"] == slip)


def statuses(path) -> dict[str, set]:
    out: dict[str, set] = {}
    for r in read_orders(path):
        out.setdefault(r["order_id"], set()).add(r["status"])
    return out


def without_log(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets
            if ws.title not in (LOG.name, "版本")}  # 版本: one row per save, a log like 日志


def current_fp(path, slip=SLIP) -> str:
    lines = pd.DataFrame([r for r in read_orders(path) if r["slip_no"] == slip and r["status"] != "已取消"])
    return fingerprint(lines)


def do_reissue(path, slip=SLIP, who="王库管"):
    with open_book(path) as book:
        return reissue(book, Context(Identity(who)), slip)


# -- both signatures ---------------------------------------------------------------------------------------
def test_both_signatures_are_required_before_lines_may_ship(book_with):
    path = slipped(book_with, settings=NAMED)
    code, data = sign(path, "finance", "李财务")
    assert code == 0 and (data["outcome"], data["missing_roles"]) == ("accepted", ["物流总监"])
    assert statuses(path) == {"A": {"已开单"}, "B": {"已开单"}, "C": {"已开单"}}
    row = slip_row(path)
    assert (row["finance_signer"], row["finance_signed_at"], row["logistics_signer"], row["state"]) == \
        ("李财务", dt.datetime(2026, 11, 26, 15, 0), None, "待签字")
    [s] = rows_of(path, SIGNATURES)
    assert s == {"slip_no": SLIP, "role": "财务总监", "signer": "李财务", "signed_at": dt.datetime(2026, 11, 26, 15, 0),
                 "fingerprint": row["fingerprint"], "valid": "有效"}
    # what was signed is the SHA-256 over the slip's current lines
    assert s["fingerprint"] == current_fp(path) and len(s["fingerprint"]) == 64

    code, data = sign(path, "物流总监", "赵物流")
    assert code == 0 and data["both_signed"] and data["lines_ready"] == 4
    assert statuses(path) == {"A": {"待发货"}, "B": {"待发货"}, "C": {"待发货"}}
    row = slip_row(path)
    assert (row["logistics_signer"], row["state"]) == ("赵物流", "已签字")
    assert [(s["role"], s["signer"], s["valid"]) for s in rows_of(path, SIGNATURES)] == \
        [("财务总监", "李财务", "有效"), ("物流总监", "赵物流", "有效")]
    assert [r[2] for r in read_sheet(path, LOG.name)[1:]][-2:] == ["sign", "sign"]
    ledger_balances(path)   # signing moves no stock


def test_one_person_cannot_sign_both_roles(book_with):
    path = slipped(book_with)   # 设置 names nobody: anyone may sign either role
    assert sign(path, "finance", "王五")[0] == 0
    before = without_log(path)
    code, data = sign(path, "logistics", "王五")
    assert code == 1 and data["code"] == "sign.same_person_both_roles"
    assert [p["code"] for p in data["problems"]] == ["sign.same_person_both_roles"]
    assert without_log(path) == before
    assert read_sheet(path, LOG.name)[-1][5] == "errors"


def test_an_unknown_signer_is_refused_when_settings_name_the_signers(book_with):
    path = slipped(book_with, settings=NAMED)
    code, data = sign(path, "finance", "张三")
    assert code == 1 and data["code"] == "sign.wrong_person" and "李财务" in data["zh"]
    assert rows_of(path, SIGNATURES) == []
    code, text = run_cli("sign", path, SLIP, "--role", "logistics", "--as", "李财务")
    assert code == 1 and "签字被拒绝" in text and "sign.wrong_person" in text


def test_signing_twice_is_a_no_op_and_another_person_is_refused(book_with):
    path = slipped(book_with)
    sign(path, "finance", "李财务")
    before = without_log(path)
    code, data = sign(path, "finance", "李财务")
    assert code == 0 and data["outcome"] == "noop"
    assert without_log(path) == before
    code, data = sign(path, "finance", "钱副总")
    assert code == 1 and data["code"] == "sign.already_signed"


def test_refusals_for_bad_input(book_with, monkeypatch, tmp_path):
    path = slipped(book_with)
    assert sign(path, "finance", "李财务", "CK20991231-001")[1]["code"] == "sign.unknown_slip"
    assert sign(path, "会计", "李财务")[1]["code"] == "sign.bad_role"
    before = path.read_bytes()
    assert run_cli("sign", path)[0] == 2                         # no slip named
    assert run_cli("sign", path, SLIP)[0] == 2                   # 测试员 (微商专员) has no signing role
    assert path.read_bytes() == before
    cfg = tmp_path / "me.toml"
    cfg.write_text('[user]\nname = "李财务"\nrole = "财务总监"\n', encoding="utf-8")
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(cfg))
    code, data = run_cli("sign", path, SLIP, "--json")           # the configured role and name
    assert code == 0 and (data["role"], data["signer"]) == ("finance", "李财务")


# -- content changes void signatures ---------------------------------------------------------------------
def test_editing_a_signed_slip_voids_its_signatures_and_its_lines_wait_again(book_with):
    path = slipped(book_with, settings=NAMED)
    sign_both(path)
    edit_orders(path, {("B", "WS1001"): {"address": "广东省深圳市南山区科技园南区高新南九道9号"}})
    code, data = sign(path, "finance", "李财务")
    assert code == 1 and data["code"] == "sign.content_changed"
    assert data["voided"] == [{"slip_no": SLIP, "signatures_voided": 2, "lines_back_to_on_slip": 4,
                               "content_changed": True}]
    assert [s["valid"] for s in rows_of(path, SIGNATURES)] == ["失效", "失效"]
    row = slip_row(path)
    assert (row["finance_signer"], row["finance_signed_at"], row["logistics_signer"], row["state"]) == \
        (None, None, None, "待签字")
    assert statuses(path) == {"A": {"已开单"}, "B": {"已开单"}, "C": {"已开单"}}
    ledger_balances(path)
    # the check is idempotent: running it again voids nothing more
    code, data = sign(path, "logistics", "赵物流")
    assert code == 1 and data["voided"] == [] and len(rows_of(path, SIGNATURES)) == 2


def test_an_edit_outside_the_fingerprint_voids_nothing(book_with):
    path = slipped(book_with, settings=NAMED)
    sign_both(path)
    edit_orders(path, {("B", "WS1001"): {"remark": "请用礼盒包装"}})
    code, data = sign(path, "finance", "李财务")
    assert code == 0 and data["outcome"] == "noop" and data["voided"] == []
    assert statuses(path)["B"] == {"待发货"}


def test_cancelling_a_line_of_a_signed_slip_voids_it(book_with):
    path = slipped(book_with)
    sign_both(path)
    edit_orders(path, {("A", "WS1001"): {"status": "已取消"}})
    code, data = sign(path, "finance", "李财务")
    assert code == 1 and data["code"] == "sign.content_changed"
    assert statuses(path) == {"A": {"已开单", "已取消"}, "B": {"已开单"}, "C": {"已开单"}}


def test_a_half_signed_slip_that_changed_keeps_its_lines_on_the_slip(book_with):
    path = slipped(book_with)
    sign(path, "finance", "李财务")
    edit_orders(path, {("C", "WS1003"): {"recipient": "李四"}})
    code, data = sign(path, "logistics", "赵物流")
    assert code == 1 and data["voided"][0]["signatures_voided"] == 1
    assert data["voided"][0]["lines_back_to_on_slip"] == 0


# -- re-issue ---------------------------------------------------------------------------------------------
def test_slips_reissue_from_the_command_line(book_with):
    path = slipped(book_with, settings=NAMED)
    sign_both(path)
    edit_orders(path, {("B", "WS1001"): {"qty": 4, "amount": 356.0}})
    code, data = run_cli("slips", path, "--reissue", SLIP, "--json", "--as", "王库管")
    assert code == 0 and data["outcome"] == "reissued"
    assert slip_row(path)["fingerprint"] == current_fp(path)
    code, _ = run_cli("slips", path, "--reissue", "CK20990101-999")
    assert code in (1, 2)  # an unknown slip is refused, never invented


def test_reissue_and_sign_again(book_with):
    path = slipped(book_with, settings=NAMED)
    sign_both(path)
    old_fp = slip_row(path)["fingerprint"]
    edit_orders(path, {("B", "WS1001"): {"qty": 4, "amount": 356.0}})
    result = do_reissue(path)
    assert result.exit_code == 0 and result.operation == "reissue"
    assert (result.data["outcome"], result.data["pieces"], result.data["stock_moved"]) == ("reissued", 8, {"WS1001": 1})
    row = slip_row(path)
    assert row["slip_no"] == SLIP and row["fingerprint"] != old_fp and row["fingerprint"] == current_fp(path)
    assert (row["pieces"], row["amount"], row["state"], row["finance_signer"]) == (8, 731.0, "待签字", None)
    # 出库明细 rebuilt: B's line now says 4
    assert [(r["sku"], r["order_id"], r["qty"]) for r in rows_of(path, SLIP_LINES) if r["order_id"] == "B"] == \
        [("WS1001", "B", 4)]
    assert sum(r["qty"] for r in rows_of(path, SLIP_LINES)) == 8
    # the stock follows: B now reserves 4
    b = next(r for r in read_orders(path) if r["order_id"] == "B")
    assert (b["alloc_sku"], b["alloc_qty"], b["status"]) == ("WS1001", 4, "已开单")
    assert stock(path)["WS1001"] == (10, 5, 5)
    ledger_balances(path)
    # the old signatures stay as history; new ones are needed
    assert [s["valid"] for s in rows_of(path, SIGNATURES)] == ["失效", "失效"]
    assert [r[2] for r in read_sheet(path, LOG.name)[1:]][-2:] == ["print", "reissue"]
    sign_both(path)
    assert statuses(path) == {"A": {"待发货"}, "B": {"待发货"}, "C": {"待发货"}}
    sigs = rows_of(path, SIGNATURES)
    assert [s["valid"] for s in sigs] == ["失效", "失效", "有效", "有效"]
    assert sigs[-1]["fingerprint"] == row["fingerprint"]


def test_reissue_of_an_unchanged_slip_changes_nothing(book_with):
    path = slipped(book_with)
    sign(path, "finance", "李财务")
    before = without_log(path)
    result = do_reissue(path)
    assert result.exit_code == 0 and result.data["outcome"] == "unchanged"
    assert without_log(path) == before


def test_reissue_refusals(book_with):
    path = slipped(book_with, on_hand={"WS1001": 4, "WS1002": 10, "WS1003": 10})
    assert do_reissue(path, "CK20991231-009").data["problems"][0]["code"] == "sign.unknown_slip"
    edit_orders(path, {("B", "WS1001"): {"qty": 9, "amount": 801.0}})   # 4 in stock, 4 reserved already
    before = without_log(path)
    result = do_reissue(path)
    assert result.exit_code == 1 and result.data["problems"][0]["code"] == "reissue.stock_short"
    assert without_log(path) == before
    edit_orders(path, {("B", "WS1001"): {"qty": "三"}})
    assert do_reissue(path).data["problems"][0]["code"] == "reissue.line_invalid"


def test_a_shipped_slip_is_no_longer_judged(book_with):
    path = slipped(book_with)
    sign_both(path)
    code, _ = run_cli("tracking", path, "--order", "A", "--number", "SF1234567890123")
    assert code == 0
    for order in ("B", "C"):
        run_cli("tracking", path, "--order", order, "--number", f"SF12345678901{ord(order)}")
    edit_orders(path, {("B", "WS1001"): {"phone": "13900000000"}})   # a correction after shipping
    code, data = sign(path, "finance", "李财务")
    assert data["voided"] == [] and [s["valid"] for s in rows_of(path, SIGNATURES)] == ["有效", "有效"]
