"""Shared fixtures: real workbook files built on disk, read back from disk."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from pyshipbook.book.schema import ORDERS, STOCK
from pyshipbook.cli import main
from pyshipbook.sample import make_book, write_orders

NOW = "2026-11-26T15:00:00"


@pytest.fixture(autouse=True)
def _pinned_clock_and_identity(monkeypatch, tmp_path_factory):
    """Every test runs at a known time as a known user, with no real user config."""
    monkeypatch.setenv("SHIPBOOK_NOW", NOW)
    cfg = tmp_path_factory.mktemp("cfg") / "config.toml"
    cfg.write_text('[user]\nname = "测试员"\nrole = "微商专员"\n', encoding="utf-8")
    monkeypatch.setenv("SHIPBOOK_CONFIG", str(cfg))
    monkeypatch.setenv("SHIPBOOK_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def good_line(**over) -> dict:
    """One clean, paid order line whose SKU exists in the sample stock."""
    line = {"order_id": "A001", "ordered_at": dt.datetime(2026, 11, 26, 9, 30), "channel": "微信",
            "customer": "小确幸", "recipient": "王芳", "phone": "13812345678",
            "address": "广东省深圳市南山区科技园南区高新南七道8号", "sku": "WS1001", "product_name": "玫瑰精华面膜",
            "spec": "10片/盒", "qty": 2, "unit_price": 89.0, "amount": 178.0, "payment_status": "已付款",
            "paid_at": dt.datetime(2026, 11, 26, 9, 35)}
    line.update(over)
    return line


@pytest.fixture
def book_with(tmp_path):
    """book_with(lines) -> path of a real .xlsx book with sample stock and these order lines."""
    def make(lines: list[dict], name: str = "book.xlsx", raw_cells: bool = False) -> Path:
        path = tmp_path / name
        make_book(path)
        wb = openpyxl.load_workbook(path)
        ws = wb[ORDERS.name]
        if raw_cells:  # values exactly as given, formulas included
            for r, line in enumerate(lines, 2):
                for c, key in enumerate(ORDERS.keys, 1):
                    if key in line:
                        ws.cell(r, c, line[key])
        else:
            write_orders(ws, lines)
        wb.save(path)
        return path
    return make


def run_cli(*argv) -> tuple[int, dict | str]:
    """Run the shipbook command; returns (exit code, parsed JSON or text)."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    text = out.getvalue()
    if "--json" in argv and text.strip():
        return code, json.loads(text)
    return code, text + err.getvalue()


def read_orders(path: Path) -> list[dict]:
    """订单 rows from the saved file, by contract key (header positions looked up)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[ORDERS.name]
    headers = [c.value for c in ws[1]]
    key_of = {c.header: c.key for c in ORDERS.columns}
    out = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if all(v is None for v in row):
            continue
        out.append({key_of.get(h, h): v for h, v in zip(headers, row)})
    return out


def read_sheet(path: Path, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path)
    return [r for r in wb[name].iter_rows(values_only=True)]


__all__ = ["good_line", "run_cli", "read_orders", "read_sheet", "STOCK", "NOW"]
