"""The inbox worker on a real database: one transaction per item, duplicates once, crashes quarantined."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.email.ingest import dedupe_key
from adapters.email.normalize import Limits
from adapters.email.sender_auth import SenderCheck
from adapters.email.smtp_sender import FileSender
from adapters.runtime import make_desk
from adapters.worker import Worker
from config.settings import load_settings
from store import admin, inbox, outbox
from store.blobs import BlobStore

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def worker(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Worker:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "worker-secret")
    settings = load_settings()
    admin.upsert_member(engine, member_id="7", name="Anna Smith", email="anna@member.example",
                        rank="Silver")
    return Worker(engine=engine, blobs=BlobStore(tmp_path / "b"),
                 desk=make_desk(settings), limits=Limits(), sender_check=SenderCheck("off"),
                 mail=FileSender(tmp_path / "outbox"), from_name="IT Support",
                 max_age=timedelta(days=5), clock=lambda: NOW)


def put(engine: Engine, raw: bytes, envelope: dict[str, object] | None = None) -> bool:
    return inbox.store_raw(engine, channel="email", dedupe_key=dedupe_key(raw), raw=raw,
                           envelope=json.dumps(envelope or {"from": "x@y", "to": []}), now=NOW)


def test_a_mail_with_a_pdf_becomes_a_ticket_with_its_attachment(engine: Engine,
                                                                 worker: Worker) -> None:
    assert put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
    assert worker.process_inbox() == 1
    [row] = inbox.rows(engine)
    assert (row.status, row.ticket_ref) == ("done", "TI-1")
    ticket = admin.show_ticket(engine, 1)
    assert ticket is not None
    assert ticket["messages"][0]["attachments"][0]["filename"] == "invoice.pdf"
    kinds = sorted(row.kind for row in outbox.rows(engine))
    assert kinds == ["agent_new_ticket", "ticket_opened"]


def test_the_same_mail_twice_is_one_item_and_one_ticket(engine: Engine, worker: Worker) -> None:
    raw = (FIXTURES / "new_ticket_with_pdf.eml").read_bytes()
    assert put(engine, raw)
    assert not put(engine, raw.replace(b"From:", b"Received: from relay\nFrom:", 1))
    worker.process_inbox()
    assert len(admin.list_tickets(engine)) == 1


def test_a_null_envelope_sender_is_never_answered(engine: Engine, worker: Worker) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes(), {"from": "", "to": []})
    worker.process_inbox()
    [row] = inbox.rows(engine)
    assert (row.status, row.reason) == ("refused", "loop-guard: null-sender")
    assert outbox.rows(engine) == []


def test_a_message_that_keeps_crashing_is_quarantined_then_replayed(
        engine: Engine, worker: Worker, monkeypatch: pytest.MonkeyPatch) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())

    def explode(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("adapters.worker.handle_inbound", explode)
    for attempt in range(1, 4):
        worker.clock = lambda attempt=attempt: NOW + timedelta(minutes=10 * attempt)
        assert worker.process_inbox() == 1
    [row] = inbox.rows(engine)
    assert row.status == "quarantined" and "RuntimeError: boom" in row.error
    assert admin.list_tickets(engine) == []

    monkeypatch.undo()
    assert inbox.replay(engine, row.id) == 1
    worker.process_inbox()
    assert inbox.rows(engine)[0].status == "done"


def test_an_unreadable_message_is_quarantined_without_crashing(engine: Engine,
                                                               worker: Worker) -> None:
    nested = b"From: anna@member.example\nMessage-ID: <deep@x>\n" + b"".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n".encode() for i in range(60))
    put(engine, nested)
    worker.process_inbox()
    [row] = inbox.rows(engine)
    assert row.status == "quarantined" and row.reason.startswith("unreadable")


async def test_delivery_writes_each_message_once(engine: Engine, worker: Worker,
                                                 tmp_path: Path) -> None:
    put(engine, (FIXTURES / "new_ticket_with_pdf.eml").read_bytes())
    worker.process_inbox()
    assert await worker.deliver_due() == 2
    assert await worker.deliver_due() == 0
    assert {row.status for row in outbox.rows(engine)} == {"sent"}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
