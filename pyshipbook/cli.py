"""The `shipbook` command: every ribbon button's operation, headless on a workbook file.

Each module in pyshipbook/ops that defines COMMAND is a subcommand. A module
may define `add_arguments(parser)` and `cli(args, ctx) -> Result`; by default
the command opens BOOK, calls `run(book, ctx)` and saves safely.
Exit codes: 0 all good, 1 the book has problems, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
from types import ModuleType

from . import __version__
from .errors import ShipbookError
from .ops.common import EXIT_FAILED, Context, Result, now

MAX_PROBLEMS_SHOWN = 20


def command_modules() -> list[ModuleType]:
    """The ops modules that are commands, in a stable order."""
    from . import ops
    mods = []
    for info in pkgutil.iter_modules(ops.__path__):
        mod = importlib.import_module(f"{ops.__name__}.{info.name}")
        if getattr(mod, "COMMAND", None):
            mods.append(mod)
    order = ["new", "demo", "import_orders", "validate", "allocate", "shortages", "slips", "print_slip", "sign",
             "waybills", "tracking", "export_shipped", "delivered", "close_completed", "daily", "dashboard", "run"]
    return sorted(mods, key=lambda m: (order.index(m.__name__.rsplit(".", 1)[1])
                                       if m.__name__.rsplit(".", 1)[1] in order else len(order), m.COMMAND))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipbook", description="微商发货工作簿 / WeChat-merchant shipping workbook")
    parser.add_argument("--version", action="version", version=f"shipbook {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="输出 JSON / print one JSON object instead of a summary")
    common.add_argument("--as", dest="as_name", metavar="NAME", help="以此身份运行 / act as this user")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in command_modules():
        p = sub.add_parser(mod.COMMAND, help=mod.HELP, description=mod.HELP, parents=[common])
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
        else:
            p.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
        p.set_defaults(module=mod)
    return parser


def default_cli(mod: ModuleType, args, ctx: Context) -> Result:
    from .book.xlsx import open_book
    with open_book(args.book) as book:
        return mod.run(book, ctx)


def print_result(result: Result, as_json: bool, out=None) -> None:
    out = out or sys.stdout
    if as_json:
        json.dump(result.data, out, ensure_ascii=False, default=str)
        out.write("\n")
        return
    out.write(result.zh + "\n" + result.en + "\n")
    problems = result.data.get("problems") or []
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        out.write(f"  行 row {p['row']}: {p.get('order_id') or '-'} {p['severity']} {p['code']}: {p['message']}\n")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        out.write(f"  … 另有 {len(problems) - MAX_PROBLEMS_SHOWN} 个问题 / {len(problems) - MAX_PROBLEMS_SHOWN} more"
                  " (--json 查看全部 / for all)\n")


def fail(zh: str, en: str) -> int:
    sys.stderr.write(f"错误: {zh} / Error: {en}\n".replace("\n", " ").rstrip() + "\n")
    return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "module", None):
        parser.print_help()
        return EXIT_FAILED
    try:
        from .identity import current_identity
        ctx = Context(current_identity(args.as_name), now())
        if not args.json:
            ctx.progress = _terminal_progress()
        mod = args.module
        try:
            result = mod.cli(args, ctx) if hasattr(mod, "cli") else default_cli(mod, args, ctx)
        finally:
            if ctx.progress is not None:
                ctx.progress.close()
    except ShipbookError as exc:
        return fail(exc.zh, exc.en)
    except KeyboardInterrupt:
        return fail("已中断, 工作簿未改动", "interrupted; the workbook was not changed")
    except Exception as exc:  # never a traceback for users; SHIPBOOK_DEBUG=1 shows it
        if os.environ.get("SHIPBOOK_DEBUG"):
            raise
        return fail(f"内部错误 {type(exc).__name__}: {exc}; 工作簿未改动",
                    f"internal error {type(exc).__name__}: {exc}; the workbook was not changed "
                    "(SHIPBOOK_DEBUG=1 shows details)")
    print_result(result, args.json)
    return result.exit_code


class _TerminalProgress:
    """A rich progress bar per step on stderr, only when stderr is a terminal."""

    def __init__(self):
        self._progress = None
        self._tasks: dict[str, int] = {}

    def __call__(self, done: int, total: int, label: str) -> None:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      console=Console(stderr=True), transient=False)
            self._progress.start()
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=max(total, 1))
        self._progress.update(self._tasks[label], completed=done, total=max(total, 1))

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _terminal_progress():
    return _TerminalProgress() if sys.stderr.isatty() else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
