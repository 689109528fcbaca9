"""Odd workbooks through the real command: never a traceback, refusals leave the file as it was."""

from __future__ import annotations

import datetime as dt
import hashlib

import openpyxl
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.book.schema import ORDERS, STOCK
from pyshipbook.sample import stock_rows, write_stock

headers = [c.header for c in ORDERS.columns] + ["备注2", "", None, "订单号", " 电 话 ", "qty", "ＳＫＵ"]
value = st.one_of(st.none(), st.text(max_size=12), st.integers(-5, 10**12), st.floats(allow_nan=True),
                  st.booleans(), st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2040, 1, 1)),
                  st.sampled_from(["=1+1", "=A1", "WS1001", "13812345678", "广东省深圳市南山区1号", "已付款"]))

contract_headers = [c.header for c in ORDERS.columns]
header_row = st.builds(
    lambda order, dropped, extra, at: [h for h in order if h not in dropped][:at] + extra
    + [h for h in order if h not in dropped][at:],
    st.permutations(contract_headers),
    st.sets(st.sampled_from(contract_headers), max_size=2),   # now and then a required column is gone
    st.lists(st.sampled_from(headers), max_size=4),            # user columns, duplicates, blanks
    st.integers(0, len(contract_headers)))

book_shape = st.fixed_dictionaries({
    "headers": st.one_of(header_row, header_row, header_row, st.lists(st.sampled_from(headers), max_size=30)),
    "title_rows": st.integers(0, 3),
    "rows": st.lists(st.lists(value, min_size=10, max_size=30), max_size=8),
    "merge_header": st.booleans(),
    "with_stock": st.sampled_from([True, True, True, False]),
    "orders_name": st.sampled_from(["订单", "订单", "订单", "Orders"]),
})


def _write(path, shape) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = shape["orders_name"]
    for i in range(shape["title_rows"]):
        ws.cell(i + 1, 1, f"标题{i}")
    top = shape["title_rows"] + 1
    for c, h in enumerate(shape["headers"], 1):
        ws.cell(top, c, h)
    if shape["merge_header"] and len(shape["headers"]) > 2:
        ws.merge_cells(start_row=top, start_column=1, end_row=top, end_column=2)
    for r, row in enumerate(shape["rows"], top + 1):
        for c, v in enumerate(row, 1):
            if isinstance(v, str):
                v = openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", v)
            ws.cell(r, c, v)
    if shape["with_stock"]:
        stock = wb.create_sheet(STOCK.name)
        for c, col in enumerate(STOCK.columns, 1):
            stock.cell(1, c, col.header)
        write_stock(stock, stock_rows(5))
    wb.save(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(shape=book_shape)
def test_odd_books_get_an_answer_not_a_traceback(tmp_path, shape):
    path = tmp_path / "odd.xlsx"
    _write(path, shape)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, text = run_cli("validate", path)
    assert code in (0, 1, 2), text
    assert "Traceback" not in text and "内部错误" not in text, text
    if code == 2:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert text.count("\n") == 1  # one clear line
    else:
        wb = openpyxl.load_workbook(path)  # what was saved is a readable workbook
        assert ORDERS.name in wb.sheetnames
