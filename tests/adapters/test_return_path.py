"""The incoming and outgoing runners against a real database and a real aiosmtpd relay: each
mail leaves with its own signed return path (VERP), and only delivery reports proven to be
about our mail count (F4);
a non-ASCII address goes by SMTPUTF8, and a stranger's failure raises no ALERT (F14)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.email.ingest import dedupe_key
from adapters.email.sender import EmailSender
from adapters.email.sender_auth import SenderCheck
from adapters.email.smtp_sender import SmtpSender
from adapters.runners.incoming import IncomingRunner
from adapters.runners.outgoing import OutgoingRunner
from adapters.runtime import make_desk, make_limits
from config.settings import load_settings
from gateway.desk import Desk
from gateway.messages import Channel
from gateway.replykeys import return_path
from store import admin, inbox, outbox
from store.blobs import BlobStore
from tests.support.smtp_sink import Sink, SinkServer
from tests.unit.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
SUPPORT, ANNA, DESK = "support@example.org", "anna@member.example", "desk@example.org"


Relay = Sink
StartRelay = Callable[..., Relay]


@pytest.fixture
def start_relay() -> Iterator[StartRelay]:
    servers: list[SinkServer] = []

    def start(*, utf8: bool = False) -> Relay:
        server = SinkServer(utf8=utf8)
        server.up()
        servers.append(server)
        return server.sink

    yield start
    for server in servers:
        server.down()


@pytest.fixture
def relay(start_relay: StartRelay) -> Relay:
    return start_relay()


@dataclass
class Worker:
    """The inbox worker and the mail delivery behind it."""

    incoming: IncomingRunner
    outgoing: OutgoingRunner

    @property
    def desk(self) -> Desk:
        return self.incoming.desk

    def process_inbox(self) -> int:
        return self.incoming.process_inbox()

    async def deliver_due(self) -> int:
        return await self.outgoing.deliver_due(Channel.EMAIL)


@pytest.fixture
def make_worker(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> Callable[[Relay], Worker]:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "return-path-secret")
    settings = load_settings()
    admin.upsert_member(engine, member_id="7", name="Anna Smith", email=ANNA, rank="Silver")

    def make(relay: Relay) -> Worker:
        mail = SmtpSender(host="127.0.0.1", port=relay.port, security="none", username="",
                          password="", timeout=5.0)
        blobs, desk, clock = BlobStore(tmp_path / "b"), make_desk(settings), FakeClock(NOW)
        incoming = IncomingRunner(engine=engine, blobs=blobs, desk=desk,
                                  limits=make_limits(settings), sender_check=SenderCheck("off"),
                                  clock=clock, max_attempts=settings.worker.max_attempts)
        sender = EmailSender(mail, desk, "IT Support", blobs.get)
        return Worker(incoming, OutgoingRunner(engine, blobs, {Channel.EMAIL: sender}, clock,
                                               timedelta(days=5), desk.default_agent_address))

    return make


@pytest.fixture
def worker(make_worker: Callable[[Relay], Worker], relay: Relay) -> Worker:
    return make_worker(relay)


def put(engine: Engine, raw: bytes, envelope: dict[str, object] | None = None) -> None:
    """Store as the SMTP server does (envelope given), or as IMAP does (envelope None)."""
    assert inbox.store_raw(engine, channel="email", dedupe_key=dedupe_key(raw), raw=raw,
                           envelope=json.dumps(envelope) if envelope else "", now=NOW)


def new_ticket(n: int, sender: str = ANNA) -> bytes:
    return (f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: English - Cannot log in {n}\r\n"
            f"Message-ID: <t{n}@member.example>\r\n\r\nI cannot log in since today.\r\n").encode()


def fixture(name: str, n: int, **placeholders: str) -> bytes:
    raw = (FIXTURES / name).read_bytes().replace(b"DSN-ID", f"dsn{n}".encode())
    for placeholder, value in placeholders.items():
        raw = raw.replace(placeholder.encode(), value.encode())
    return raw


def rows_to(engine: Engine, recipient: str) -> list[outbox.OutboxRow]:
    return sorted((row for row in outbox.rows(engine) if row.recipient == recipient),
                  key=lambda row: row.id or 0)


async def open_tickets(engine: Engine, worker: Worker, count: int) -> None:
    for n in range(count):
        put(engine, new_ticket(n), {"from": ANNA, "to": [SUPPORT]})
    worker.process_inbox()
    await worker.deliver_due()


async def test_each_mail_leaves_with_its_own_signed_return_path(
        engine: Engine, worker: Worker, relay: Relay) -> None:
    await open_tickets(engine, worker, 2)
    rows = sorted(outbox.rows(engine), key=lambda row: row.id or 0)
    assert len(rows) == 4 and {row.status for row in rows} == {"sent"}
    expected = [(return_path(SUPPORT, worker.desk.keys.bounce_token(row.id or 0)), (row.recipient,))
                for row in rows]
    assert [envelope[:2] for envelope in relay.envelopes] == expected
    assert len({mail_from for mail_from, _, _ in relay.envelopes}) == 4
    assert all(mail_from.startswith("support+b-") for mail_from, _, _ in relay.envelopes)


async def test_three_reports_to_return_paths_suspend_the_member(
        engine: Engine, worker: Worker, relay: Relay) -> None:
    await open_tickets(engine, worker, 3)
    paths = {rcpts[0]: [] for _, rcpts, _ in relay.envelopes}  # type: dict[str, list[str]]
    for mail_from, rcpts, _ in relay.envelopes:
        paths[rcpts[0]].append(mail_from)
    assert len(paths[ANNA]) == 3 and all("+b-" in path for path in paths[ANNA])
    for n, path in enumerate(paths[ANNA]):  # the SMTP server accepts RCPT to the return path
        token = path.partition("+")[2].partition("@")[0]
        put(engine, fixture("dsn_to_return_path.eml", n, **{"RETURN-PATH-TOKEN": token}),
            {"from": "", "to": [path]})
    worker.process_inbox()
    assert {row.reason for row in inbox.rows(engine)} >= {"loop-guard: null-sender"}
    put(engine, new_ticket(9), {"from": ANNA, "to": [SUPPORT]})
    worker.process_inbox()
    assert len(rows_to(engine, ANNA)) == 3  # no acknowledgement for ticket 4 ...
    assert len(rows_to(engine, DESK)) == 4  # ... but the desk hears of it
    assert admin.show_ticket(engine, 4) is not None


async def test_forged_reports_suspend_nobody(engine: Engine, worker: Worker,
                                             caplog: pytest.LogCaptureFixture) -> None:
    await open_tickets(engine, worker, 1)
    with caplog.at_level(logging.WARNING):
        for n in range(3):  # from anyone, unauthenticated, no return path, a made-up id
            put(engine, fixture("dsn_forged_about_a_member_and_an_agent.eml", n),
                {"from": "mailer-daemon@forger.example", "to": [SUPPORT]})
            put(engine, fixture("dsn_to_return_path.eml", n + 10,
                                **{"RETURN-PATH-TOKEN": "b-1.zz" + "a" * 16}),
                {"from": "", "to": ["support+b-1.zz" + "a" * 16 + "@example.org"]})
        worker.process_inbox()
    assert "nothing counted" in caplog.text and "forged or unknown return path" in caplog.text
    put(engine, new_ticket(9), {"from": ANNA, "to": [SUPPORT]})
    worker.process_inbox()
    assert len(rows_to(engine, ANNA)) == 2 and len(rows_to(engine, DESK)) == 2


async def test_a_report_by_imap_quoting_the_original_counts_for_its_recipient_only(
        engine: Engine, worker: Worker) -> None:
    await open_tickets(engine, worker, 3)
    for n, (ack, note) in enumerate(zip(rows_to(engine, ANNA), rows_to(engine, DESK),
                                        strict=True)):
        # Each report names Anna and the desk as failed; it quotes one mail to each.
        put(engine, fixture("dsn_by_imap_quoting_the_original.eml", n,
                            **{"ORIGINAL-MESSAGE-ID": ack.message_id}))
        put(engine, fixture("dsn_by_imap_quoting_the_original.eml", n + 10,
                            **{"ORIGINAL-MESSAGE-ID": note.message_id}).replace(
                                b"desk@example.org", b"other@example.org"))
    worker.process_inbox()
    put(engine, new_ticket(9), {"from": ANNA, "to": [SUPPORT]})
    worker.process_inbox()
    assert len(rows_to(engine, ANNA)) == 3  # suspended: three of her mails bounced
    assert len(rows_to(engine, DESK)) == 4  # never proven for the desk: still told


async def test_a_non_ascii_address_is_sent_by_smtputf8(
        engine: Engine, make_worker: Callable[[Relay], Worker], start_relay: StartRelay) -> None:
    relay = start_relay(utf8=True)
    worker = make_worker(relay)
    put(engine, new_ticket(1, "jürgen@exämple.de"), {"from": "jürgen@exämple.de", "to": [SUPPORT]})
    worker.process_inbox()
    assert await worker.deliver_due() == 1
    assert [row.status for row in outbox.rows(engine)] == ["sent"]
    [(_, rcpts, utf8)] = relay.envelopes
    assert rcpts == ("jürgen@xn--exmple-cua.de",) and utf8


async def test_only_failures_the_operator_must_fix_raise_an_alert(
        engine: Engine, worker: Worker, relay: Relay, caplog: pytest.LogCaptureFixture) -> None:
    relay.refuse.add(ANNA)  # a member's mail refused for good: the operator must know
    put(engine, new_ticket(0), {"from": ANNA, "to": [SUPPORT]})
    for n in range(1, 4):  # strangers the relay cannot reach without SMTPUTF8: their doing
        put(engine, new_ticket(n, f"jürgen{n}@exämple.de"), {"from": "x@y.example", "to": [SUPPORT]})
    worker.process_inbox()
    with caplog.at_level(logging.WARNING):
        assert await worker.deliver_due() == 5
    assert sorted(row.status for row in outbox.rows(engine)) == ["failed"] * 4 + ["sent"]
    assert [envelope[1] for envelope in relay.envelopes] == [(DESK,)]
    assert caplog.text.count("ALERT outbound message failed") == 1
    assert caplog.text.count("outbound message to a non-member failed for good") == 3
