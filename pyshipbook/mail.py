"""The 订货明细单 leaving the building: its .xlsx attachment, the RFC 5322 message, SMTP.

I/O edge (like cli.py): ops/daily.py never imports this module; its `cli`
(and the Excel button) hands a deliver function to `daily.run`.

SMTP settings come from the per-user config (identity.config_path()):

    [smtp]
    host = "smtp.exmail.qq.com"
    port = 465                 # default: 587 starttls, 465 ssl, 25 none
    security = "ssl"           # "starttls" (default) | "ssl" | "none"
    user = "wang.fang@example.com"
    from = "王芳 <wang.fang@example.com>"
    cafile = ""                # optional: a CA bundle to trust (company mail servers)

The password is never in the workbook or the config: the OS keyring
(`keyring` package, service "shipbook", the user name) when importable,
else the environment variable SHIPBOOK_SMTP_PASSWORD.
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pandas as pd

from .book.safety import write_atomically
from .book.schema import DAILY
from .domain.daily import SUBTOTAL, TOTAL, DailyList, parse_addresses
from .errors import ShipbookError

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
SECURITIES = {"starttls": 587, "ssl": 465, "none": 25}
PASSWORD_ENV = "SHIPBOOK_SMTP_PASSWORD"
KEYRING_SERVICE = "shipbook"
TIMEOUT = 30


# -- the attachment ----------------------------------------------------------------
def write_attachment(path: Path, block: pd.DataFrame) -> Path:
    """A standalone workbook holding the day's block (same columns as the 订货明细单 sheet).

    Written to a temporary file and moved into place; refused when the target
    is open in Excel.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .book import safety
    from .book.xlsx import XlsxBook

    path = Path(path)
    safety.check_writable(path)
    wb = Workbook()
    default = wb.active
    XlsxBook(path, wb).append_rows(DAILY, block)
    wb.remove(default)
    ws = wb[DAILY.name]
    col = DAILY.keys.index("order_id") + 1
    for row in ws.iter_rows(min_row=2):
        if row[col - 1].value in (SUBTOTAL, TOTAL):
            for cell in row:
                cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 17
    return write_atomically(path, wb.save, zh="附件", en="the attachment")


# -- the message -------------------------------------------------------------------
def _addresses(pairs: list[tuple[str, str]]) -> tuple[Address, ...]:
    return tuple(Address(display_name=name, addr_spec=addr) for name, addr in pairs)


def build_message(daily: DailyList, attachment: Path, *, sender: str | None, when) -> EmailMessage:
    """To: 物流组, Cc: 监管组, a Chinese subject and body, the .xlsx attached (RFC 2231 filename)."""
    msg = EmailMessage()
    if sender:
        msg["From"] = _addresses(_sender(sender))
    msg["To"] = _addresses(daily.to)
    if daily.cc:
        msg["Cc"] = _addresses(daily.cc)
    msg["Subject"] = daily.subject
    msg["Date"] = format_datetime(when.astimezone() if when.tzinfo is None else when)
    domain = _sender(sender)[0][1].split("@", 1)[1] if sender else "shipbook.invalid"
    msg["Message-ID"] = make_msgid("shipbook", domain=domain)
    msg.set_content(daily.body(), charset="utf-8")
    msg.add_attachment(Path(attachment).read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                       filename=daily.attachment_name)
    return msg


def _sender(text: str) -> list[tuple[str, str]]:
    good, bad = parse_addresses(text)
    if bad or len(good) != 1:
        raise ShipbookError(f"配置文件 [smtp] from 不是一个有效的邮箱地址: {text}",
                            f"config [smtp] from is not one valid mail address: {text}")
    return good


# Headers are not folded below 998 characters: a folded RFC 2231 filename becomes
# filename*0*=…; filename*1*=… continuations, which some mail clients misread.
WIRE = policy.SMTP.clone(max_line_length=998)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, 7-bit headers (RFC 2047 subject, RFC 2231 filename)."""
    return msg.as_bytes(policy=WIRE)


def write_eml(path: Path, msg: EmailMessage) -> Path:
    """A .eml file; X-Unsent: 1 makes Outlook open it as a draft ready to send."""
    path = Path(path)
    data = b"X-Unsent: 1\r\n" + message_bytes(msg)
    return write_atomically(path, lambda tmp: tmp.write_bytes(data), zh="邮件文件", en="the message file")


# -- SMTP ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    user: str
    sender: str
    cafile: str = ""


def _cfg_error(what_zh: str, what_en: str) -> ShipbookError:
    from .identity import config_path
    return ShipbookError(f"配置文件 {config_path()} 的 [smtp] {what_zh}",
                         f"config file {config_path()} [smtp]: {what_en}")


def smtp_config(config: dict | None = None) -> SmtpConfig:
    """[smtp] of the per-user config, checked. Missing or wrong: ShipbookError (exit 2)."""
    if config is None:
        from .identity import load_config
        config = load_config()
    smtp = config.get("smtp")
    if not isinstance(smtp, dict) or not str(smtp.get("host") or "").strip():
        raise _cfg_error("缺少 host: 无法发送邮件", "no host: cannot send mail")
    security = str(smtp.get("security") or "starttls").strip().lower()
    if security not in SECURITIES:
        raise _cfg_error(f"security 应为 starttls、ssl 或 none, 而不是「{security}」",
                         f"security must be starttls, ssl or none, not '{security}'")
    try:
        port = int(smtp.get("port") or SECURITIES[security])
        if not 0 < port < 65536:
            raise ValueError
    except (TypeError, ValueError):
        raise _cfg_error(f"port 无效: {smtp.get('port')}", f"invalid port: {smtp.get('port')}") from None
    sender = str(smtp.get("from") or smtp.get("user") or "").strip()
    if not sender:
        raise _cfg_error("缺少 from (发件人地址)", "no from (sender address)")
    _sender(sender)
    host = str(smtp["host"]).strip()
    user = str(smtp.get("user") or "").strip()
    if security == "none" and user and not _loopback(host):
        raise _cfg_error("security = \"none\" 时不会把密码明文发送到其他主机; 请用 starttls 或 ssl",
                         "security = \"none\" would send the password in clear to another host; "
                         "use starttls or ssl")
    return SmtpConfig(host, port, security, user, sender, str(smtp.get("cafile") or "").strip())


def configured_sender(config: dict | None = None) -> str | None:
    """[smtp] from (or user) when configured, checked; None when there is none (an .eml draft)."""
    if config is None:
        from .identity import load_config
        config = load_config()
    smtp = config.get("smtp") if isinstance(config.get("smtp"), dict) else {}
    sender = str(smtp.get("from") or smtp.get("user") or "").strip()
    if sender:
        _sender(sender)
    return sender or None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def smtp_password(cfg: SmtpConfig) -> str | None:
    """From the OS keyring when the keyring package is there, else SHIPBOOK_SMTP_PASSWORD."""
    if not cfg.user:
        return None
    try:
        import keyring
    except ImportError:
        keyring = None
    if keyring is not None:
        try:
            pw = keyring.get_password(KEYRING_SERVICE, cfg.user)
        except Exception:  # no usable backend (headless service account): fall back to the environment
            pw = None
        if pw:
            return pw
    pw = os.environ.get(PASSWORD_ENV)
    if pw:
        return pw
    raise ShipbookError(
        f"没有 {cfg.user} 的邮箱密码: 请存入系统钥匙串 (keyring set {KEYRING_SERVICE} {cfg.user}) "
        f"或设置环境变量 {PASSWORD_ENV}",
        f"no mail password for {cfg.user}: store it in the OS keyring (keyring set {KEYRING_SERVICE} "
        f"{cfg.user}) or set {PASSWORD_ENV}")


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cfg.cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise _cfg_error(f"cafile 无法读取: {exc}", f"cannot read cafile: {exc}") from None


def send(msg: EmailMessage, cfg: SmtpConfig, password: str | None = None) -> dict:
    """Send over SMTP; returns {"recipients": [...], "refused": {addr: reply}}.

    starttls refuses a server that does not offer STARTTLS (never falls back
    to clear text); every failure is a ShipbookError naming the server.
    """
    recipients = [a.addr_spec for h in ("To", "Cc") for a in (msg[h].addresses if msg[h] else ())]
    sender = _sender(cfg.sender)[0][1]
    where = f"{cfg.host}:{cfg.port}"
    context = _tls_context(cfg) if cfg.security != "none" else None
    try:
        if cfg.security == "ssl":
            server = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(cfg.host, cfg.port, timeout=TIMEOUT)
        with server:
            server.ehlo()
            if cfg.security == "starttls":
                if not server.has_extn("starttls"):
                    raise ShipbookError(f"邮件服务器 {where} 不支持 STARTTLS, 未发送 (不会明文发送)",
                                        f"mail server {where} does not offer STARTTLS; not sent "
                                        "(never falls back to clear text)")
                server.starttls(context=context)
                server.ehlo()
            if cfg.user:
                server.login(cfg.user, password if password is not None else smtp_password(cfg) or "")
            refused = server.sendmail(sender, recipients, message_bytes(msg))
    except ShipbookError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise ShipbookError(f"邮件服务器 {where} 拒绝了用户 {cfg.user} 的登录: {_reply(exc)}",
                            f"mail server {where} refused the login of {cfg.user}: {_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise ShipbookError(f"邮件服务器 {where} 拒绝了全部收件人: {', '.join(exc.recipients)}",
                            f"mail server {where} refused every recipient: {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, ssl.SSLError, socket.timeout, OSError) as exc:
        raise ShipbookError(f"无法通过 {where} 发送邮件: {_reply(exc)}",
                            f"cannot send mail through {where}: {_reply(exc)}") from None
    return {"recipients": recipients,
            "refused": {k: f"{v[0]} {v[1].decode('utf-8', 'replace') if isinstance(v[1], bytes) else v[1]}"
                        for k, v in (refused or {}).items()}}


def _reply(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}".replace("\n", " ")
    return (str(exc) or type(exc).__name__).replace("\n", " ")
