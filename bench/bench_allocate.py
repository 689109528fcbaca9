"""Benchmark: `allocate` and `slips` end to end vs a plain openpyxl load+save of the same file.

    python bench/bench_allocate.py [--sizes 10000 50000] [--repeat 3]

For each size it prepares (once, cached in bench/out/) a validated order book
whose 库存 holds about 85 % of each SKU's demand, so most orders are served,
some are short and the 缺货 plan is non-trivial. Then it times, each run on a
fresh copy:
  - openpyxl load+save of that book (the floor any openpyxl-based command pays),
  - `allocate` end to end (open, read, allocate, write 订单/库存/缺货, safe save with backup),
  - `slips` end to end on the allocated book (one slip for every allocated order),
  - the pure domain work alone (allocation + plan; slip planning + fingerprints) on frames already read.
Prints medians and the ratios to load+save. Not a test: nothing asserts speed.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
SHARE = 0.85   # of each SKU's demand on hand


def source_for(n: int) -> Path:
    """The same orders-N book bench_validate.py generates (and caches) for N lines."""
    from bench_validate import book_for  # bench/ is on sys.path when this runs as a script
    return book_for(n)


def prepared_for(n: int, ctx) -> Path:
    """orders-N validated, with 库存数量 = 85 % of each SKU's demand (cached as alloc-N.xlsx)."""
    path = OUT / f"alloc-{n}.xlsx"
    if path.exists():
        return path
    import openpyxl

    from pyshipbook.book.schema import ORDERS, STOCK
    from pyshipbook.book.xlsx import open_book
    from pyshipbook.ops import validate
    t = time.perf_counter()
    tmp = OUT / f".alloc-{n}.tmp.xlsx"
    shutil.copy(source_for(n), tmp)
    with open_book(tmp, backups=0) as book:
        validate.run(book, ctx)
        frame = book.read_table(ORDERS).frame
    demand = frame.groupby("sku")["qty"].apply(lambda q: sum(v for v in q if isinstance(v, int)))
    wb = openpyxl.load_workbook(tmp)
    ws = wb[STOCK.name]
    c_sku, c_on = STOCK.keys.index("sku") + 1, STOCK.keys.index("on_hand") + 1
    for r in range(2, ws.max_row + 1):
        sku = ws.cell(r, c_sku).value
        if sku:
            ws.cell(r, c_on, int(demand.get(sku, 0) * SHARE))
    wb.save(tmp)
    shutil.rmtree(OUT / "~shipbook-backup", ignore_errors=True)
    tmp.replace(path)
    print(f"  prepared {path.name} (validated, stock at {SHARE:.0%} of demand) in {time.perf_counter() - t:.1f}s",
          flush=True)
    return path


def fresh(src: Path, work: Path) -> Path:
    shutil.copy(src, work)
    shutil.rmtree(work.parent / "~shipbook-backup", ignore_errors=True)
    return work


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import logging
    import os
    os.environ.setdefault("SHIPBOOK_NOW", "2026-11-26T15:00:00")
    logging.disable(logging.WARNING)
    import openpyxl

    from pyshipbook.book.xlsx import open_book
    from pyshipbook.domain import allocation as al
    from pyshipbook.domain import slips as sl
    from pyshipbook.identity import Identity
    from pyshipbook.ops import allocate, slips
    from pyshipbook.ops.allocate import read_state
    from pyshipbook.ops.common import Context

    ctx = Context(Identity("bench", "库管员"))
    rows = []
    for n in args.sizes:
        src = prepared_for(n, ctx)
        tmpdir = Path(tempfile.mkdtemp())
        work = tmpdir / src.name
        allocated_copy = tmpdir / f"allocated-{n}.xlsx"
        reps = args.repeat if n <= 20000 else max(1, args.repeat - 1)
        base, floor, t_alloc, t_slips = [], [], [], []
        info = {}
        for _ in range(reps):
            fresh(src, work)
            t = time.perf_counter()
            wb = openpyxl.load_workbook(work)
            wb.save(work)
            base.append(time.perf_counter() - t)

            fresh(src, work)  # the same with the collector paused, as open_book loads and saves
            gc.disable()
            try:
                t = time.perf_counter()
                wb = openpyxl.load_workbook(work)
                wb.save(work)
                floor.append(time.perf_counter() - t)
            finally:
                gc.enable()

            fresh(src, work)
            t = time.perf_counter()
            with open_book(work, backups=1) as book:
                r = allocate.run(book, ctx)
            t_alloc.append(time.perf_counter() - t)
            info["allocated"], info["short"] = len(r.data["allocated_orders"]), len(r.data["short_orders"])
            shutil.copy(work, allocated_copy)

            fresh(allocated_copy, work)
            t = time.perf_counter()
            with open_book(work, backups=1) as book:
                r = slips.run(book, ctx)
            t_slips.append(time.perf_counter() - t)
            info["slip_lines"] = sum(s["lines"] for s in r.data["slips"])

        with open_book(src, write=False) as book:
            _, _, lines, stock, _ = read_state(book, ctx)

        def compute_alloc():
            a = al.allocate(lines, stock)
            al.shortage_plan(lines, a.status, stock, a.position)

        c_alloc = [0.0] * reps
        for i in range(reps):
            t = time.perf_counter()
            compute_alloc()
            c_alloc[i] = time.perf_counter() - t
        with open_book(allocated_copy, write=False) as book:
            _, _, alines, astock, _ = read_state(book, ctx)
        c_slips = [0.0] * reps
        for i in range(reps):
            t = time.perf_counter()
            plan = sl.plan_slips(alines, astock)
            sl.draft_slips(plan, astock, sl.next_slip_numbers([], ctx.clock.date(), len(plan.groups)))
            c_slips[i] = time.perf_counter() - t
        shutil.rmtree(tmpdir, ignore_errors=True)
        m = statistics.median
        rows.append((n, m(base), m(floor), m(t_alloc), m(t_slips), m(c_alloc), m(c_slips), info))
        print(f"{n:>6} lines: load+save {m(base):6.2f}s (GC paused {m(floor):6.2f}s)  allocate {m(t_alloc):6.2f}s "
              f"(ratio {m(t_alloc) / m(base):4.2f}, compute {m(c_alloc):5.2f}s)  slips {m(t_slips):6.2f}s "
              f"(ratio {m(t_slips) / m(base):4.2f}, compute {m(c_slips):5.2f}s)  {info}", flush=True)
    print("\n| lines | openpyxl load+save | same, GC paused | allocate end to end | ratio (to GC-paused) "
          "| allocate compute | slips end to end | ratio (to GC-paused) | slips compute "
          "| orders allocated / short, slip lines |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, b, fl, a, s, ca, cs, info in rows:
        print(f"| {n:,} | {b:.2f} s | {fl:.2f} s | {a:.2f} s | {a / b:.2f} ({a / fl:.2f}) | {ca:.2f} s | {s:.2f} s "
              f"| {s / b:.2f} ({s / fl:.2f}) | {cs:.2f} s | {info['allocated']:,} / {info['short']:,}, "
              f"{info['slip_lines']:,} |")


if __name__ == "__main__":
    main()
