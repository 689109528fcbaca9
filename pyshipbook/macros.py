"""The ribbon's Python side: what each 发货 button does in Excel.

Every button calls the VBA shim, which runs
``RunPython "import pyshipbook.macros as m; m.click('<button id>')"`` — a
fresh Python per click. `click` maps the button (buttons.BUTTONS) to the
operation the ``shipbook`` command runs, ``ops.<Button.operation>.run(book,
ctx, **inputs)`` (or the module's function named by ``Button.entry`` when the
command calls another one: 重开出库单 runs ``ops.reissue.reissue``, as
``shipbook slips BOOK --reissue SLIP`` does), on the open workbook through the
xlwings adapter (book/live.py) instead of the openpyxl one: the two paths share
every line of business logic.

A click, step by step:

1. the button's ops module is found; a button whose module is not in this
   version says so in a message box (``not available in this version``);
2. **ButtonInput**: the inputs its ``run`` needs beyond (book, ctx) are
   gathered through Excel — the import file from Excel's Open dialog, the
   slip from the selected row of 出库单 … (`INPUTS`, below). Cancelling a
   dialog stops quietly; a wrong selection says what to select;
3. the operation runs with screen updating off, calculation manual and
   events off (restored afterwards, also on error), progress in the status
   bar;
4. what the button does in Excel after success, if anything (`AFTER`: 打印
   brings 出库单打印 to the front for Ctrl+P), then its summary (Chinese,
   then English) in a message box.

Nothing escapes `click`: a ShipbookError becomes its bilingual message, any
other error a bilingual "internal error" box naming a log file with the
details — never a Python traceback window (RunPython shows one only when
Python exits non-zero).

Adding an input for a button: write ``def gather_x(live, ui, button) ->
value`` (read the book through ``live``, ask through ``ui``; raise
`Cancelled` to stop quietly, ShipbookError to explain) and add
``ButtonInput("param", gather_x)`` to ``INPUTS[button id]``; ``param`` is the
keyword of the function the button runs (the module's ``run``, or the one
``Button.entry`` names). A test checks every gathered param is one it accepts
and every required parameter of it is gathered.

Importing this module must stay cheap (RunPython pays it on every click):
pandas, openpyxl and xlwings are imported inside functions only (a test
checks a fresh ``import pyshipbook.macros`` loads none of them).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .buttons import BUTTONS, BY_ID, Button
from .errors import ShipbookError

OPS_PACKAGE = "pyshipbook.ops"
MAX_PROBLEMS_SHOWN = 5


class Cancelled(Exception):
    """The user cancelled an input: the click stops quietly, nothing was changed."""


@dataclass(frozen=True)
class ButtonInput:
    """One keyword argument of a button's ``run``, gathered through Excel before the operation starts.

    gather(live, ui, button) -> value: `live` is the LiveBook (read tables through it), `ui` the
    ExcelUI (dialogs, the selected cell). Raise Cancelled to stop quietly, ShipbookError to explain.
    """

    param: str
    gather: Callable
    zh: str = ""
    en: str = ""


# -- input gatherers -------------------------------------------------------------------------------
IMPORT_FILTER = ("订单导出 Order exports (*.xlsx;*.xlsm;*.xls;*.csv;*.txt),*.xlsx;*.xlsm;*.xls;*.csv;*.txt,"
                 "所有文件 All files (*.*),*.*")


def ask_import_file(live, ui, button: Button) -> str:
    """The shop / WeChat export to import, from Excel's Open dialog."""
    path = ui.ask_open_file(f"{button.label}: 选择订单导出文件 / choose the shop's export", IMPORT_FILTER)
    if not path:
        raise Cancelled()
    from .book import sources
    sources.check_file(path)  # a clear refusal before anything is read
    return str(path)


def selected_slip(live, ui, button: Button) -> str:
    """The 出库单号 of the row selected on 出库单."""
    from .book.schema import SLIPS
    where = (f"请先在「{SLIPS.name}」表中点选要{button.label}的出库单所在的行, 再点「{button.label}」",
             f"select the row of the slip on sheet {SLIPS.name} first, then click {button.label} again")
    cell = ui.selected_cell()
    if cell is None or cell[0] != SLIPS.name:
        raise ShipbookError(*where)
    table = live.read_table(SLIPS, required=("slip_no",))
    row = cell[1]
    value = table.frame.at[row, "slip_no"] if row in table.frame.index else None
    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        raise ShipbookError(f"所选的第 {row} 行没有出库单号. " + where[0],
                            f"row {row} has no slip number; " + where[1])
    return str(value).strip()


_AREA = re.compile(r"(?:[^!]*!)?\$?[A-Za-z]{0,3}\$?(\d+)(?::\$?[A-Za-z]{0,3}\$?(\d+))?")


def several_rows_selected(ui) -> bool:
    """Whether the selection spans more than one row.

    The first area's rows (Range.shape); a selection of several areas (Ctrl+click: an address such as
    "$A$2,$A$5", whose shape under COM is its first area's only) by the rows of every area; an area
    without row numbers (a whole column, "$A:$A") spans many."""
    sel = ui.book.selection
    if sel is None:
        return False
    try:
        if int(sel.shape[0]) > 1:
            return True
    except Exception:
        pass
    try:
        address = str(sel.address)
    except Exception:
        return False
    rows: set[int] = set()
    for area in address.split(","):
        m = _AREA.fullmatch(area.strip())
        if m is None:
            return True
        rows.update({int(m.group(1)), int(m.group(2) or m.group(1))})
    return len(rows) > 1


def one_selected_slip(live, ui, button: Button) -> str:
    """签字 / 打印 / 重开出库单: the 出库单号 of the one row selected on 出库单. A selection over several rows
    is refused: a signature, a print or a re-issue is for the slip meant, never the first of several."""
    from .book.schema import SLIPS
    cell = ui.selected_cell()
    if cell is not None and cell[0] == SLIPS.name and several_rows_selected(ui):
        raise ShipbookError(f"一次只能{button.label}一张: 现在选中了多行。请在「{SLIPS.name}」表中只点选要"
                            f"{button.label}的那一行, 再点「{button.label}」",
                            f"one slip at a time: several rows are selected. Select the single row of the slip "
                            f"on sheet {SLIPS.name}, then click {button.label} again")
    return selected_slip(live, ui, button)


def book_folder(live) -> Path:
    """The folder of the workbook open in Excel (it must be saved on this computer)."""
    full = str(live.xw.fullname)
    path = Path(full)
    if "://" in full or not path.is_absolute() or not path.parent.is_dir():
        raise ShipbookError("请先把工作簿保存到本机文件夹 (OneDrive/SharePoint 上的文件请先同步到本机)",
                            "save the workbook to a folder on this computer first (sync OneDrive/SharePoint files)")
    return path.parent


def attachment_beside_book(live, ui, button: Button):
    """订货明细单: the .xlsx attachment goes beside the workbook, as the command's default does."""
    from .ops.daily import file_delivery
    return file_delivery(book_folder(live) / Path(str(live.xw.fullname)).name)


# -- asking: a text box, a choice ----------------------------------------------------------------------
def ask_text(ui, title: str, prompt: str, default: str = "") -> str:
    """A line of text typed by the user (Excel's InputBox); Cancelled when cancelled or left blank.

    A UI with its own ``ask_text(title, prompt, default)`` (tests, or a future ExcelUI method) is used
    as it is; otherwise Excel's Application.InputBox (Windows) or an AppleScript dialog (macOS).
    """
    ask = getattr(ui, "ask_text", None)
    answer = ask(title, prompt, default) if callable(ask) else _input_box(ui, title, prompt, default)
    if answer is None or answer is False or not str(answer).strip():
        raise Cancelled()
    return str(answer).strip()


def _input_box(ui, title: str, prompt: str, default: str):
    import sys
    if sys.platform == "darwin":
        import subprocess
        script = (f'text returned of (display dialog "{prompt.replace(chr(34), "")}" default answer '
                  f'"{default.replace(chr(34), "")}" with title "{title.replace(chr(34), "")}")')
        done = subprocess.run(["osascript", "-e", script], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None
    try:
        answer = ui.book.app.api.InputBox(Prompt=prompt[:250], Title=title, Default=default, Type=2)
    except Exception:  # no input box on this engine
        raise ShipbookError("此环境不能弹出输入框, 请用命令行 shipbook", "no input box here; use the shipbook command") \
            from None
    return None if answer is False or answer == "False" else answer


ROLE_CHOICES = {"1": "finance", "2": "logistics"}


def signing_role(live, ui, button: Button) -> str:
    """签字: the role to sign as. The user's configured role when it is 财务总监 / 物流总监, else the one
    role 设置 names the user for, else a choice (1 财务总监, 2 物流总监)."""
    from .domain import signatures as sg
    from .identity import current_identity
    me = current_identity()
    own = sg.role_of(me.role)
    if own:
        return own
    settings = live.read_settings()
    named = [r for r in sg.ROLES if sg.person_key(me.name) in sg._allowed(settings, r)]
    if len(named) == 1:
        return named[0]
    answer = ask_text(ui, f"{button.label}: 签字角色 / role",
                      f"{me.name}, 以什么角色签字? / sign as:\n1 = 财务总监 finance\n2 = 物流总监 logistics", "1")
    role = ROLE_CHOICES.get(answer.strip()) or sg.role_of(answer)
    if role is None:
        raise ShipbookError(f"「{answer}」不是签字角色: 请输入 1 (财务总监) 或 2 (物流总监)",
                            f"'{answer}' is not a signing role: type 1 (finance) or 2 (logistics)")
    return role


def book_folder_input(live, ui, button: Button) -> str:
    """生成运单 / 导出批量发货: the file goes beside the workbook (the operation names it)."""
    return str(book_folder(live))


EXCEL_ROWS = 1_048_576


def selected_orders(live, ui) -> list[str]:
    """订单号 of the rows selected on 订单 (several rows may be selected); [] when 订单 is not selected."""
    from .book.schema import ORDERS
    cell = ui.selected_cell()
    if cell is None or cell[0] != ORDERS.name:
        return []
    first, count = cell[1], 1
    try:
        count = max(1, int(ui.book.selection.shape[0]))
    except Exception:
        pass
    if first + count - 1 >= EXCEL_ROWS or (first <= 1 and count > 1):
        # a whole column or sheet: 签收 would take every shipped order, not the ones meant
        raise ShipbookError("请只选中要处理的订单所在的行, 不要选整列或整张表",
                            "select the rows of the orders meant, not a whole column or the whole sheet")
    table = live.read_table(ORDERS, required=("order_id",))
    rows = [r for r in table.frame.index if first <= r < first + count]
    out = []
    for r in rows:
        v = table.frame.at[r, "order_id"]
        if v is not None and not (isinstance(v, float) and v != v) and str(v).strip():
            v = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
            if v not in out:
                out.append(v)
    if not out:
        raise ShipbookError(f"所选的第 {first} 行没有订单号; 请点选订单所在的行, 或点选其他表以选择文件",
                            f"row {first} has no order id: select an order's row, or another sheet to choose a file")
    return out


def _file_unless_orders(live, ui, button: Button, what_zh: str, what_en: str) -> str | None:
    if selected_orders(live, ui):
        return None
    path = ui.ask_open_file(f"{button.label}: {what_zh} / {what_en}", IMPORT_FILTER)
    if not path:
        raise Cancelled()
    from .book import sources
    sources.check_file(path)
    return str(path)


def tracking_file(live, ui, button: Button) -> str | None:
    """登记快递单号: the courier's result file (Open dialog), unless an order row is selected on 订单."""
    return _file_unless_orders(live, ui, button, "选择快递单号文件", "choose the courier's result file")


def tracking_order(live, ui, button: Button) -> str | None:
    """登记快递单号: the order of the row selected on 订单 (one order at a time)."""
    orders = selected_orders(live, ui)
    if len(orders) > 1:
        raise ShipbookError("一次只能为一个订单输入快递单号; 请只点选一行",
                            "tracking numbers are typed for one order at a time: select one row")
    return orders[0] if orders else None


def tracking_number(live, ui, button: Button) -> str | None:
    """登记快递单号: the number(s) for the selected order, typed in an input box."""
    orders = selected_orders(live, ui)
    if not orders:
        return None
    return ask_text(ui, f"{button.label}: {orders[0]}",
                    f"订单 {orders[0]} 的快递单号 (多个包裹用逗号分隔)\ntracking number(s) for {orders[0]} "
                    "(several parcels: comma-separated)")


def export_platform(live, ui, button: Button) -> str:
    """导出批量发货: which shop platform's file (wechat, taobao, youzan, generic)."""
    from .ops.export_shipped import find_platform
    choices = {"1": "wechat", "2": "taobao", "3": "youzan", "4": "generic"}
    answer = ask_text(ui, f"{button.label}: 平台 / platform",
                      "导出哪个平台的批量发货文件? / which platform?\n1 = 微信小店 wechat\n2 = 淘宝 taobao\n"
                      "3 = 有赞 youzan\n4 = 通用 generic", "1")
    key, _ = find_platform(choices.get(answer.strip(), answer))
    return key


def delivered_file(live, ui, button: Button) -> str | None:
    """签收: the courier's tracking export (Open dialog), unless order rows are selected on 订单."""
    return _file_unless_orders(live, ui, button, "选择签收/物流导出文件", "choose the courier's tracking export")


def delivered_orders(live, ui, button: Button) -> list[str] | None:
    """签收: the orders of the rows selected on 订单, signed for now."""
    return selected_orders(live, ui) or None


ONE_SLIP = ButtonInput("slip_no", one_selected_slip, "在「出库单」表中选中的一张出库单 (只能选一行)",
                       "the one slip selected on 出库单 (a single row)")  # 签字, 打印, 重开出库单
INPUTS: dict[str, tuple[ButtonInput, ...]] = {
    "sbImport": (ButtonInput("file_path", ask_import_file, "在打开对话框中选择店铺导出文件",
                             "the shop's export, chosen in Excel's Open dialog"),),
    "sbSign": (ONE_SLIP,
               ButtonInput("role", signing_role, "签字角色: 配置中的角色, 或设置中指定的角色, 否则询问",
                           "the role: the configured one, the one 设置 names the user for, else asked")),
    "sbPrint": (ONE_SLIP,),
    "sbReissue": (ONE_SLIP,),
    "sbWaybills": (ButtonInput("out", book_folder_input, "快递批量下单文件 运单-快递-时间.xlsx 写在工作簿旁 "
                               "(快递公司: 设置 默认快递)", "the courier's upload file, written beside the workbook "
                               "(courier: 设置 默认快递)"),),
    "sbTracking": (ButtonInput("file_path", tracking_file, "快递单号文件 (打开对话框); 在「订单」表选中一行时不用",
                               "the courier's result file (Open dialog), unless an order row is selected"),
                   ButtonInput("order_id", tracking_order, "在「订单」表中选中的订单", "the order selected on 订单"),
                   ButtonInput("number", tracking_number, "为该订单输入的快递单号 (输入框)",
                               "its tracking number(s), typed in an input box")),
    "sbExportShipped": (ButtonInput("platform", export_platform, "平台 (输入框: 1 微信小店 2 淘宝 3 有赞 4 通用)",
                                    "the platform (input box: 1 wechat 2 taobao 3 youzan 4 generic)"),
                        ButtonInput("out", book_folder_input, "批量发货文件写在工作簿旁",
                                    "the file is written beside the workbook")),
    "sbDelivered": (ButtonInput("file_path", delivered_file, "签收导出文件 (打开对话框); 在「订单」表选中行时不用",
                                "the courier's tracking export (Open dialog), unless order rows are selected"),
                    ButtonInput("orders", delivered_orders, "在「订单」表中选中的订单 (现在签收)",
                                "the orders selected on 订单, signed for now")),
    "sbDaily": (ButtonInput("deliver", attachment_beside_book, "附件 订货明细单-日期.xlsx 写在工作簿旁",
                            "the .xlsx attachment, written beside the workbook"),),
}


def show_waybills(live, ui, result) -> None:
    """After 生成运单: bring 运单 to the front when rows were added."""
    from .book.schema import WAYBILLS
    if result.data.get("added") and live.has_sheet_named(WAYBILLS.name):
        live.xw.sheets[WAYBILLS.name].activate()


def show_print_sheet(live, ui, result) -> None:
    """After 打印: bring 出库单打印 to the front, ready for Ctrl+P."""
    from .book.schema import SLIP_PRINT_SHEET
    if result.exit_code == 0 and live.has_sheet_named(SLIP_PRINT_SHEET):
        live.xw.sheets[SLIP_PRINT_SHEET].activate()


def show_reprinted(live, ui, result) -> None:
    """After 重开出库单: bring 出库单打印 to the front when the re-issued slip was laid out again on it."""
    from .book.schema import SLIP_PRINT_SHEET
    if result.data.get("reprinted") and live.has_sheet_named(SLIP_PRINT_SHEET):
        live.xw.sheets[SLIP_PRINT_SHEET].activate()


# what a button does in Excel after its operation succeeded (looks only; failures are ignored)
AFTER: dict[str, Callable] = {"sbPrint": show_print_sheet, "sbWaybills": show_waybills, "sbReissue": show_reprinted}


# -- which buttons work in this version ---------------------------------------------------------------
def module_name(button: Button) -> str:
    return f"{OPS_PACKAGE}.{button.operation}"


def has_module(button: Button) -> bool:
    """Whether the button's ops module exists (without importing it)."""
    if not button.operation:
        return True
    return importlib.util.find_spec(module_name(button)) is not None


def load_operation(button: Button):
    """The button's ops module, or None when this version does not have it (or not its entry function)."""
    if not has_module(button):
        return None
    mod = importlib.import_module(module_name(button))
    return mod if callable(getattr(mod, button.entry, None)) else None


def live_buttons() -> list[str]:
    """Ids of the buttons that do something in this version (imports their modules)."""
    return [b.id for b in BUTTONS if not b.operation or load_operation(b) is not None]


def check_inputs(button: Button, run) -> None:
    """The gathered inputs fit `run`: each is a parameter, every required parameter is gathered."""
    params = list(inspect.signature(run).parameters.values())[2:]  # after (book, ctx)
    names = {p.name for p in params}
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    gathered = [i.param for i in INPUTS.get(button.id, ())]
    wrong = [p for p in gathered if p not in names and not var_kw]
    needed = [p.name for p in params if p.default is inspect.Parameter.empty
              and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
              and p.name not in gathered]
    if wrong or needed:
        detail = ", ".join([f"-{p}" for p in wrong] + [f"+{p}" for p in needed])
        raise ShipbookError(f"按钮「{button.label}」的输入与此版本的操作不匹配 ({detail}), 请用命令行 shipbook",
                            f"button {button.id}: its inputs do not match this version's operation ({detail}); "
                            "use the shipbook command")


# -- the click ------------------------------------------------------------------------------------------
def click(button_id: str, *, book=None, ui=None):
    """Run a ribbon button on the calling workbook. Never raises; returns the operation's Result or None.

    book: an xlwings Book (default: xw.Book.caller(), the workbook whose button was clicked).
    ui: an ExcelUI (default: one on `book`); tests pass one that answers dialogs.
    """
    live = None
    try:
        button = BY_ID.get(button_id)
        if book is None:
            import xlwings as xw
            book = xw.Book.caller()
        if ui is None:
            from .book.live import ExcelUI
            ui = ExcelUI(book)
        if button is None:
            ui.message("shipbook", f"未知按钮 {button_id!r} / unknown button {button_id!r}", error=True)
            return None
        if not button.operation:
            show_help(ui, book)
            return None
        mod = load_operation(button)
        if mod is None:
            ui.message(_title(button), not_available_text(button))
            return None
        run = getattr(mod, button.entry)
        check_inputs(button, run)

        from .book.live import LiveBook, excel_busy
        from .identity import current_identity
        from .ops.common import Context, now
        live = LiveBook(book, status=ui.status)
        ctx = Context(current_identity(), now(), progress=ui.progress)
        kwargs = {i.param: i.gather(live, ui, button) for i in INPUTS.get(button.id, ())}
        ui.status(f"shipbook: {button.label}…")
        with excel_busy(book.app):
            result = run(live, ctx, **kwargs)
        ui.status(None)
        if button.id in AFTER:
            _quiet(lambda: AFTER[button.id](live, ui, result))
        ui.message(_title(button), result_text(result, live.changed), error=result.exit_code != 0)
        return result
    except Cancelled:
        _quiet(lambda: ui.status(None))
        return None
    except ShipbookError as exc:
        _report(ui, button_id, f"{exc.zh}\n\n{exc.en}" + _state(live))
        return None
    except BaseException as exc:  # noqa: B036 — a click must end normally, whatever happened
        log = _write_error_log(button_id, exc)
        _report(ui, button_id, f"内部错误 {type(exc).__name__}: {exc}\n"
                               f"Internal error {type(exc).__name__}: {exc}" + _state(live)
                + (f"\n\n详情 / details: {log}" if log else ""))
        return None


def not_available_text(button: Button) -> str:
    return (f"「{button.label}」在此版本中尚不可用 (需要模块 {module_name(button)})。\n"
            f"{button.screentip}: not available in this version (it needs {module_name(button)}).\n\n"
            "工作簿未改动 / The workbook was not changed.")


def result_text(result, changed: bool) -> str:
    lines = [result.zh, "", result.en]
    problems = result.data.get("problems") or []
    if problems:
        lines.append("")
        for p in problems[:MAX_PROBLEMS_SHOWN]:
            lines.append(f"行 row {p.get('row')}: {p.get('order_id') or '-'} {p.get('code')}")
        if len(problems) > MAX_PROBLEMS_SHOWN:
            more = len(problems) - MAX_PROBLEMS_SHOWN
            lines.append(f"… 另有 {more} 个 / {more} more (见 校验结果 / see 校验结果)")
    if changed:
        lines += ["", "修改尚未保存, 请保存工作簿 (Ctrl+S) / Not saved yet: save the workbook (Ctrl+S)."]
    return "\n".join(lines)


def show_help(ui, book) -> None:
    import sys

    from . import __version__
    from .identity import current_identity
    try:
        who = current_identity()
        me = f"{who.name}" + (f" ({who.role})" if who.role else "")
    except ShipbookError as exc:
        me = f"? ({exc.zh})"
    ready = [b.label for b in BUTTONS if b.operation and has_module(b)]
    later = [b.label for b in BUTTONS if b.operation and not has_module(b)]
    text = "\n".join([
        "每天的流程 / the daily flow: 导入 → 校验 → 检查库存 → 生成出库单 → 签字 → 生成运单 → 登记快递单号 → 导出批量发货",
        "用户手册 / user guide: docs/USER-GUIDE.md",
        "",
        f"可用 / available: {'、'.join(ready) or '-'}",
        f"此版本尚不可用 / not in this version: {'、'.join(later) or '-'}",
        "",
        f"shipbook {__version__} · Python {sys.version.split()[0]} · {sys.executable}",
        f"当前用户 / user: {me}",
        f"工作簿 / workbook: {book.name}",
    ])
    ui.message("shipbook 帮助 / Help", text)


def _title(button: Button) -> str:
    return f"shipbook · {button.label}"


def _state(live) -> str:
    if live is not None and live.changed:
        return ("\n\n操作未完成, 工作簿可能已部分修改: 如需还原, 请不保存关闭工作簿。"
                "\nThe operation stopped part-way; the workbook may be partly changed: close it without saving "
                "to go back.")
    return "\n\n工作簿未改动 / The workbook was not changed."


def _report(ui, button_id: str, text: str) -> None:
    button = BY_ID.get(button_id)
    title = (_title(button) if button else "shipbook") + " · 出错 / error"
    try:
        ui.status(None)
    except BaseException:
        pass
    try:
        ui.message(title, text, error=True)
        return
    except BaseException:
        pass
    _last_resort(title, text)


def _last_resort(title: str, text: str) -> None:
    """No Excel to show a message through (e.g. the book could not be reached): a plain Windows box."""
    try:
        import ctypes
        ctypes.windll.user32.MessageBoxW(0, text, title, 0x30)  # MB_ICONWARNING
    except BaseException:
        pass


def error_log_path() -> str:
    """Where a click's internal error is written (%LOCALAPPDATA%\\shipbook\\last-error.txt on Windows)."""
    import os
    import tempfile
    base = os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
    return os.path.join(base, "shipbook", "last-error.txt")


def _write_error_log(button_id: str, exc: BaseException) -> str | None:
    try:
        import datetime as dt
        import os
        import traceback

        path = error_log_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"{dt.datetime.now().isoformat()} click({button_id!r})\n")
            f.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return path
    except BaseException:
        return None


def _quiet(fn) -> None:
    try:
        fn()
    except BaseException:
        pass
