"""Benchmark: `validate` end to end vs a plain openpyxl load+save of the same file.

    python bench/bench_validate.py [--sizes 1000 10000 50000] [--repeat 3]

Generates order books (cached in bench/out/), then for each size times:
  - openpyxl load+save of the book (the floor any openpyxl-based command pays),
  - the same load+save with Python's cyclic garbage collector paused, as open_book
    loads and saves (the floor of our own adapter: validate's ratio to it is the
    adapter's and the validation's own cost; the ratio to the plain load+save is
    what a user sees against a naive openpyxl script),
  - `validate` end to end (open, read, check, write, safe save with backup),
  - validate's compute alone (normalise + checks on frames already read),
  - address resolution alone (distinct addresses).
Prints medians and the ratio validate / (load+save). Not a test: nothing asserts speed.
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


def book_for(n: int) -> Path:
    from pyshipbook.sample import make_book
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"orders-{n}.xlsx"
    if not path.exists():
        t = time.perf_counter()
        # ~1/3 of lines share a customer address with another line: realistic repeat buyers
        make_book(path, n_lines=n, seed=n)
        print(f"  generated {path.name} in {time.perf_counter() - t:.1f}s", flush=True)
    return path


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000, 50000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import logging
    import os
    os.environ.setdefault("SHIPBOOK_NOW", "2026-11-26T15:00:00")
    # a fresh region cache: the first validate of each size parses, later runs find its regions
    os.environ["SHIPBOOK_CACHE_DIR"] = tempfile.mkdtemp(prefix="shipbook-bench-cache-")
    logging.disable(logging.WARNING)
    import openpyxl

    from pyshipbook.book.schema import ORDERS, STOCK
    from pyshipbook.book.xlsx import open_book
    from pyshipbook.domain import address
    from pyshipbook.domain.validate import region_key, stock_index, validate_lines
    from pyshipbook.identity import Identity
    from pyshipbook.ops import validate
    from pyshipbook.ops.common import Context

    ctx = Context(Identity("bench"))
    address.resolve_addresses(["浙江省杭州市临平区南苑街道1号"])  # parser warm-up, as any long-lived process

    rows = []
    for n in args.sizes:
        src = book_for(n)
        work = Path(tempfile.mkdtemp()) / src.name
        reps = args.repeat if n <= 20000 else max(1, args.repeat - 1)

        def load_save():
            wb = openpyxl.load_workbook(work)
            wb.save(work)

        def load_save_no_gc():
            gc.disable()
            try:
                wb = openpyxl.load_workbook(work)
                wb.save(work)
            finally:
                gc.enable()

        def run_validate():
            with open_book(work, backups=1) as book:
                validate.run(book, ctx)

        shutil.copy(src, work)
        base = timed(load_save, reps)
        shutil.copy(src, work)
        floor = timed(load_save_no_gc, reps)
        shutil.copy(src, work)
        full = timed(run_validate, reps)

        with open_book(src, write=False) as book:
            orders = book.read_table(ORDERS)
            stock = stock_index(book.read_table(STOCK).frame)
        gc.collect()  # the books closed above are freed now, not inside the compute timings
        compute = timed(lambda: validate_lines(orders.frame, stock, today=ctx.clock.date()), reps)
        warm: dict = {}
        validate_lines(orders.frame, stock, today=ctx.clock.date(), region_cache=warm)
        compute_warm = timed(lambda: validate_lines(orders.frame, stock, today=ctx.clock.date(),
                                                    region_cache=warm), reps)
        # what validate parses: the region part of each distinct address (before the house number)
        distinct = orders.frame["address"].dropna().map(lambda a: region_key(str(a))).unique()
        addr = timed(lambda: address.resolve_addresses(distinct), reps)
        shutil.rmtree(work.parent, ignore_errors=True)
        m = statistics.median
        rows.append((n, m(base), m(floor), m(full), m(full) / m(base), m(full) / m(floor), m(compute),
                     m(compute_warm), m(addr), len(distinct)))
        print(f"{n:>6} lines: load+save {m(base):6.2f}s (GC paused {m(floor):6.2f}s)  validate {m(full):6.2f}s  "
              f"ratio {m(full) / m(base):4.2f} ({m(full) / m(floor):4.2f})  "
              f"compute {m(compute):5.2f}s (known regions {m(compute_warm):5.2f}s)  (addresses {m(addr):5.2f}s for {len(distinct)} distinct)", flush=True)
    print("\n| lines | openpyxl load+save | same, GC paused | validate end to end | ratio | ratio to GC-paused |"
          " compute | compute, regions known | addresses alone |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, b, fl, f, r, rf, c, w, a, d in rows:
        print(f"| {n:,} | {b:.2f} s | {fl:.2f} s | {f:.2f} s | {r:.2f} | {rf:.2f} | {c:.2f} s | {w:.2f} s |"
              f" {a:.2f} s ({d:,} regions) |")


if __name__ == "__main__":
    main()
