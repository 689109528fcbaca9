"""演示 (demo): a day of a WeChat merchant, end to end on a sample workbook."""

from __future__ import annotations

from pathlib import Path

from ..errors import ShipbookError
from .common import EXIT_OK, Context, Result

COMMAND = "demo"
HELP = "演示 / make a sample workbook and a day's shop export, then import and validate it"


def add_arguments(parser) -> None:
    parser.add_argument("dir", nargs="?", default="shipbook-demo",
                        help="放示例文件的文件夹 / folder for the sample files (default: shipbook-demo)")
    parser.add_argument("--lines", type=int, default=200, help="订单行数 / order lines (default 200)")


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book
    from ..sample import make_book, order_rows, write_export_csv
    from . import import_orders, validate
    from .new import stamp_new

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    book_path = folder / "shipbook-demo.xlsx"
    export = folder / "微信小店订单导出.csv"
    for p in (book_path, export):
        if p.exists():
            p.unlink()
    if args.lines < 1:
        raise ShipbookError("行数须大于0", "--lines must be at least 1")
    make_book(book_path)
    stamp_new(book_path, "demo", ctx)  # the sample book's 工作簿编号 and first 版本 row
    write_export_csv(export, order_rows(args.lines), encoding="gbk")
    steps = []
    with open_book(book_path) as book:
        steps.append(import_orders.run(book, ctx, export))
    with open_book(book_path) as book:
        steps.append(validate.run(book, ctx))
    zh = "\n".join(s.zh for s in steps) + f"\n示例工作簿: {book_path} (用 Excel 打开查看 校验结果)"
    en = "\n".join(s.en for s in steps) + f"\nsample workbook: {book_path}"
    return Result(COMMAND, EXIT_OK, zh, en,
                  {"book": str(book_path), "export": str(export),
                   "steps": {s.operation: {k: v for k, v in s.data.items() if k != "problems"} for s in steps},
                   "problems": steps[-1].data.get("problems", [])})
