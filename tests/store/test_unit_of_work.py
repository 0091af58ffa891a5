"""SqlUnitOfWork: the core's ports over the real tables (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from gateway.messages import Attachment, Channel, OutboundMessage
from gateway.people import Author, Entry
from gateway.tickets import Move, Status
from store import admin
from store.blobs import BlobStore
from store.engine import make_engine
from store.migrate import upgrade
from store.tables import AttachmentRow
from store.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def uow_factory(engine: Engine, blobs: BlobStore):
    return lambda: SqlUnitOfWork(engine, blobs)


def add_ticket(uow_factory, title: str = "Printer is broken", member: str = "M1",
               at: datetime = T0) -> int:
    with uow_factory() as uow:
        ticket = uow.tickets.add(title, "en", member, Channel.EMAIL, at)
        uow.commit()
    return ticket.number


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


# --- members and agents -------------------------------------------------------------------------

def test_members_by_email_case_insensitive_telegram_and_member_id(engine: Engine, uow_factory):
    admin.upsert_member(engine, member_id="M1", name="Ann", email="Ann.Smith@Example.ORG",
                        rank="Gold", language="nl", telegram_user_id=4242)
    admin.upsert_member(engine, member_id="M2", name="Bob", email="bob@example.org", rank="Silver")
    with uow_factory() as uow:
        by_email = uow.members.by_email("ANN.SMITH@example.org")
        assert by_email is not None
        assert by_email.member_id == "M1"
        assert by_email.email == "ann.smith@example.org"
        assert by_email.language == "nl"
        assert uow.members.by_telegram(4242) == by_email
        assert uow.members.get("M1") == by_email
        assert uow.members.get("M2").telegram_user_id is None
        assert uow.members.by_email("nobody@example.org") is None
        assert uow.members.by_telegram(1) is None
        assert uow.members.get("M3") is None


def test_telegram_user_id_beyond_32_bits(engine: Engine, uow_factory):
    big = 7_123_456_789  # real Telegram user ids are this large today
    admin.upsert_member(engine, member_id="M9", name="Big", email="big@example.org",
                        rank="Gold", telegram_user_id=big)
    with uow_factory() as uow:
        member = uow.members.by_telegram(big)
        assert member is not None
        assert member.member_id == "M9"


def test_agents_by_email_and_for_language(engine: Engine, uow_factory):
    admin.upsert_agent(engine, email="Nl-Desk@Example.org", name="Nina", languages=["nl", " EN "])
    admin.upsert_agent(engine, email="fr@example.org", name="Fred", languages=["fr"])
    with uow_factory() as uow:
        agent = uow.agents.by_email("nl-desk@EXAMPLE.org")
        assert agent is not None
        assert agent.languages == frozenset({"nl", "en"})
        assert [a.email for a in uow.agents.for_language("nl")] == ["nl-desk@example.org"]
        assert {a.email for a in uow.agents.for_language("en")} == {"nl-desk@example.org"}
        assert [a.email for a in uow.agents.for_language("fr")] == ["fr@example.org"]
        assert list(uow.agents.for_language("cs")) == []


# --- tickets ------------------------------------------------------------------------------------

def test_ticket_numbers_strictly_increase_and_are_never_reused(engine: Engine, uow_factory):
    numbers = [add_ticket(uow_factory, f"Ticket {i}") for i in range(3)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    assert numbers[0] >= 1
    # Delete the newest ticket outright: the next one must not get its number back.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM tickets WHERE number = :n"), {"n": numbers[-1]})
    assert add_ticket(uow_factory, "After delete") > numbers[-1]


def test_sqlite_tickets_table_uses_autoincrement(engine: Engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("AUTOINCREMENT is SQLite's; PostgreSQL uses a sequence")
    with engine.connect() as connection:
        sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type='table' AND name='tickets'")).scalar()
    assert "AUTOINCREMENT" in sql.upper()


def test_ticket_add_get_save_round_trip(uow_factory):
    number = add_ticket(uow_factory, "Kan niet inloggen", member="M1")
    with uow_factory() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        assert (ticket.title, ticket.language, ticket.member_id) == ("Kan niet inloggen", "en", "M1")
        assert ticket.channel is Channel.EMAIL
        assert ticket.status is Status.OPEN
        assert ticket.opened_at == T0
        assert ticket.closed_at is None
        assert ticket.ref == f"TI-{number}"
        ticket.move(Move.CLOSE, T0 + timedelta(hours=2))
        uow.tickets.save(ticket)
        uow.commit()
    with uow_factory() as uow:
        again = uow.tickets.get(number)
        assert again.status is Status.CLOSED
        assert again.closed_at == T0 + timedelta(hours=2)
        assert again.status_changed_at == T0 + timedelta(hours=2)
        assert uow.tickets.get(number + 1000) is None


def test_datetimes_come_back_timezone_aware_utc(uow_factory):
    number = add_ticket(uow_factory)
    with uow_factory() as uow:
        ticket = uow.tickets.get(number)
        ticket.move(Move.REQUEST_FEEDBACK, T0 + timedelta(minutes=5))
        ticket.reminded_at = T0 + timedelta(minutes=6)
        uow.tickets.save(ticket)
        uow.commit()
    with uow_factory() as uow:
        ticket = uow.tickets.get(number)
        assert is_utc(ticket.opened_at)
        assert is_utc(ticket.status_changed_at)
        assert is_utc(ticket.reminded_at)
        assert ticket.reminded_at == T0 + timedelta(minutes=6)
        ticket.move(Move.CLOSE, T0 + timedelta(minutes=7))
        uow.tickets.save(ticket)
        uow.commit()
    with uow_factory() as uow:
        assert is_utc(uow.tickets.get(number).closed_at)


def test_for_member_newest_first(uow_factory):
    first = add_ticket(uow_factory, "One", member="M1")
    add_ticket(uow_factory, "Other member", member="M2")
    second = add_ticket(uow_factory, "Two", member="M1")
    with uow_factory() as uow:
        assert [t.number for t in uow.tickets.for_member("M1")] == [second, first]
        assert list(uow.tickets.for_member("M404")) == []


def test_awaiting_feedback_since(uow_factory):
    old, recent, still_open = (add_ticket(uow_factory, name) for name in ("old", "recent", "open"))
    with uow_factory() as uow:
        for number, at in ((old, T0 + timedelta(days=1)), (recent, T0 + timedelta(days=5))):
            ticket = uow.tickets.get(number)
            ticket.move(Move.REQUEST_FEEDBACK, at)
            uow.tickets.save(ticket)
        uow.commit()
    with uow_factory() as uow:
        due = uow.tickets.awaiting_feedback_since(T0 + timedelta(days=3))
        assert [t.number for t in due] == [old]
        both = uow.tickets.awaiting_feedback_since(T0 + timedelta(days=5))
        assert sorted(t.number for t in both) == [old, recent]
        assert still_open not in [t.number for t in both]


def test_add_entry_with_attachments_stores_blobs_by_digest(engine: Engine, uow_factory,
                                                          blobs: BlobStore):
    number = add_ticket(uow_factory)
    data = b"%PDF-1.4 pretend pdf bytes"
    entry = Entry(Author.MEMBER, "ann@example.org", Channel.EMAIL, "See attached",
                  external_id="<m1@mail.example>",
                  attachments=(Attachment("../../etc/passwd", "application/pdf", data),
                               Attachment("copy.pdf", "application/pdf", data)))
    with uow_factory() as uow:
        uow.tickets.add_entry(uow.tickets.get(number), entry, T0)
        uow.commit()
    digest = hashlib.sha256(data).hexdigest()
    path = blobs.path(digest)
    assert path.is_file()
    assert path.read_bytes() == data
    assert blobs.get(digest) == data
    # The file is named by its digest only; the sender's name is metadata.
    files = [p for p in (blobs.root).rglob("*") if p.is_file()]
    assert files == [path]
    assert not (blobs.root / ".." / ".." / "etc" / "passwd").exists()
    with Session(engine) as session:
        rows = session.exec(select(AttachmentRow).order_by(AttachmentRow.id)).all()
    assert [(r.filename, r.digest, r.size) for r in rows] == [
        ("../../etc/passwd", digest, len(data)), ("copy.pdf", digest, len(data))]
    shown = admin.show_ticket(engine, number)
    assert shown["messages"][0]["attachments"][0]["sha256"] == digest


def test_by_message_id_via_inbound_entry_and_outbox(uow_factory):
    first = add_ticket(uow_factory, "first")
    second = add_ticket(uow_factory, "second")
    with uow_factory() as uow:
        uow.tickets.add_entry(uow.tickets.get(first), Entry(
            Author.MEMBER, "ann@example.org", Channel.EMAIL, "hello",
            external_id="<in-1@member.example>"), T0)
        uow.outbox.add(OutboundMessage(
            Channel.EMAIL, "ann@example.org", f"[TI-{second}] second", "ack",
            message_id="<out-2@gateway.example>", ticket_ref=f"TI-{second}"), T0)
        uow.outbox.add(OutboundMessage(
            Channel.EMAIL, "ops@example.org", "no ticket", "x",
            message_id="<no-ticket@gateway.example>"), T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.tickets.by_message_id(["<in-1@member.example>"]).number == first
        assert uow.tickets.by_message_id(["<out-2@gateway.example>"]).number == second
        assert uow.tickets.by_message_id(
            ["<unknown@x>", "", "<out-2@gateway.example>"]).number == second
        assert uow.tickets.by_message_id(["<no-ticket@gateway.example>"]) is None
        assert uow.tickets.by_message_id(["<unknown@x>"]) is None
        assert uow.tickets.by_message_id([]) is None
        assert uow.tickets.by_message_id([""]) is None


# --- counters -----------------------------------------------------------------------------------

def test_counters_hit_within_window_reset_next_window_and_peek(uow_factory):
    hour = timedelta(hours=1)
    with uow_factory() as uow:
        assert uow.counters.peek("ack:ann", hour, T0) == 0
        assert uow.counters.hit("ack:ann", hour, T0) == 1
        assert uow.counters.hit("ack:ann", hour, T0 + timedelta(minutes=59)) == 2
        assert uow.counters.hit("ack:bob", hour, T0) == 1
        assert uow.counters.peek("ack:ann", hour, T0 + timedelta(minutes=30)) == 2
        uow.commit()
    with uow_factory() as uow:
        assert uow.counters.hit("ack:ann", hour, T0 + timedelta(minutes=10)) == 3
        # The next window starts from zero.
        assert uow.counters.peek("ack:ann", hour, T0 + hour) == 0
        assert uow.counters.hit("ack:ann", hour, T0 + hour) == 1
        assert uow.counters.peek("ack:ann", hour, T0 + hour) == 1
        assert uow.counters.peek("ack:ann", hour, T0) == 3
        uow.commit()


# --- transactions -------------------------------------------------------------------------------

def test_everything_rolls_back_without_commit(engine: Engine, uow_factory, blobs: BlobStore):
    kept = add_ticket(uow_factory, "kept")
    with uow_factory() as uow:
        ticket = uow.tickets.add("lost", "en", "M1", Channel.TELEGRAM, T0)
        uow.tickets.add_entry(ticket, Entry(Author.MEMBER, "1", Channel.TELEGRAM, "x",
                                            external_id="tg:1"), T0)
        uow.outbox.add(OutboundMessage(Channel.EMAIL, "a@example.org", "s", "t",
                                       message_id="<lost@x>", ticket_ref=ticket.ref), T0)
        uow.counters.hit("lost", timedelta(hours=1), T0)
        existing = uow.tickets.get(kept)
        existing.move(Move.CLOSE, T0)
        uow.tickets.save(existing)
        lost = ticket.number
        # no commit
    with uow_factory() as uow:
        assert uow.tickets.get(lost) is None
        assert uow.tickets.by_message_id(["tg:1", "<lost@x>"]) is None
        assert uow.counters.peek("lost", timedelta(hours=1), T0) == 0
        assert uow.tickets.get(kept).status is Status.OPEN
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM messages")).scalar() == 0


def test_exception_inside_rolls_back(uow_factory):
    numbers: list[int] = []

    def crash() -> None:
        with uow_factory() as uow:
            numbers.append(uow.tickets.add("boom", "en", "M1", Channel.EMAIL, T0).number)
            raise RuntimeError("handler crashed")

    with pytest.raises(RuntimeError):
        crash()
    with uow_factory() as uow:
        assert uow.tickets.get(numbers[0]) is None


def test_postgres_session_timezone_does_not_leak(database_url: str, blobs: BlobStore):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no session time zone")
    amsterdam = make_engine(database_url + "%20-ctimezone%3DEurope%2FAmsterdam")
    try:
        upgrade(amsterdam)
        with SqlUnitOfWork(amsterdam, blobs) as uow:
            number = uow.tickets.add("tz", "en", "M1", Channel.EMAIL, T0).number
            uow.commit()
        with SqlUnitOfWork(amsterdam, blobs) as uow:
            opened = uow.tickets.get(number).opened_at
        assert opened == T0
        listed = admin.list_tickets(amsterdam)
        assert listed[0]["opened_at"] == "2026-03-02T10:00:00Z"
        assert is_utc(opened)
    finally:
        amsterdam.dispose()
