"""daily --send against real SMTP servers on loopback (aiosmtpd): what arrives, byte for byte where it matters."""

from __future__ import annotations

import datetime as dt
import email
import os
import shutil
import socket
import ssl
import subprocess
import sys
import types
from email import policy
from pathlib import Path

import openpyxl
import pytest
from conftest import good_line, read_sheet, run_cli

from pyshipbook.book.schema import DAILY, LOG, SETTING_BY_KEY, SETTINGS

aiosmtpd = pytest.importorskip("aiosmtpd", reason="aiosmtpd (test extra) is needed for a loopback SMTP server")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

T = dt.datetime
SENDER = "sales@shop.example.com"
SUBJECT = "订货明细单 2026-11-26 (截至14:00)"
FILENAME = "订货明细单-2026-11-26.xlsx"
# RFC 2231: charset''percent-encoded UTF-8, one parameter (no continuations)
FILENAME_PARAM = b"filename*=utf-8''%E8%AE%A2%E8%B4%A7%E6%98%8E%E7%BB%86%E5%8D%95-2026-11-26.xlsx"


class Inbox:
    """An aiosmtpd handler that keeps what arrives; refuses the recipients it is told to."""

    def __init__(self, refuse=()):
        self.messages: list[types.SimpleNamespace] = []
        self.refuse = set(refuse)
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(types.SimpleNamespace(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos),
                                                   data=envelope.original_content,
                                                   tls=server.transport.get_extra_info("ssl_object") is not None))
        return "250 Message accepted for delivery"

    def authenticator(self, password: str):
        def check(server, session, envelope, mechanism, auth_data):
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself
        return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    """smtp_server(inbox, **aiosmtpd options) -> port of a running server on 127.0.0.1 (stopped afterwards)."""
    running = []

    def start(inbox: Inbox, **options) -> int:
        port = free_port()
        c = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        c.start()
        running.append(c)
        return port
    yield start
    for c in running:
        c.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost / 127.0.0.1 (openssl command line; skip without it)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl command not found: cannot make a test certificate (ssl alone cannot)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    r = subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], capture_output=True)
    if r.returncode:
        pytest.skip(f"openssl could not make a certificate: {r.stderr.decode(errors='replace')[:200]}")
    return cert, key


def server_context(certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*certificate)
    return ctx


def configure(**smtp) -> None:
    """Add an [smtp] table to the test user's config file."""
    cfg = Path(os.environ["SHIPBOOK_CONFIG"])
    body = "\n".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in smtp.items())
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[smtp]\n" + body.replace("'", '"') + "\n", encoding="utf-8")


def set_settings(path: Path, **values: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS.name]
    for r in range(2, ws.max_row + 1):
        for key, value in values.items():
            if ws.cell(r, 1).value == SETTING_BY_KEY[key].item:
                ws.cell(r, 2).value = value
    wb.save(path)


@pytest.fixture
def book(book_with):
    """Three listed lines in two orders, one cancelled line; 物流组 / 监管组 addresses in 设置."""
    path = book_with([
        good_line(order_id="A1", paid_at=T(2026, 11, 26, 9, 0), status="待配货", check="OK"),
        good_line(order_id="A1", sku="WS1002", product_name="玻尿酸补水面膜", spec="5片/盒", qty=3, unit_price=59.0,
                  amount=177.0, paid_at=T(2026, 11, 26, 9, 0), status="待配货", check="OK"),
        good_line(order_id="B2", recipient="李雷", qty=1, amount=89.0, paid_at=T(2026, 11, 26, 13, 59),
                  status="已配货", check="OK"),
        good_line(order_id="X9", paid_at=T(2026, 11, 26, 11, 0), status="已取消", check="OK"),
    ])
    set_settings(path, mail_to="物流组 <wuliu@example.com>；wl2@example.com",
                 mail_cc="jianguan@example.com，总经理 <boss@example.cn>")
    return path


def send(path, *extra):
    return run_cli("daily", path, "--send", "--json", *extra)


def received(inbox: Inbox) -> email.message.EmailMessage:
    assert len(inbox.messages) == 1
    return email.message_from_bytes(inbox.messages[0].data, policy=policy.default)


# -- what arrives ------------------------------------------------------------------------
def test_the_list_arrives_with_recipients_subject_body_and_attachment(book, smtp_server, tmp_path):
    inbox = Inbox()
    port = smtp_server(inbox)
    configure(host="127.0.0.1", port=port, security="none", **{"from": f"小林优选 <{SENDER}>"})
    eml = tmp_path / "sent.eml"
    code, data = send(book, "--eml", eml)
    assert code == 0, data
    assert data["sent"] is True and data["refused"] == {}

    got = inbox.messages[0]
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ["wuliu@example.com", "wl2@example.com", "jianguan@example.com", "boss@example.cn"]
    # what arrived is byte for byte the --eml file (without its draft marker)
    assert eml.read_bytes() == b"X-Unsent: 1\r\n" + got.data.rstrip(b"\r\n") + b"\r\n"
    raw = got.data
    assert raw.isascii()
    assert b"Subject: =?utf-8?" in raw
    assert FILENAME_PARAM in raw and b"filename*0" not in raw

    msg = received(inbox)
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [("物流组", "wuliu@example.com"),
                                                                         ("", "wl2@example.com")]
    assert [(a.display_name, a.addr_spec) for a in msg["Cc"].addresses] == [("", "jianguan@example.com"),
                                                                         ("总经理", "boss@example.cn")]
    assert msg["From"].addresses[0].addr_spec == SENDER and msg["From"].addresses[0].display_name == "小林优选"
    assert str(msg["Subject"]) == SUBJECT
    assert msg["Date"] and msg["Message-ID"]

    body = msg.get_body(("plain",)).get_content()
    assert "共 2 单, 3 行, 合计 6 件, 金额 444.00 元" in body
    assert "玫瑰精华面膜 10片/盒: 3 件, 267.00 元" in body
    assert "玻尿酸补水面膜 5片/盒: 3 件, 177.00 元" in body
    assert "2026-11-25 14:00" in body and FILENAME in body

    (att,) = list(msg.iter_attachments())
    assert att.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert att.get_filename() == FILENAME
    content = att.get_content()
    assert content == Path(data["attachment"]).read_bytes()
    opened = tmp_path / "opened.xlsx"
    opened.write_bytes(content)
    rows = list(openpyxl.load_workbook(opened)[DAILY.name].iter_rows(values_only=True))
    assert rows[0] == tuple(c.header for c in DAILY.columns)
    assert [r[1:6] for r in rows[1:]] == [
        ("A1", "玫瑰精华面膜 10片/盒", 2, 89, 178),
        ("A1", "玻尿酸补水面膜 5片/盒", 3, 59, 177),
        ("B2", "玫瑰精华面膜 10片/盒", 1, 89, 89),
        ("小计", "玫瑰精华面膜 10片/盒", 3, 89, 267),
        ("小计", "玻尿酸补水面膜 5片/盒", 3, 59, 177),
        ("合计", "2 单 3 行", 6, None, 444),
    ]
    assert rows[3][7] == "李雷" and all(r[0] == T(2026, 11, 26, 14) for r in rows[1:])

    log = read_sheet(book, LOG.name)
    assert log[-1][2:6] == ("daily", "2026-11-26 截至14:00 --eml --send", 3, "ok")
    assert "已发送给 4 个收件人" in log[-1][6]


def test_login_with_the_password_from_the_environment(book, smtp_server, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, authenticator=inbox.authenticator("s3cret"), auth_require_tls=False)
    configure(host="127.0.0.1", port=port, security="none", user=SENDER)
    monkeypatch.setenv("SHIPBOOK_SMTP_PASSWORD", "s3cret")
    code, data = send(book)
    assert code == 0, data
    assert inbox.logins == [(SENDER, "s3cret")]
    assert received(inbox)["From"].addresses[0].addr_spec == SENDER  # from defaults to the user


def test_the_keyring_is_asked_first(book, smtp_server, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, authenticator=inbox.authenticator("from-keyring"), auth_require_tls=False)
    configure(host="127.0.0.1", port=port, security="none", user=SENDER)
    asked = []
    fake = types.ModuleType("keyring")
    fake.get_password = lambda service, user: asked.append((service, user)) or "from-keyring"
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setenv("SHIPBOOK_SMTP_PASSWORD", "from-env")
    code, data = send(book)
    assert code == 0, data
    assert asked == [("shipbook", SENDER)] and inbox.logins == [(SENDER, "from-keyring")]


def test_no_password_anywhere_exits_2_before_touching_anything(book, monkeypatch):
    configure(host="127.0.0.1", port=free_port(), security="none", user=SENDER)
    monkeypatch.delenv("SHIPBOOK_SMTP_PASSWORD", raising=False)
    before = book.read_bytes()
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "SHIPBOOK_SMTP_PASSWORD" in text and text.count("\n") == 1
    assert book.read_bytes() == before and not book.with_name(FILENAME).exists()


def test_a_refused_login_leaves_the_book_unchanged(book, smtp_server, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, authenticator=inbox.authenticator("right"), auth_require_tls=False)
    configure(host="127.0.0.1", port=port, security="none", user=SENDER)
    monkeypatch.setenv("SHIPBOOK_SMTP_PASSWORD", "wrong")
    before = book.read_bytes()
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "登录" in text and "Traceback" not in text and text.count("\n") == 1
    assert book.read_bytes() == before and inbox.messages == []


def test_a_refused_recipient_is_named_and_the_others_get_it(book, smtp_server):
    inbox = Inbox(refuse={"wl2@example.com"})
    port = smtp_server(inbox)
    configure(host="127.0.0.1", port=port, security="none", **{"from": SENDER})
    code, data = send(book)
    assert code == 1
    assert list(data["refused"]) == ["wl2@example.com"] and data["refused"]["wl2@example.com"].startswith("550")
    assert inbox.messages[0].rcpt_tos == ["wuliu@example.com", "jianguan@example.com", "boss@example.cn"]
    assert read_sheet(book, LOG.name)[-1][5] == "errors"


def test_no_server_listening_exits_2(book):
    configure(host="127.0.0.1", port=free_port(), security="none", **{"from": SENDER})
    before = book.read_bytes()
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "127.0.0.1" in text and text.count("\n") == 1
    assert book.read_bytes() == before


# -- refusals before any network -----------------------------------------------------------------
def test_send_needs_an_smtp_host(book):
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "[smtp]" in text and "host" in text and text.count("\n") == 1


def test_send_needs_the_logistics_address(book_with, smtp_server):
    path = book_with([good_line(status="待配货", check="OK")])
    inbox = Inbox()
    configure(host="127.0.0.1", port=smtp_server(inbox), security="none", **{"from": SENDER})
    before = path.read_bytes()
    code, text = run_cli("daily", path, "--send")
    assert code == 2 and "物流组邮箱" in text and text.count("\n") == 1
    assert path.read_bytes() == before and inbox.messages == []


def test_no_clear_text_password_to_another_host(book):
    configure(host="mail.example.com", security="none", user=SENDER)
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "starttls" in text and text.count("\n") == 1


@pytest.mark.parametrize("smtp,needle", [({"security": "tls1"}, "security"), ({"port": "abc"}, "port"),
                                         ({"from": "not an address"}, "from")])
def test_bad_smtp_settings_are_named(book, smtp, needle):
    configure(host="127.0.0.1", **{"from": SENDER, **smtp})
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and needle in text and text.count("\n") == 1


# -- TLS -------------------------------------------------------------------------------------------
def test_starttls_is_required_when_configured(book, smtp_server):
    inbox = Inbox()  # a server without STARTTLS
    port = smtp_server(inbox)
    configure(host="127.0.0.1", port=port, security="starttls", **{"from": SENDER})
    before = book.read_bytes()
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "STARTTLS" in text and text.count("\n") == 1
    assert inbox.messages == [] and book.read_bytes() == before


def test_starttls_with_a_trusted_certificate(book, smtp_server, certificate, monkeypatch):
    inbox = Inbox()
    port = smtp_server(inbox, tls_context=server_context(certificate), require_starttls=True,
                       authenticator=inbox.authenticator("pw"))
    configure(host="127.0.0.1", port=port, security="starttls", user=SENDER, cafile=str(certificate[0]))
    monkeypatch.setenv("SHIPBOOK_SMTP_PASSWORD", "pw")
    code, data = send(book)
    assert code == 0, data
    assert inbox.messages[0].tls and inbox.logins == [(SENDER, "pw")]
    assert str(received(inbox)["Subject"]) == SUBJECT


def test_an_untrusted_certificate_is_refused(book, smtp_server, certificate):
    inbox = Inbox()
    port = smtp_server(inbox, tls_context=server_context(certificate), require_starttls=True)
    configure(host="127.0.0.1", port=port, security="starttls", **{"from": SENDER})  # no cafile
    before = book.read_bytes()
    code, text = run_cli("daily", book, "--send")
    assert code == 2 and "CERTIFICATE_VERIFY_FAILED" in text and text.count("\n") == 1
    assert inbox.messages == [] and book.read_bytes() == before


def test_implicit_tls(book, smtp_server, certificate):
    inbox = Inbox()
    port = smtp_server(inbox, ssl_context=server_context(certificate))
    configure(host="127.0.0.1", port=port, security="ssl", cafile=str(certificate[0]), **{"from": SENDER})
    code, data = send(book)
    assert code == 0, data
    assert inbox.messages[0].tls and str(received(inbox)["Subject"]) == SUBJECT
