"""The inbox worker (the incoming runner) on a real database: one transaction per item,
duplicates once, crashes quarantined; and the outgoing runner writing each message once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.email.ingest import dedupe_key
from adapters.email.sender import EmailSender
from adapters.email.sender_auth import DnsUnavailable, SenderCheck
from adapters.email.smtp_sender import FileSender
from adapters.parse_budget import ParseBudget
from adapters.runners.incoming import IncomingRunner
from adapters.runners.outgoing import OutgoingRunner
from adapters.runtime import make_desk, make_limits
from config.settings import load_settings
from gateway.messages import Channel
from store import admin, inbox, outbox
from store.blobs import BlobStore
from tests.unit.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def worker(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           clock: FakeClock) -> IncomingRunner:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "worker-secret")
    settings = load_settings()
    admin.upsert_member(engine, member_id="7", name="Anna Smith", email="anna@member.example",
                        rank="Silver")
    return IncomingRunner(engine=engine, blobs=BlobStore(tmp_path / "b"), desk=make_desk(settings),
                          limits=make_limits(settings), sender_check=SenderCheck("off"),
                          clock=clock, max_attempts=settings.worker.max_attempts)


def delivery(worker: IncomingRunner, directory: Path) -> OutgoingRunner:
    """The outgoing runner writing mail as `.eml` files into `directory`."""
    sender = EmailSender(FileSender(directory), worker.desk, "IT Support", worker.blobs.get)
    return OutgoingRunner(worker.engine, worker.blobs, {Channel.EMAIL: sender}, worker.clock,
                          timedelta(days=5), worker.desk.default_agent_address)


def put(engine: Engine, raw: bytes, envelope: dict[str, object] | None = None) -> bool:
    return inbox.store_raw(engine, channel="email", dedupe_key=dedupe_key(raw), raw=raw,
                           envelope=json.dumps(envelope or {"from": "x@y", "to": []}), now=NOW)


def test_a_mail_with_a_pdf_becomes_a_ticket_with_its_attachment(engine: Engine,
                                                                 worker: IncomingRunner) -> None:
    assert put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
    assert worker.process_inbox() == 1
    [row] = inbox.rows(engine)
    assert (row.status, row.ticket_ref) == ("done", "TI-1")
    ticket = admin.show_ticket(engine, 1)
    assert ticket is not None
    assert ticket["messages"][0]["attachments"][0]["filename"] == "invoice.pdf"
    kinds = sorted(row.kind for row in outbox.rows(engine))
    assert kinds == ["agent_new_ticket", "ticket_opened"]


def test_the_same_mail_twice_is_one_ticket_and_the_copy_is_kept_as_a_duplicate(
        engine: Engine, worker: IncomingRunner) -> None:
    raw = (FIXTURES / "new_ticket_with_pdf.eml").read_bytes()
    assert put(engine, raw)
    assert not put(engine, raw)  # the same bytes: nothing new
    assert put(engine, raw.replace(b"From:", b"Received: from relay\nFrom:", 1))
    worker.process_inbox()
    assert len(admin.list_tickets(engine)) == 1
    first, copy = sorted(inbox.rows(engine), key=lambda row: row.id or 0)
    assert (first.status, copy.status, copy.reason) == ("done", "refused", "duplicate")
    assert len(outbox.rows(engine)) == 2  # the acknowledgement and the agent's notice, once


def test_a_null_envelope_sender_is_never_answered(engine: Engine, worker: IncomingRunner) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes(), {"from": "", "to": []})
    worker.process_inbox()
    [row] = inbox.rows(engine)
    assert (row.status, row.reason) == ("refused", "loop-guard: null-sender")
    assert outbox.rows(engine) == []


def test_a_message_that_keeps_crashing_is_quarantined_then_replayed(
        engine: Engine, worker: IncomingRunner, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())

    def explode(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("adapters.runners.incoming.handle_inbound", explode)
    for attempt in range(1, 4):
        clock.current = NOW + timedelta(minutes=10 * attempt)
        assert worker.process_inbox() == 1
    [row] = inbox.rows(engine)
    assert row.status == "quarantined" and "RuntimeError: boom" in row.error
    assert admin.list_tickets(engine) == []

    monkeypatch.undo()
    assert inbox.replay(engine, row.id) == 1
    worker.process_inbox()
    assert inbox.rows(engine)[0].status == "done"


def test_a_dns_outage_leaves_the_mail_waiting_uncounted(engine: Engine, worker: IncomingRunner,
                                                        clock: FakeClock) -> None:
    """DKIM cannot be checked while DNS is down: that is nobody's fault, the mail waits."""
    def down(name: str) -> list[bytes]:
        raise DnsUnavailable("Timeout")

    worker.sender_check = SenderCheck("dkim", txt=down)
    signed = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=member.example; s=sel;\r\n"
              b" h=from:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
              + (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
    put(engine, signed)
    for attempt in range(1, 6):
        clock.current = NOW + timedelta(minutes=10 * attempt)
        assert worker.process_inbox() == 0
    [row] = inbox.rows(engine)
    assert (row.status, row.attempts) == ("received", 0)

    worker.sender_check = SenderCheck("off")
    worker.process_inbox()
    assert inbox.rows(engine)[0].status == "done"


def test_an_unreadable_message_is_quarantined_without_crashing(engine: Engine,
                                                               worker: IncomingRunner) -> None:
    nested = b"From: anna@member.example\nMessage-ID: <deep@x>\n" + b"".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n".encode() for i in range(60))
    put(engine, nested)
    worker.process_inbox()
    [row] = inbox.rows(engine)
    assert row.status == "quarantined" and row.reason.startswith("unreadable")


async def test_delivery_writes_each_message_once(engine: Engine, worker: IncomingRunner,
                                                 tmp_path: Path) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
    worker.process_inbox()
    outgoing = delivery(worker, tmp_path / "outbox")
    assert await outgoing.deliver_due(Channel.EMAIL) == 2
    assert await outgoing.deliver_due(Channel.EMAIL) == 0
    assert {row.status for row in outbox.rows(engine)} == {"sent"}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def big_mail(parts: int) -> bytes:
    """A real mail with many PDF parts: parsing it takes a few tenths of a second of CPU."""
    message = EmailMessage()
    message["From"], message["To"] = "anna@member.example", "support@example.org"
    message["Subject"], message["Message-ID"] = "English - Scans", "<scans@member.example>"
    message.set_content("Here are the scans.")
    for number in range(parts):
        message.add_attachment(b"%PDF-1.4 " + bytes(10_000), maintype="application",
                               subtype="pdf", filename=f"scan{number}.pdf")
    return message.as_bytes()


def test_a_mail_too_slow_to_parse_is_quarantined_and_the_next_is_processed_at_once(
        engine: Engine, worker: IncomingRunner) -> None:
    worker.parse_budget = ParseBudget(0.05)
    try:
        put(engine, big_mail(400))
        put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
        started = time.monotonic()
        assert worker.process_inbox() == 2
        assert time.monotonic() - started < 30  # not the minutes a stuck parser would take
    finally:
        worker.parse_budget.close()
    slow, fine = sorted(inbox.rows(engine), key=lambda row: row.id or 0)
    assert (slow.status, slow.reason, slow.attempts) == ("quarantined", "too slow to parse", 1)
    assert (fine.status, fine.ticket_ref) == ("done", "TI-1")
    # With the default budget the same mail is no trouble.
    worker.parse_budget = ParseBudget(5.0)
    try:
        assert inbox.replay(engine, slow.id) == 1
        worker.process_inbox()
    finally:
        worker.parse_budget.close()
    assert slow.id is not None and getattr(inbox.get(engine, slow.id), "status", "") == "done"


def authenticated_copy(result: str, hop: str = "") -> bytes:
    """The same mail (Message-ID, From, body), as our MTA stamped it."""
    raw = (FIXTURES / "new_ticket_with_pdf.eml").read_bytes()
    stamp = f"{hop}Authentication-Results: mx.example.org; dmarc={result} header.from=member.example\n"
    return stamp.encode() + raw


def test_a_forged_copy_first_does_not_swallow_the_genuine_mail(engine: Engine,
                                                               worker: IncomingRunner) -> None:
    """F9: dmarc=fail with the genuine Message-ID, From and body came first: no ticket."""
    worker.sender_check = SenderCheck("authentication-results", "mx.example.org")
    assert put(engine, authenticated_copy("fail"))
    worker.process_inbox()
    assert put(engine, authenticated_copy("pass"))
    worker.process_inbox()
    forged, genuine = sorted(inbox.rows(engine), key=lambda row: row.id or 0)
    assert forged.dedupe_key + "#2" == genuine.dedupe_key
    assert (forged.status, forged.authenticated) == ("refused", False)
    assert (genuine.status, genuine.ticket_ref, genuine.authenticated) == ("done", "TI-1", True)
    # The genuine mail again by another path, and the forgery again: duplicates, no reply.
    assert put(engine, authenticated_copy("pass", hop="Received: from imap\n"))
    assert put(engine, authenticated_copy("fail", hop="Received: from elsewhere\n"))
    assert worker.process_inbox() == 2
    assert [(row.status, row.reason) for row in inbox.rows(engine)][:2] == [
        ("refused", "duplicate"), ("refused", "duplicate")]
    assert len(admin.list_tickets(engine)) == 1
    assert sorted(row.kind for row in outbox.rows(engine)) == ["agent_new_ticket", "ticket_opened"]


def test_the_genuine_mail_first_makes_a_later_forged_copy_a_duplicate(engine: Engine,
                                                                      worker: IncomingRunner) -> None:
    worker.sender_check = SenderCheck("authentication-results", "mx.example.org")
    put(engine, authenticated_copy("pass"))
    put(engine, authenticated_copy("fail"))
    worker.process_inbox()
    genuine, forged = sorted(inbox.rows(engine), key=lambda row: row.id or 0)
    assert (genuine.status, forged.status, forged.reason) == ("done", "refused", "duplicate")
    assert len(admin.list_tickets(engine)) == 1
