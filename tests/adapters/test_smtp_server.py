"""The inbound SMTP server against real clients on loopback (smtplib and raw sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import smtplib
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from adapters.email.smtp_server import SmtpServer

DOMAIN = "example.org"
GOOD_RCPT = "support@example.org"


class Inbox:
    """A fake InboxWriter: records what it stored, can be held at a gate or made to fail."""

    def __init__(self) -> None:
        self.stored: list[tuple[bytes, str, tuple[str, ...]]] = []
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.failures: list[BaseException] = []
        self.entered = asyncio.Event()

    async def __call__(self, raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            raise self.failures.pop(0)
        self.stored.append((raw, mail_from, rcpt_tos))


class Raw:
    """A line-level SMTP client over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        assert (await client.reply()).startswith("220 ")
        return client

    async def reply(self, within: float = 5.0) -> str:
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), within)).decode()
            if not line:
                raise ConnectionError("server closed the connection")
            if line[3:4] != "-":
                return line.rstrip("\r\n")

    async def cmd(self, line: str | bytes) -> str:
        self.send(line.encode() if isinstance(line, str) else line)
        return await self.reply()

    def send(self, data: bytes) -> None:
        self.writer.write(data if data.endswith(b"\n") else data + b"\r\n")

    async def envelope(self, sender: str = "member@example.net", rcpt: str = GOOD_RCPT) -> None:
        assert (await self.cmd("EHLO client.example")).startswith("250 ")
        assert (await self.cmd(f"MAIL FROM:<{sender}>")).startswith("250 ")
        assert (await self.cmd(f"RCPT TO:<{rcpt}>")).startswith("250 ")
        assert (await self.cmd("DATA")).startswith("354 ")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def _mail(token: str, body: str = "Hello") -> bytes:
    return (
        f"From: member@example.net\r\nTo: {GOOD_RCPT}\r\nSubject: English - test {token}\r\n"
        f"Message-ID: <{token}@example.net>\r\n\r\n{body}\r\n"
    ).encode()


async def _send(
    port: int,
    message: bytes,
    *,
    sender: str = "m@example.net",
    rcpts: tuple[str, ...] = (GOOD_RCPT,),
) -> dict[str, object]:
    return await asyncio.to_thread(_smtplib_send, port, sender, list(rcpts), message)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def server(inbox: Inbox) -> AsyncIterator[SmtpServer]:
    srv = SmtpServer(
        host="127.0.0.1",
        port=0,
        accepted_domains=frozenset({"Example.ORG"}),
        max_message_bytes=10_000,
        store=inbox,
        grace_seconds=2.0,
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def _smtplib_send(port: int, sender: str, rcpts: list[str], message: bytes) -> dict[str, object]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return dict(client.sendmail(sender, rcpts, message))


async def test_port_zero_binds_a_free_port(server: SmtpServer) -> None:
    assert server.port > 0
    client = await Raw.open(server.port)
    assert (await client.cmd("QUIT")).startswith("221")
    await client.close()


async def test_250_only_after_the_store_returned(server: SmtpServer, inbox: Inbox) -> None:
    inbox.gate = asyncio.Event()
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(_mail("gated") + b".\r\n")
    await asyncio.wait_for(inbox.entered.wait(), 5)  # the store is held at the gate
    assert inbox.calls == 1
    with pytest.raises(TimeoutError):
        await client.reply(within=0.3)
    assert inbox.stored == []
    inbox.gate.set()
    assert await client.reply() == "250 2.0.0 Message accepted"
    assert inbox.stored == [(_mail("gated"), "member@example.net", (GOOD_RCPT,))]
    await client.close()


async def test_store_failure_answers_451_without_exception_text(
    server: SmtpServer, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.failures.append(RuntimeError("database is locked; password=hunter2"))
    caplog.set_level(logging.INFO, logger="adapters.email.smtp_server")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await _send(server.port, _mail("a"))
    assert refused.value.smtp_code == 451
    error = refused.value.smtp_error
    reply = error.decode() if isinstance(error, bytes) else error
    assert reply.startswith("4.3.0 Temporary failure")
    assert "hunter2" not in reply
    assert "locked" not in reply
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)
    # The sender retries: stored once.
    await _send(server.port, _mail("a"))
    assert [raw for raw, _, _ in inbox.stored] == [_mail("a")]


def _sqlite_full() -> Exception:
    """A real SQLITE_FULL as SQLAlchemy raises it: the database may not grow past one page."""
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA max_page_count = 1")
        try:
            connection.exec_driver_sql("CREATE TABLE grows (x)")
        except OperationalError as error:
            return error
    raise AssertionError("SQLite grew past max_page_count")


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("commit failed"),
        _sqlite_full(),
        psycopg.errors.DiskFull("could not extend file: No space left on device"),
    ],
    ids=["enospc", "wrapped-enospc", "sqlite-full", "postgresql-disk-full"],
)
async def test_disk_full_answers_452(server: SmtpServer, inbox: Inbox, error: Exception) -> None:
    if isinstance(error, RuntimeError):
        error.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    inbox.failures.append(error)
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(_mail("full") + b".\r\n")
    assert await client.reply() == "452 4.3.1 Insufficient system storage"
    # The session goes on; a retry in it succeeds.
    await client.envelope()
    client.send(_mail("full") + b".\r\n")
    assert (await client.reply()).startswith("250 ")
    assert len(inbox.stored) == 1
    await client.close()


async def test_unexpected_session_error_is_451_not_500(
    server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(address: str) -> bool:
        raise KeyError("internal detail")

    monkeypatch.setattr(server, "accepts", boom)
    client = await Raw.open(server.port)
    assert (await client.cmd("EHLO c")).startswith("250")
    assert (await client.cmd("MAIL FROM:<m@example.net>")).startswith("250")
    reply = await client.cmd(f"RCPT TO:<{GOOD_RCPT}>")
    assert reply == "451 4.3.0 Temporary failure, please retry later"
    await client.close()


async def test_foreign_domain_is_refused_with_550(server: SmtpServer, inbox: Inbox) -> None:
    client = await Raw.open(server.port)
    assert (await client.cmd("EHLO c")).startswith("250")
    assert (await client.cmd("MAIL FROM:<m@example.net>")).startswith("250")
    assert (await client.cmd("RCPT TO:<someone@evil.example>")).startswith("550 5.1.2 ")
    assert (await client.cmd("RCPT TO:<support@example.org.evil.example>")).startswith("550 ")
    assert (await client.cmd("RCPT TO:<postmaster>")).startswith("550 ")
    assert (await client.cmd("RCPT TO:<Support+TI-1.key@EXAMPLE.org>")).startswith("250 ")
    assert (await client.cmd("DATA")).startswith("354")
    client.send(_mail("mixed") + b".\r\n")
    assert (await client.reply()).startswith("250 ")
    assert inbox.stored == [(_mail("mixed"), "m@example.net", ("Support+TI-1.key@EXAMPLE.org",))]
    await client.close()


async def test_only_foreign_recipients_stores_nothing(server: SmtpServer, inbox: Inbox) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        await asyncio.to_thread(
            _smtplib_send, server.port, "m@example.net", ["x@evil.example"], _mail("b")
        )
    assert refused.value.recipients["x@evil.example"][0] == 550
    assert inbox.calls == 0


async def test_over_the_size_limit_is_552(server: SmtpServer, inbox: Inbox) -> None:
    big = _mail("big", "x" * 900 + ("\r\n" + "y" * 900) * 12)
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(big + b".\r\n")
    assert (await client.reply()).startswith("552 5.3.4 ")
    # Announced size over the limit is refused at MAIL.
    assert (await client.cmd("MAIL FROM:<m@example.net> SIZE=20000")).startswith("552 5.3.4 ")
    assert (await client.cmd("NOOP")).startswith("250")
    await client.close()
    assert inbox.calls == 0


async def test_a_1002_byte_line_is_500_line_too_long(server: SmtpServer, inbox: Inbox) -> None:
    client = await Raw.open(server.port)
    await client.envelope()
    line = b"z" * 1000 + b"\r\n"
    assert len(line) == 1002
    client.send(b"Subject: long\r\n\r\n" + line + b"end\r\n.\r\n")
    assert (await client.reply()).startswith("500 Line too long")
    await client.close()
    assert inbox.calls == 0


@pytest.mark.parametrize("bogus", [b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r", b"\r.\r\n"])
async def test_smuggled_end_of_data_does_not_end_the_message(
    server: SmtpServer, inbox: Inbox, bogus: bytes
) -> None:
    smuggled = (
        b"MAIL FROM:<ceo@example.org>\r\nRCPT TO:<support@example.org>\r\nDATA\r\n"
        b"Subject: smuggled\r\n\r\nevil\r\n"
    )
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(b"Subject: outer\r\n\r\nfirst part" + bogus + smuggled + b".\r\n")
    assert (await client.reply()).startswith("250 ")
    with pytest.raises(TimeoutError):  # no second reply: nothing was smuggled through
        await client.reply(within=0.3)
    await client.close()
    assert len(inbox.stored) == 1
    raw = inbox.stored[0][0]
    # Everything up to the real end is one message (a line-leading dot is unstuffed).
    assert raw.startswith(b"Subject: outer\r\n\r\nfirst part")
    assert raw.endswith(smuggled)
    if not bogus.startswith(b"\r\n."):
        assert b"first part" + bogus + smuggled in raw
    assert inbox.stored[0][1] == "member@example.net"


async def test_dot_stuffing_is_undone_and_bytes_are_untouched(
    server: SmtpServer, inbox: Inbox
) -> None:
    body = b"Subject: raw\r\nX-8bit: caf\xc3\xa9 \xff\r\n\r\n..leading dot\r\nbody\r\n"
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(body + b".\r\n")
    assert (await client.reply()).startswith("250 ")
    await client.close()
    assert inbox.stored[0][0] == body.replace(b"\r\n..", b"\r\n.")


async def test_disconnect_mid_data_stores_nothing_and_the_retry_stores_once(
    server: SmtpServer, inbox: Inbox
) -> None:
    client = await Raw.open(server.port)
    await client.envelope()
    client.send(_mail("cut")[:40])
    await client.writer.drain()
    await client.close()
    await asyncio.sleep(0.2)
    assert inbox.calls == 0
    await _send(server.port, _mail("cut"))
    assert [raw for raw, _, _ in inbox.stored] == [_mail("cut")]


async def test_null_sender_reaches_the_store_as_empty_string(
    server: SmtpServer, inbox: Inbox
) -> None:
    client = await Raw.open(server.port)
    assert (await client.cmd("EHLO c")).startswith("250")
    assert (await client.cmd("MAIL FROM:<>")).startswith("250")
    assert (await client.cmd(f"RCPT TO:<{GOOD_RCPT}>")).startswith("250")
    assert (await client.cmd("DATA")).startswith("354")
    client.send(_mail("bounce") + b".\r\n")
    assert (await client.reply()).startswith("250 ")
    await client.close()
    assert inbox.stored[0][1] == ""


async def test_twenty_concurrent_sessions_are_each_stored_once(
    server: SmtpServer, inbox: Inbox
) -> None:
    tokens = [f"tok{n}" for n in range(20)]
    results = await asyncio.gather(
        *(_send(server.port, _mail(t), sender=f"m{n}@example.net") for n, t in enumerate(tokens))
    )
    assert results == [{}] * 20
    assert sorted(raw for raw, _, _ in inbox.stored) == sorted(_mail(t) for t in tokens)


async def test_dispositions_are_logged_with_local_parts_redacted(
    server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.email.smtp_server")
    await asyncio.to_thread(
        _smtplib_send, server.port, "alice.secret@example.net", [GOOD_RCPT], _mail("log")
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await asyncio.to_thread(
            _smtplib_send, server.port, "bob.hidden@example.net", ["carol@evil.example"], _mail("x")
        )
    ours = [r.getMessage() for r in caplog.records if r.name == "adapters.email.smtp_server"]
    assert any("disposition=accepted" in m and "code=250" in m for m in ours)
    assert any("disposition=rcpt_refused" in m and "***@evil.example" in m for m in ours)
    everything = "\n".join(r.getMessage() for r in caplog.records)  # aiosmtpd's "mail.log" too
    for secret in ("alice.secret", "bob.hidden", "carol", "support@"):
        assert secret not in everything


async def test_stop_lets_a_store_in_progress_finish(inbox: Inbox) -> None:
    srv = SmtpServer(
        host="127.0.0.1",
        port=0,
        accepted_domains=frozenset({DOMAIN}),
        max_message_bytes=10_000,
        store=inbox,
        grace_seconds=5.0,
    )
    await srv.start()
    inbox.gate = asyncio.Event()
    busy = await Raw.open(srv.port)
    idle = await Raw.open(srv.port)
    await busy.envelope()
    busy.send(_mail("inflight") + b".\r\n")
    await asyncio.wait_for(inbox.entered.wait(), 5)
    stopping = asyncio.create_task(srv.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    with pytest.raises(OSError, match=r"refused|Connect call failed"):  # no longer listening
        await asyncio.open_connection("127.0.0.1", srv.port)
    inbox.gate.set()
    assert await busy.reply() == "250 2.0.0 Message accepted"
    await asyncio.wait_for(stopping, 5)
    assert (await idle.reply()).startswith("421 ")
    assert len(inbox.stored) == 1
    await busy.close()
    await idle.close()


async def test_stop_is_bounded_when_the_store_hangs(inbox: Inbox) -> None:
    srv = SmtpServer(
        host="127.0.0.1",
        port=0,
        accepted_domains=frozenset({DOMAIN}),
        max_message_bytes=10_000,
        store=inbox,
        grace_seconds=0.3,
    )
    await srv.start()
    inbox.gate = asyncio.Event()  # never set
    client = await Raw.open(srv.port)
    await client.envelope()
    client.send(_mail("hang") + b".\r\n")
    await asyncio.wait_for(inbox.entered.wait(), 5)
    await asyncio.wait_for(srv.stop(), 3)
    reply = await client.reply()
    assert reply.startswith("421 ")  # never a 250 for what was not stored
    assert inbox.stored == []
    await client.close()
