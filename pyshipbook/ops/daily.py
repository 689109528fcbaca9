"""订货明细单 (daily): the day's paid, validated lines up to the cut-off, as a block, an .xlsx and a mail.

The lines paid after the previous day's cut-off and up to this day's
(设置 截单时间, default 14:00; 货到付款 lines by 下单时间), validated and on
their way (状态 待配货 onward, never 已取消), become that day's block on
the 订货明细单 sheet; re-running the day replaces the block (see
domain/daily.py for the window and the block layout). A `deliver` function
(the CLI's, or the Excel button's) writes the standalone .xlsx and, when
asked, the mail to 物流组邮箱 (cc 监管组邮箱).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import pandas as pd

from ..book.interface import Book
from ..book.schema import DAILY, ORDERS, SETTING_BY_KEY
from ..domain import daily as dl
from ..errors import ShipbookError
from .common import EXIT_OK, EXIT_PROBLEMS, Context, Result, log_operation

COMMAND = "daily"
BUTTON = "daily"
HELP = "订货明细单 / the day's order-detail list up to the cut-off (14:00): sheet block, .xlsx, mail"
REQUIRED = ("order_id", "ordered_at", "paid_at", "qty", "unit_price", "status", "recipient", "address")
MAX_NAMED = 5

Deliver = Callable[[dl.DailyList], dict]


def _cutoff(value, source_zh: str, source_en: str) -> dt.time:
    try:
        return dl.parse_cutoff(value)
    except ValueError:
        raise ShipbookError(f"{source_zh}「{value}」不是有效的时间 (应写作 14:00)",
                            f"{source_en} '{value}' is not a valid time (write it as 14:00)") from None


def recipients(settings: dict[str, str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(To, Cc) from 设置 物流组邮箱 / 监管组邮箱; empty To or a malformed address: ShipbookError."""
    out = []
    for key in ("mail_to", "mail_cc"):
        item = SETTING_BY_KEY[key].item
        good, bad = dl.parse_addresses(settings.get(key, ""))
        if bad:
            raise ShipbookError(f"设置「{item}」中的邮箱地址无效: {'、'.join(bad)}",
                                f"设置 / {item} ({key}) holds malformed address(es): {', '.join(bad)}")
        out.append(good)
    if not out[0]:
        raise ShipbookError(f"设置「{SETTING_BY_KEY['mail_to'].item}」为空: 不知道把订货明细单发给谁",
                            f"设置 / {SETTING_BY_KEY['mail_to'].item} (mail_to) is empty: "
                            "no one to send the list to")
    return out[0], out[1]


def run(book: Book, ctx: Context, date: dt.date | None = None, cutoff: dt.time | str | None = None,
        mail: bool = False, deliver: Deliver | None = None) -> Result:
    settings = book.read_settings()
    if cutoff is None:
        cut = _cutoff(settings.get("cutoff") or "14:00", f"设置「{SETTING_BY_KEY['cutoff'].item}」",
                      "设置 / cutoff")
    else:
        cut = _cutoff(cutoff, "--cutoff", "--cutoff")
    day = date or ctx.clock.date()
    to, cc = recipients(settings) if mail else ([], [])

    orders = book.read_table(ORDERS, required=REQUIRED)
    sheet = (book.read_table(DAILY).frame if book.has_sheet(DAILY)
             else pd.DataFrame(columns=DAILY.keys, dtype=object))
    recorded = dl.blocks(sheet)
    end = dt.datetime.combine(day, cut)
    if day in recorded and recorded[day] != end and any(d > day for d in recorded):
        later = min(d for d in recorded if d > day)
        raise ShipbookError(
            f"{day} 的订货明细单已按 {recorded[day]:%H:%M} 截单, 且 {later} 的清单从那时开始; "
            f"改为 {dl.hhmm(cut)} 会让订单重复或遗漏。请用 --cutoff {recorded[day]:%H:%M} 重新生成",
            f"the list of {day} was cut off at {recorded[day]:%H:%M} and the list of {later} starts there; "
            f"cutting at {dl.hhmm(cut)} would repeat or skip lines. Re-run with --cutoff {recorded[day]:%H:%M}")
    window = dl.window_for(day, cut, recorded)
    ctx.report(0, len(orders.frame), "订货明细单 / daily list")
    selection = dl.select(orders.frame, ref_year=day.year)
    daily = dl.compile_daily(selection, window)
    daily.to, daily.cc = to, cc

    prev_day = day - dt.timedelta(days=1)
    prev_cut = recorded[prev_day].time() if prev_day in recorded else cut
    prev = dl.compile_daily(selection, dl.window_for(prev_day, prev_cut, recorded))
    missing = dl.unlisted(prev.lines, sheet, prev_day)

    body, changed = dl.merge_block(sheet, day, daily.block())
    if changed:
        book.replace_rows(DAILY, body)
    ctx.report(len(orders.frame), len(orders.frame), "订货明细单 / daily list")
    delivered = deliver(daily) if deliver else {}

    before_cutoff = ctx.clock < window.end
    n = len(daily.lines)
    zh = (f"订货明细单 {day} (截至{dl.hhmm(cut)}): {daily.orders} 单 {n} 行, {daily.qty} 件, "
          f"金额 {daily.amount:.2f}")
    en = (f"daily list {day} (cut-off {dl.hhmm(cut)}): {daily.orders} orders, {n} lines, {daily.qty} pieces, "
          f"amount {daily.amount:.2f}")
    if not changed:
        zh += "; 与表中已有的清单相同"
        en += "; same as the block already on the sheet"
    skipped = daily.skipped
    if len(skipped):
        counts = skipped.groupby(["reason_zh", "reason_en"]).size()
        zh += f"; 时段内另有 {len(skipped)} 行未列入 (" + "、".join(f"{a} {c}" for (a, _), c in counts.items()) + ")"
        en += f"; {len(skipped)} more lines in the window not listed (" + \
            ", ".join(f"{b} {c}" for (_, b), c in counts.items()) + ")"
    if len(missing):
        ids = list(dict.fromkeys(missing["order_id"].dropna()))
        named = "、".join(ids[:MAX_NAMED]) + (" …" if len(ids) > MAX_NAMED else "")
        zh += (f"; 注意: 前一天 {prev_day} 有 {len(missing)} 行不在任何订货明细单上 ({named}), "
               f"可运行 shipbook daily --date {prev_day} 重新生成那天的清单")
        en += (f"; note: {len(missing)} lines of {prev_day} are on no list ({', '.join(ids[:MAX_NAMED])}); "
               f"run shipbook daily --date {prev_day} to remake that day's list")
    if before_cutoff:
        zh += f"; 截单时间 {dl.hhmm(cut)} 未到, 清单可能还会增加"
        en += f"; before the {dl.hhmm(cut)} cut-off: the list may still grow"
    if delivered.get("attachment"):
        zh += f"; 附件 {Path(delivered['attachment']).name}"
        en += f"; attachment {Path(delivered['attachment']).name}"
    if delivered.get("eml"):
        zh += f"; 邮件 {Path(delivered['eml']).name}"
        en += f"; message {Path(delivered['eml']).name}"
    refused = delivered.get("refused") or {}
    if delivered.get("sent"):
        ok = len(delivered.get("recipients", [])) - len(refused)
        zh += f"; 已发送给 {ok} 个收件人"
        en += f"; sent to {ok} recipients"
        if refused:
            zh += f", 被拒收: {'、'.join(refused)}"
            en += f", refused: {', '.join(refused)}"

    data = {
        "date": day.isoformat(), "cutoff": dl.hhmm(cut),
        "window": {"start": window.start.isoformat(sep=" "), "end": window.end.isoformat(sep=" ")},
        "orders": daily.orders, "lines": n, "qty": daily.qty, "amount": daily.amount,
        "products": [{k: getattr(p, k) for k in ("product", "qty", "amount", "unit_price", "lines", "orders")}
                     for p in daily.products.itertuples()],
        "listed": [{"row": int(r), "order_id": x.order_id, "product": x.product, "qty": x.qty,
                    "unit_price": x.unit_price, "amount": x.amount, "time": x.when.isoformat(sep=" "),
                    "by": x.basis} for r, x in zip(daily.lines.index, daily.lines.itertuples())],
        "not_listed": [{"row": int(r), "order_id": x.order_id, "status": x.status, "reason": x.reason_zh,
                        "reason_en": x.reason_en} for r, x in zip(skipped.index, skipped.itertuples())],
        "previous_day_unlisted": [{"row": int(r), "order_id": x.order_id, "product": x.product}
                                  for r, x in zip(missing.index, missing.itertuples())],
        "block_changed": changed, "before_cutoff": before_cutoff,
        "to": [a for _, a in to], "cc": [a for _, a in cc], "subject": daily.subject,
        **delivered,
    }
    code = EXIT_PROBLEMS if refused else EXIT_OK
    result = Result(COMMAND, code, zh, en, data, rows=n)
    args = f"{day} 截至{dl.hhmm(cut)}" + (" --eml" if delivered.get("eml") else "") + \
        (" --send" if delivered.get("sent") else "")
    log_operation(book, ctx, result, arguments=args)
    return result


# -- delivering: the .xlsx beside the book, the message, SMTP ----------------------------
def file_delivery(book_path: str | Path, *, out: str | Path | None = None, eml: str | Path | None = None,
                  send: bool = False, when: dt.datetime | None = None) -> Deliver:
    """The deliver function of the command and the Excel button.

    Checks the SMTP settings and the password up front (before the book is
    touched); the returned function writes the .xlsx (default: beside the
    book, 订货明细单-YYYY-MM-DD.xlsx), then the .eml and/or sends it.
    """
    from .. import mail

    book = Path(book_path).resolve()
    for option, target in (("--out", out), ("--eml", eml)):
        if target is not None and Path(target).resolve() == book:
            raise ShipbookError(f"{option} 不能是工作簿本身: {target}", f"{option} must not be the workbook itself: {target}")
    cfg = mail.smtp_config() if send else None
    password = mail.smtp_password(cfg) if cfg else None
    sender = cfg.sender if cfg else mail.configured_sender()
    folder = book.parent

    def deliver(daily: dl.DailyList) -> dict:
        path = Path(out) if out else folder / daily.attachment_name
        mail.write_attachment(path, daily.block())
        info: dict = {"attachment": str(path)}
        if eml or send:
            msg = mail.build_message(daily, path, sender=sender, when=when or dt.datetime.now())
            if eml:
                info["eml"] = str(mail.write_eml(Path(eml), msg))
            if send:
                info.update(mail.send(msg, cfg, password))
                info["sent"] = True
        return info

    return deliver


def add_arguments(parser) -> None:
    parser.add_argument("book", help="工作簿文件 / workbook file (.xlsm or .xlsx)")
    parser.add_argument("--date", metavar="YYYY-MM-DD",
                        help="哪一天的清单 (默认今天) / the day of the list (default: today)")
    parser.add_argument("--cutoff", metavar="HH:MM",
                        help="截单时间 (默认 设置 截单时间, 14:00) / cut-off (default: 设置 截单时间, 14:00)")
    parser.add_argument("--out", metavar="FILE",
                        help="附件 .xlsx (默认在工作簿旁: 订货明细单-YYYY-MM-DD.xlsx) / the .xlsx attachment "
                             "(default: beside the book)")
    parser.add_argument("--eml", metavar="OUT", help="写出可发送的邮件 (.eml) / write the ready-to-send message")
    parser.add_argument("--send", action="store_true",
                        help="通过 SMTP 发送 (配置文件 [smtp]) / send it over SMTP (config file [smtp])")


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise ShipbookError(f"--date「{text}」不是有效的日期 (应写作 2026-11-26)",
                            f"--date '{text}' is not a valid date (write it as 2026-11-26)") from None


def cli(args, ctx: Context) -> Result:
    from ..book.xlsx import open_book

    day = _date(args.date)
    cutoff = _cutoff(args.cutoff, "--cutoff", "--cutoff") if args.cutoff else None
    deliver = file_delivery(args.book, out=args.out, eml=args.eml, send=args.send, when=ctx.clock)
    with open_book(args.book) as book:
        return run(book, ctx, date=day, cutoff=cutoff, mail=bool(args.eml or args.send), deliver=deliver)
