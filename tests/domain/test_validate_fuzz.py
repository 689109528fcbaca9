"""Bad input never raises: random cell values through the pure validation core."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyshipbook.book.schema import ORDERS, STATUSES
from pyshipbook.domain.normalize import clean_text
from pyshipbook.domain.validate import stock_index, validate_lines
from pyshipbook.sample import stock_rows

logging.disable(logging.WARNING)

STOCK = stock_index(pd.DataFrame(stock_rows(), dtype=object))

cell = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", " ", "=1+1", "+86 138 1234 5678", "１３８１２３４５６７８", "WS1001", "已付款", "货到付款",
                     "2026/11/26 14:00", "11月26日", "广东省深圳市南山区1号", "朝阳区1号", "\t", "NaN", "-0"]),
    st.integers(min_value=-10**18, max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
row = st.fixed_dictionaries({k: cell for k in ORDERS.keys})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=8))
def test_random_cells_never_raise_and_every_line_gets_a_verdict(rows):
    raw = pd.DataFrame(rows, columns=ORDERS.keys, dtype=object)
    raw.index = pd.Index(range(2, 2 + len(raw)), name="row")
    v = validate_lines(raw, STOCK, today=dt.date(2026, 11, 26))
    assert list(v.check.index) == list(raw.index)
    assert all(isinstance(c, str) and c for c in v.check)
    for r, s in v.status.items():
        kept = clean_text(raw.at[r, "status"])
        if kept in STATUSES or kept is None:
            assert s in STATUSES  # a lifecycle state (recomputed or kept)
        else:
            assert s == kept and f"[status.unknown]" in v.check[r]  # unknown text kept, flagged
    # a line with an error never passes
    error_rows = {p.row for p in v.problems if p.severity == "error"}
    for r in error_rows:
        assert v.check[r] != "OK"


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=5))
def test_problems_point_at_real_rows_with_known_codes(rows):
    from pyshipbook.domain.problems import CODES
    raw = pd.DataFrame(rows, columns=ORDERS.keys, dtype=object)
    raw.index = pd.Index(range(5, 5 + len(raw)), name="row")
    v = validate_lines(raw, STOCK, today=dt.date(2026, 11, 26))
    for p in v.problems:
        assert p.row in raw.index
        assert p.code in CODES
        assert f"[{p.code}]" in v.check[p.row]


def test_an_unreadable_cell_is_kept_as_each_line_wrote_it():
    raw = pd.DataFrame([{"ordered_at": -0.0}, {"ordered_at": 0.0}, {"ordered_at": Decimal("2.00")},
                        {"ordered_at": Decimal("2")}, {"qty": (1,)}, {"qty": (1.0,)}], dtype=object)
    raw = raw.reindex(columns=ORDERS.keys)
    raw.index = pd.Index(range(2, 8))
    norm = validate_lines(raw, STOCK, today=dt.date(2026, 11, 26)).lines.norm
    shown = norm["ordered_at"].tolist()[:4]
    assert [(type(v), str(v)) for v in shown] == [(float, "-0.0"), (float, "0.0"), (Decimal, "2.00"), (Decimal, "2")]
    assert [type(v[0]) for v in norm["qty"].tolist()[4:]] == [int, float]


def test_formula_text_is_found_in_numpy_strings_too():
    raw = pd.DataFrame([{"sku": np.str_("=1+1")}, {"sku": "=1+1"}], dtype=object).reindex(columns=ORDERS.keys)
    raw.index = pd.Index([2, 3])
    v = validate_lines(raw, STOCK, today=dt.date(2026, 11, 26))
    assert sorted(p.row for p in v.problems if p.code == "cell.formula") == [2, 3]
