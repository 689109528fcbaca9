"""shipbook run: the morning pipeline on one open book, one save."""

from __future__ import annotations

from conftest import good_line, read_orders, read_sheet, run_cli

from pyshipbook.book.schema import DASHBOARD, LOG, SLIPS


def test_run_takes_clean_paid_lines_to_a_slip_in_one_save(book_with):
    path = book_with([good_line(order_id="A1"), good_line(order_id="B2", phone="13812345679"),
                      good_line(order_id="U3", phone="13812345670", payment_status="未付款", paid_at=None),
                      good_line(order_id="F4", phone="13812345671", recipient=None)])
    code, data = run_cli("run", path, "--json")
    assert code == 1  # F4 has an error
    status = {r["order_id"]: r["status"] for r in read_orders(path)}
    assert status == {"A1": "已开单", "B2": "已开单", "U3": "待付款", "F4": "校验失败"}
    assert set(data["steps"]) >= {"validate", "allocate", "slips", "dashboard"}
    slips = read_sheet(path, SLIPS.name)
    assert len([r for r in slips[1:] if r[0]]) == 1
    ops = [r[2] for r in read_sheet(path, LOG.name)[1:]]
    assert ops[-1] == "run" and ops[:4] == ["validate", "allocate", "slips", ops[3]]
    assert any(r[0] for r in read_sheet(path, DASHBOARD.name)[1:])
    backups = list((path.parent / "~shipbook-backup").iterdir())
    assert len(backups) == 1  # the whole pipeline saved once


def test_run_twice_makes_no_second_slip(book_with):
    path = book_with([good_line(order_id="A1")])
    run_cli("run", path)
    first = [r for r in read_sheet(path, SLIPS.name)[1:] if r[0]]
    code, _ = run_cli("run", path)
    assert code == 0
    assert [r for r in read_sheet(path, SLIPS.name)[1:] if r[0]] == first


def test_terminal_progress_draws_a_bar_per_step(capsys):
    from pyshipbook.cli import _TerminalProgress
    bar = _TerminalProgress()
    bar(0, 5, "校验 / validate")
    bar(5, 5, "校验 / validate")
    bar.close()
    err = capsys.readouterr().err
    assert "validate" in err and "5/5" in err
