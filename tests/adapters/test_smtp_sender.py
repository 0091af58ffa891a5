"""SmtpSender against a real aiosmtpd sink on loopback; FileSender on a temp directory."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from adapters.email.smtp_sender import FileSender, SmtpSender
from gateway.errors import DeliveryError

USER = "relay-user"
PASSWORD = "s3cret-Pa55word"


def _message(token: str = "one", date: str | None = "Tue, 04 Mar 2025 05:06:07 +0000") -> bytes:
    head = f"From: support@example.org\r\nTo: member@example.net\r\nSubject: Test {token}\r\n"
    if date is not None:
        head += f"Date: {date}\r\n"
    return (head + f"Message-ID: <{token}@example.org>\r\n\r\nBody {token}\r\n").encode()


@dataclass
class Sink:
    """An aiosmtpd handler that records deliveries and can answer with canned errors."""

    messages: list[tuple[str, tuple[str, ...], bytes]] = field(default_factory=list)
    sessions: list[SMTP] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    logins: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    tls_deliveries: int = 0
    utf8_deliveries: int = 0  # with MAIL FROM ... SMTPUTF8

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        assert envelope.mail_from is not None
        assert envelope.original_content is not None
        self.messages.append(
            (envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
        )
        self.utf8_deliveries += envelope.smtp_utf8
        if session.ssl is not None or server.transport.get_extra_info("sslcontext"):  # type: ignore[union-attr]
            self.tls_deliveries += 1
        return "250 OK queued"

    def authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((mechanism, data.login, data.password))
        ok = data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)


StartSink = Callable[..., Awaitable[int]]


@pytest.fixture
async def start_sink(sink: Sink) -> AsyncIterator[StartSink]:
    servers: list[asyncio.Server] = []

    async def start(*, listen_ssl: ssl.SSLContext | None = None, **smtp_kwargs: Any) -> int:
        loop = asyncio.get_running_loop()

        def factory() -> SMTP:
            session = SMTP(sink, hostname="sink.test", loop=loop, **smtp_kwargs)
            sink.sessions.append(session)
            return session

        server = await loop.create_server(factory, "127.0.0.1", 0, ssl=listen_ssl)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
    for session in sink.sessions:
        if session.transport is not None:
            session.transport.close()
    await asyncio.sleep(0.05)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def _sender(port: int, **kw: Any) -> SmtpSender:
    args: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "",
        "password": "",
        "timeout": 5.0,
    }
    args.update(kw)
    return SmtpSender(**args)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_plain_delivery_hands_over_the_exact_bytes(sink: Sink, start_sink: StartSink) -> None:
    port = await start_sink()
    sender = _sender(port)
    await sender.send(
        sender="support@example.org", recipient="member@example.net", message=_message()
    )
    await sender.close()
    assert sink.messages == [("support@example.org", ("member@example.net",), _message())]
    parsed = BytesParser(policy=policy.default).parsebytes(sink.messages[0][2])
    assert parsed["Message-ID"] == "<one@example.org>"


async def test_one_connection_is_reused_for_three_sends(sink: Sink, start_sink: StartSink) -> None:
    port = await start_sink()
    sender = _sender(port)
    for n in range(3):
        await sender.send(
            sender="support@example.org", recipient="member@example.net", message=_message(f"m{n}")
        )
    assert len(sink.sessions) == 1
    assert [m[2] for m in sink.messages] == [_message(f"m{n}") for n in range(3)]
    await sender.close()


async def test_a_connection_the_relay_dropped_is_replaced(
    sink: Sink, start_sink: StartSink
) -> None:
    port = await start_sink()
    sender = _sender(port)
    await sender.send(
        sender="support@example.org", recipient="a@example.net", message=_message("a")
    )
    transport = sink.sessions[0].transport
    assert transport is not None
    transport.close()  # the relay's idle timeout
    await asyncio.sleep(0.05)
    await sender.send(
        sender="support@example.org", recipient="b@example.net", message=_message("b")
    )
    assert len(sink.sessions) == 2
    assert len(sink.messages) == 2
    await sender.close()


@pytest.mark.parametrize(
    ("stage", "reply", "temporary"),
    [
        ("rcpt", "451 4.3.0 Mailbox busy, try later", True),
        ("data", "451 4.3.0 Queue full, try later", True),
        ("rcpt", "550 5.1.1 No such user here", False),
        ("data", "554 5.7.1 Message rejected as spam", False),
    ],
)
async def test_replies_are_classified(
    sink: Sink, start_sink: StartSink, stage: str, reply: str, temporary: bool
) -> None:
    setattr(sink, f"{stage}_reply", reply)
    port = await start_sink()
    sender = _sender(port)
    with pytest.raises(DeliveryError) as failed:
        await sender.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert failed.value.temporary is temporary
    text = str(failed.value)
    assert reply.split(" ", 1)[0] in text
    assert reply.split(" ", 2)[2] in text
    assert "\n" not in text
    assert sink.messages == []
    # The failure leaves the sender usable.
    setattr(sink, f"{stage}_reply", None)
    await sender.send(sender="support@example.org", recipient="m@example.net", message=_message())
    assert len(sink.messages) == 1
    await sender.close()


VERP = "support+b-1f.ab" + "c" * 16 + "@example.org"


async def test_a_non_ascii_address_goes_by_smtputf8_when_the_relay_offers_it(
    sink: Sink, start_sink: StartSink
) -> None:
    port = await start_sink(enable_SMTPUTF8=True)
    sender = _sender(port)
    await sender.send(sender=VERP, recipient="jürgen@exämple.de", message=_message())
    await sender.send(sender=VERP, recipient="member@example.net", message=_message("two"))
    await sender.close()
    assert [m[:2] for m in sink.messages] == [(VERP, ("jürgen@xn--exmple-cua.de",)),
                                              (VERP, ("member@example.net",))]
    assert sink.utf8_deliveries == 1  # only the mail that needs it


async def test_a_non_ascii_address_fails_for_good_when_the_relay_lacks_smtputf8(
    sink: Sink, start_sink: StartSink
) -> None:
    port = await start_sink()
    sender = _sender(port)
    with pytest.raises(DeliveryError, match="SMTPUTF8") as failed:
        await sender.send(sender=VERP, recipient="jürgen@exämple.de", message=_message())
    assert failed.value.temporary is False
    assert sink.messages == []
    await sender.send(sender=VERP, recipient="member@example.net", message=_message())
    assert len(sink.messages) == 1 and len(sink.sessions) == 1  # the connection stays usable
    await sender.close()


async def test_nothing_listening_is_temporary() -> None:
    sender = _sender(_free_port())
    with pytest.raises(DeliveryError) as failed:
        await sender.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert failed.value.temporary is True
    with pytest.raises(DeliveryError) as checked:
        await sender.check()
    assert checked.value.temporary is True
    await sender.close()


async def test_a_relay_that_never_greets_times_out_temporarily() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        sender = _sender(port, timeout=0.5)
        with pytest.raises(DeliveryError) as failed:
            await sender.send(
                sender="support@example.org", recipient="m@example.net", message=_message()
            )
        assert failed.value.temporary is True
        assert "timed out" in str(failed.value)
        await sender.close()
    finally:
        server.close()
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("envelope_from", "rcpt"),
    [
        ("support@example.org", "m@example.net\r\nRCPT TO:<victim@example.com>"),
        ("support@example.org>\r\nRCPT TO:<x@y.z", "m@example.net"),
        ("support@example.org", '"Member" <m@example.net>'),
        ("support@example.org", "a@b@example.net"),
    ],
)
async def test_unsafe_envelopes_never_reach_the_relay(
    sink: Sink, start_sink: StartSink, envelope_from: str, rcpt: str
) -> None:
    port = await start_sink()
    sender = _sender(port)
    with pytest.raises(DeliveryError) as failed:
        await sender.send(sender=envelope_from, recipient=rcpt, message=_message())
    assert failed.value.temporary is False
    assert sink.sessions == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_auth_login_with_username_and_password(sink: Sink, start_sink: StartSink) -> None:
    port = await start_sink(
        authenticator=sink.authenticator,
        auth_required=True,
        auth_require_tls=False,
        auth_exclude_mechanism=["PLAIN"],
    )
    sender = _sender(port, username=USER, password=PASSWORD)
    await sender.send(sender="support@example.org", recipient="m@example.net", message=_message())
    await sender.check()
    await sender.close()
    assert sink.logins[0] == ("LOGIN", USER.encode(), PASSWORD.encode())
    assert len(sink.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_a_refused_login_is_retried_and_hides_the_password(
    sink: Sink, start_sink: StartSink
) -> None:
    port = await start_sink(
        authenticator=sink.authenticator,
        auth_required=True,
        auth_require_tls=False,
        auth_exclude_mechanism=["PLAIN"],
    )
    sender = _sender(port, username=USER, password="wrong-" + PASSWORD)
    with pytest.raises(DeliveryError) as failed:
        await sender.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert failed.value.temporary is True  # a setup error: retried until the login is fixed
    assert "535" in str(failed.value)
    assert PASSWORD not in str(failed.value)
    with pytest.raises(DeliveryError):
        await sender.check()
    assert sink.messages == []
    await sender.close()


async def test_starttls_with_a_trusted_certificate_and_login(
    sink: Sink,
    start_sink: StartSink,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
) -> None:
    port = await start_sink(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=sink.authenticator,
        auth_required=True,
        auth_exclude_mechanism=["PLAIN"],
    )  # AUTH is only offered after STARTTLS (auth_require_tls defaults to True)
    sender = _sender(
        port, security="starttls", tls_context=client_tls, username=USER, password=PASSWORD
    )
    await sender.check()
    await sender.send(sender="support@example.org", recipient="m@example.net", message=_message())
    await sender.close()
    assert sink.messages[0][2] == _message()
    assert sink.tls_deliveries == 1
    assert sink.logins[-1][0] == "LOGIN"


async def test_starttls_with_an_untrusted_certificate_is_temporary(
    sink: Sink, start_sink: StartSink, server_tls: ssl.SSLContext
) -> None:
    port = await start_sink(tls_context=server_tls, require_starttls=True)
    sender = _sender(port, security="starttls", tls_context=ssl.create_default_context())
    with pytest.raises(DeliveryError) as failed:
        await sender.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert failed.value.temporary is True
    assert "TLS" in str(failed.value) or "certificate" in str(failed.value)
    assert sink.messages == []
    await sender.close()


async def test_starttls_required_but_not_offered_fails_without_sending(
    sink: Sink, start_sink: StartSink, client_tls: ssl.SSLContext
) -> None:
    port = await start_sink()
    sender = _sender(port, security="starttls", tls_context=client_tls)
    with pytest.raises(DeliveryError):
        await sender.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert sink.messages == []
    await sender.close()


async def test_implicit_tls(
    sink: Sink, start_sink: StartSink, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    port = await start_sink(listen_ssl=server_tls)
    sender = _sender(port, security="tls", tls_context=client_tls)
    await sender.send(sender="support@example.org", recipient="m@example.net", message=_message())
    await sender.close()
    assert sink.messages[0][2] == _message()
    assert sink.tls_deliveries == 1


def test_unknown_security_is_refused() -> None:
    with pytest.raises(ValueError, match="security"):
        _sender(25, security="ssl")


# FileSender ---------------------------------------------------------------------------


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


async def test_file_sender_writes_a_parseable_eml_with_a_stable_name(tmp_path: Path) -> None:
    outbox = FileSender(tmp_path / "outbox")
    await outbox.check()
    await outbox.send(sender="support@example.org", recipient="m@example.net", message=_message())
    (written,) = _listing(tmp_path / "outbox")
    digest = hashlib.sha1(b"<one@example.org>", usedforsecurity=False).hexdigest()
    assert written.name == f"20250304T050607Z-{digest}.eml"
    assert written.read_bytes() == _message()
    parsed = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert parsed["Message-ID"] == "<one@example.org>"


async def test_file_sender_is_idempotent(tmp_path: Path) -> None:
    outbox = FileSender(tmp_path)
    for _ in range(2):
        await outbox.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    undated = _message("nodate", date=None)
    for _ in range(2):
        await outbox.send(sender="support@example.org", recipient="m@example.net", message=undated)
    await outbox.send(
        sender="support@example.org", recipient="m@example.net", message=_message("b")
    )
    assert len(_listing(tmp_path)) == 3


async def test_file_sender_leaves_no_partial_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    outbox = FileSender(tmp_path)
    with pytest.raises(DeliveryError) as failed:
        await outbox.send(
            sender="support@example.org", recipient="m@example.net", message=_message()
        )
    assert failed.value.temporary is True
    assert _listing(tmp_path) == []


async def test_file_sender_uses_the_date_in_utc(tmp_path: Path) -> None:
    outbox = FileSender(tmp_path)
    local = email.utils.format_datetime(
        email.utils.parsedate_to_datetime("Tue, 04 Mar 2025 07:06:07 +0200")
    )
    await outbox.send(
        sender="a@example.org", recipient="b@example.net", message=_message("d", local)
    )
    (written,) = _listing(tmp_path)
    assert written.name.startswith("20250304T050607Z-")


async def test_file_sender_check_and_refusals(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(DeliveryError):
        await FileSender(blocker).check()
    with pytest.raises(DeliveryError) as failed:
        await FileSender(tmp_path).send(
            sender="a@example.org", recipient="b@example.net\r\nBcc: c@evil", message=_message()
        )
    assert failed.value.temporary is False
    await FileSender(tmp_path).close()


async def test_close_is_safe_twice_and_without_a_connection(
    sink: Sink, start_sink: StartSink
) -> None:
    port = await start_sink()
    sender = _sender(port)
    await sender.close()
    await sender.send(sender="support@example.org", recipient="m@example.net", message=_message())
    await sender.close()
    await sender.close()
    assert len(sink.messages) == 1
