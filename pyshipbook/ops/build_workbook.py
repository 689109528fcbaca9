"""构建工作簿 (build-workbook): shipbook.xlsm, byte for byte, from templates/ and the button table."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import ShipbookError
from .common import EXIT_OK, Context, Result

COMMAND = "build-workbook"
HELP = "构建 shipbook.xlsm (功能区 + VBA) / rebuild the macro workbook from templates/, byte for byte"


def add_arguments(parser) -> None:
    parser.add_argument("out", nargs="?", metavar="OUT",
                        help="输出文件 / output .xlsm (default: shipbook.xlsm in the source checkout)")
    parser.add_argument("--force", action="store_true",
                        help="覆盖已使用过的工作簿 / overwrite OUT even if it was used since it was built")


def cli(args, ctx: Context) -> Result:
    from ..build import DEFAULT_OUT, ROOT, build_bytes, build_workbook, is_pristine_build
    if args.out:
        out = Path(args.out)
    elif (ROOT / "pyproject.toml").is_file():
        out = DEFAULT_OUT
    else:
        raise ShipbookError("请指定输出文件 (未在 shipbook 源码目录中运行)",
                            "give OUT: shipbook is not running from a source checkout")
    unchanged = False
    if out.exists():
        if not (args.force or is_pristine_build(out)):
            raise ShipbookError(
                f"{out} 在构建后被使用或修改过, 未覆盖 (确定要覆盖请加 --force)",
                f"{out} was used or changed since it was built; not overwritten (--force overwrites it)")
        unchanged = out.read_bytes() == build_bytes()
    if not unchanged:
        build_workbook(out, overwrite=True)
    data = out.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    from ..buttons import BUTTONS
    state_zh, state_en = ("未变", "unchanged") if unchanged else ("已构建", "built")
    return Result(COMMAND, EXIT_OK, f"{state_zh} {out} ({len(BUTTONS)} 个按钮, sha256 {digest[:12]})",
                  f"{state_en} {out} ({len(BUTTONS)} buttons, sha256 {digest[:12]})",
                  {"book": str(out), "bytes": len(data), "sha256": digest, "changed": not unchanged,
                   "buttons": [b.id for b in BUTTONS]})
