"""The outbox ledger: due rows under a lease, each attempt's outcome, the payload codec."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from gateway.messages import AttachmentRef, Channel, OutboundMessage
from store import outbox
from store.blobs import BlobStore
from store.outbox import OutboxStatus
from store.unit_of_work import SqlUnitOfWork, aware, encode

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def message(n: int, channel: Channel = Channel.EMAIL, **extra) -> OutboundMessage:
    return OutboundMessage(channel, f"user{n}@example.org", f"[TI-{n}] subject", "text",
                           message_id=f"<out-{n}@gateway.example>", ticket_ref=f"TI-{n}", **extra)


def enqueue(engine: Engine, tmp_path: Path, *messages: OutboundMessage, at: datetime = T0) -> None:
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        for item in messages:
            uow.outbox.add(item, at)
        uow.commit()


def test_claim_due_respects_next_attempt_and_leases(engine: Engine, tmp_path: Path):
    enqueue(engine, tmp_path, message(1), message(2))
    enqueue(engine, tmp_path, message(3), at=T0 + timedelta(hours=1))
    assert outbox.claim_due(engine, limit=10, lease=LEASE, now=T0 - timedelta(seconds=1)) == []
    due = outbox.claim_due(engine, limit=10, lease=LEASE, now=T0)
    assert [row.message_id for row in due] == ["<out-1@gateway.example>", "<out-2@gateway.example>"]
    assert all(aware(row.lease_until) == T0 + LEASE for row in due)
    # Leased: a second claim before the lease ends gets nothing.
    assert outbox.claim_due(engine, limit=10, lease=LEASE, now=T0 + timedelta(minutes=1)) == []
    # After the lease (the sender died) they come back; the later row is not yet due.
    later = T0 + LEASE + timedelta(seconds=1)
    assert [r.message_id for r in outbox.claim_due(engine, limit=10, lease=LEASE, now=later)] == [
        "<out-1@gateway.example>", "<out-2@gateway.example>"]
    # An hour on, the third row is due too (and the others' second leases have run out).
    third = outbox.claim_due(engine, limit=10, lease=LEASE, now=T0 + timedelta(hours=1))
    assert [r.message_id for r in third] == [f"<out-{n}@gateway.example>" for n in (1, 2, 3)]


def test_claim_due_limit_and_channel(engine: Engine, tmp_path: Path):
    enqueue(engine, tmp_path, message(1), message(2, Channel.TELEGRAM), message(3))
    telegram = outbox.claim_due(engine, limit=10, lease=LEASE, now=T0, channel="telegram")
    assert [row.channel for row in telegram] == ["telegram"]
    one = outbox.claim_due(engine, limit=1, lease=LEASE, now=T0, channel="email")
    assert [row.message_id for row in one] == ["<out-1@gateway.example>"]


def test_mark_sent_pending_failed(engine: Engine, tmp_path: Path):
    enqueue(engine, tmp_path, message(1), message(2), message(3))
    rows = {row.message_id: row for row in outbox.claim_due(engine, limit=10, lease=LEASE, now=T0)}
    sent, retry, dead = (rows[f"<out-{n}@gateway.example>"].id for n in (1, 2, 3))

    outbox.mark(engine, sent, status=OutboxStatus.SENT, now=T0 + timedelta(seconds=5))
    outbox.mark(engine, retry, status=OutboxStatus.PENDING, now=T0, error="451 try later",
                next_attempt_at=T0 + timedelta(minutes=10))
    outbox.mark(engine, dead, status=OutboxStatus.FAILED, now=T0, error="550 no such user")
    outbox.mark(engine, 999_999, status=OutboxStatus.SENT, now=T0)  # a vanished row is ignored

    by_id = {row.id: row for row in outbox.rows(engine)}
    assert by_id[sent].status == OutboxStatus.SENT
    assert aware(by_id[sent].sent_at) == T0 + timedelta(seconds=5)
    assert (by_id[sent].attempts, by_id[sent].lease_until) == (1, None)
    assert by_id[retry].status == OutboxStatus.PENDING
    assert by_id[retry].last_error == "451 try later"
    assert aware(by_id[retry].next_attempt_at) == T0 + timedelta(minutes=10)
    assert by_id[retry].sent_at is None
    assert by_id[dead].status == OutboxStatus.FAILED
    assert by_id[dead].last_error == "550 no such user"
    assert [row.id for row in outbox.rows(engine, OutboxStatus.FAILED)] == [dead]

    # Only the retried row comes back, and only when it is due.
    assert outbox.claim_due(engine, limit=10, lease=LEASE, now=T0 + timedelta(minutes=9)) == []
    again = outbox.claim_due(engine, limit=10, lease=LEASE, now=T0 + timedelta(minutes=10))
    assert [row.id for row in again] == [retry]


def test_two_senders_never_claim_the_same_row(engine: Engine, tmp_path: Path):
    enqueue(engine, tmp_path, *(message(n) for n in range(40)))
    start = threading.Barrier(3)
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            while rows := outbox.claim_due(engine, limit=2, lease=LEASE, now=T0):
                with lock:
                    claimed.extend(row.id for row in rows)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(claimed) == len(set(claimed)) == 40


def test_decode_encode_round_trip():
    original = OutboundMessage(
        Channel.EMAIL, "Zoë <zoe@example.org>", "[TI-7] Écran noir — ça ne marche pas",
        "Bonjour,\r\nvoici la réponse.\n", message_id="<abc.123@gateway.example>",
        ticket_ref="TI-7", in_reply_to="<m0@member.example>",
        references=("<m0@member.example>", "<m1@gateway.example>"),
        reply_to="support+k3y@example.org", auto=False, kind="agent_reply",
        attachments=(AttachmentRef("scan.pdf", "application/pdf", "a" * 64),
                     AttachmentRef("photo.jpg", "image/jpeg", "b" * 64)),
    )
    decoded = outbox.decode(encode(original))
    assert decoded == original
    assert isinstance(decoded.references, tuple)
    assert all(isinstance(item, AttachmentRef) for item in decoded.attachments)
    assert decoded.channel is Channel.EMAIL

    bare = OutboundMessage(Channel.TELEGRAM, "4242", "", "hi", message_id="tg-1")
    assert outbox.decode(encode(bare)) == bare


def test_stored_payload_decodes(engine: Engine, tmp_path: Path):
    original = message(5, references=("<a@x>",),
                       attachments=(AttachmentRef("f.txt", "text/plain", "c" * 64),))
    enqueue(engine, tmp_path, original)
    [row] = outbox.rows(engine)
    assert outbox.decode(row.payload) == original
    assert (row.recipient, row.ticket_ref, row.kind, row.auto) == (
        "user5@example.org", "TI-5", "", True)
