"""新建 (new): a fresh workbook with every contract sheet."""

from __future__ import annotations

from pathlib import Path

from ..errors import ShipbookError
from .common import EXIT_OK, Context, Result

COMMAND = "new"
HELP = "新建工作簿 / create a fresh workbook with every contract sheet"


def add_arguments(parser) -> None:
    parser.add_argument("book", help="新工作簿 / new workbook file (.xlsx; .xlsm gets the ribbon and macros)")


def create(path: Path, ctx: Context | None = None) -> Path:
    """Make the book, then save it once more through shipbook: that gives it its 工作簿编号 (a new UUID,
    never the template's: the built template carries none) and its first 版本 row."""
    path = _make(path)
    stamp_new(path, "new", ctx)
    return path


def stamp_new(path: Path, operation: str, ctx: Context | None) -> None:
    from ..book.xlsx import open_book
    with open_book(path, backups=0) as book:
        book.note_operation(operation, ctx.identity.name if ctx else "", ctx.clock if ctx else None)


def _make(path: Path) -> Path:
    from ..book.xlsx import new_workbook, save_new
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise ShipbookError(f"文件名须以 .xlsx 或 .xlsm 结尾: {path.name}",
                            f"the file name must end in .xlsx or .xlsm: {path.name}")
    if path.suffix.lower() == ".xlsm":
        try:
            from ..build import build_workbook
        except ImportError:
            raise ShipbookError("无法创建 .xlsm: 缺少构建组件 (pip install -e '.[build]')",
                                "cannot create .xlsm: the build extras are missing (pip install -e '.[build]')"
                                ) from None
        build_workbook(path)
        return path
    save_new(new_workbook(), path)
    return path


def cli(args, ctx: Context) -> Result:
    path = create(Path(args.book), ctx)
    return Result(COMMAND, EXIT_OK, f"已创建工作簿 {path}", f"created workbook {path}", {"book": str(path)})
