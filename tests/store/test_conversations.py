"""Forms, live chats, link codes and tokens, and the member and ticket reads the bot needs, on
the real tables (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from gateway.conversations import (
    Chat,
    ChatStatus,
    Flow,
    Form,
    LinkCode,
    LinkToken,
    Step,
)
from gateway.messages import Channel
from gateway.people import Author, Entry
from store import admin
from store.blobs import BlobStore
from store.telegram_state import load_offset, record_sent, save_offset, sent_ticket_message
from store.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BIG = 7_123_456_789  # Telegram ids exceed 32 bits


@pytest.fixture
def uow_factory(engine: Engine, tmp_path: Path):
    blobs = BlobStore(tmp_path / "blobs")
    return lambda: SqlUnitOfWork(engine, blobs)


def chat_for(user_id: int, *, at: datetime = T0, status: ChatStatus = ChatStatus.WAITING,
             mailed_at: datetime | None = None) -> Chat:
    return Chat(0, user_id, "Ann", "M1", "ann@example.org", "en", "Where is my order?", status,
                "", at, mailed_at)


def open_chat(uow_factory, chat: Chat) -> Chat:
    with uow_factory() as uow:
        opened = uow.chats.open(chat)
        uow.commit()
    return opened


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def refuses_a_second_lock(engine: Engine, table: str, column: str, value: object) -> bool:
    """Whether another connection finds the row locked (PostgreSQL; NOWAIT: no waiting)."""
    with engine.connect() as other:
        try:
            other.execute(text(f"SELECT 1 FROM {table} WHERE {column} = :v FOR UPDATE NOWAIT"),
                          {"v": value})
        except OperationalError:
            return True
        finally:
            other.rollback()
    return False


@pytest.fixture
def pg_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are observable from another connection on PostgreSQL only")
    return engine


# --- forms ----------------------------------------------------------------------------------------

def test_a_form_round_trips_is_updated_and_cleared(uow_factory):
    form = Form(Flow.NEW_TICKET, Step.FILES, {"title": "Bestelling kwijt ✓", "files": [
        {"name": "a.png", "digest": "ab" * 32}], "count": 2})
    with uow_factory() as uow:
        uow.forms.save(BIG, form, T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.forms.get(BIG) == form
        assert uow.forms.get(1) is None
        uow.forms.save(BIG, Form(Flow.LINK, Step.CODE), T0)
        uow.commit()
    with uow_factory() as uow:
        assert uow.forms.get(BIG) == Form(Flow.LINK, Step.CODE, {})
        uow.forms.clear(BIG)
        uow.forms.clear(1)  # nothing to clear is no error
        uow.commit()
    with uow_factory() as uow:
        assert uow.forms.get(BIG) is None


def test_a_form_saved_without_commit_is_gone(uow_factory):
    with uow_factory() as uow:
        uow.forms.save(5, Form(Flow.CHAT, Step.NAME), T0)
        assert uow.forms.get(5) == Form(Flow.CHAT, Step.NAME)
    with uow_factory() as uow:
        assert uow.forms.get(5) is None


# --- chats ----------------------------------------------------------------------------------------

def test_open_chats_queue_in_order_and_an_ended_chat_is_not_current(uow_factory):
    first = open_chat(uow_factory, chat_for(BIG))
    second = open_chat(uow_factory, chat_for(2, at=T0 + timedelta(minutes=1)))
    assert first.id != second.id
    assert first.created_at == T0 and is_utc(first.created_at)
    with uow_factory() as uow:
        assert uow.chats.current(BIG) == first
        assert uow.chats.current(3) is None
        assert [uow.chats.position(first), uow.chats.position(second)] == [1, 2]
        first.status, first.ended_at = ChatStatus.ENDED, T0 + timedelta(minutes=5)
        uow.chats.save(first)
        uow.commit()
    with uow_factory() as uow:
        assert uow.chats.current(BIG) is None
        assert uow.chats.position(second) == 1  # the queue moved up
        ended = uow.chats.get(first.id)
        assert ended is not None and ended.status is ChatStatus.ENDED
        assert ended.ended_at == T0 + timedelta(minutes=5) and is_utc(ended.ended_at)
        assert uow.chats.get(999_999) is None


def test_an_active_chat_is_current_and_leaves_the_waiting_queue(uow_factory):
    first = open_chat(uow_factory, chat_for(1))
    second = open_chat(uow_factory, chat_for(2))
    again = open_chat(uow_factory, chat_for(1, at=T0 + timedelta(hours=1)))
    with uow_factory() as uow:
        assert uow.chats.current(1) == again  # the newest chat not ended
        first.status, first.agent_email = ChatStatus.ACTIVE, "eric@agents.example"
        first.mailed_at = T0 + timedelta(minutes=2)
        uow.chats.save(first)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.chats.get(first.id)
        assert stored == first
        assert stored is not None and is_utc(stored.mailed_at)
        assert uow.chats.position(second) == 1


def test_lines_wait_until_mailed(uow_factory):
    chat = open_chat(uow_factory, chat_for(1))
    other = open_chat(uow_factory, chat_for(2))
    with uow_factory() as uow:
        uow.chats.add_line(chat, "first", T0 + timedelta(seconds=1))
        uow.chats.add_line(other, "not this chat's", T0 + timedelta(seconds=2))
        uow.chats.add_line(chat, "second", T0 + timedelta(seconds=3))
        uow.commit()
    with uow_factory() as uow:
        lines = uow.chats.unmailed(chat)
        assert [(line.text, line.at) for line in lines] == [
            ("first", T0 + timedelta(seconds=1)), ("second", T0 + timedelta(seconds=3))]
        assert all(is_utc(line.at) for line in lines)
        uow.chats.mark_mailed(lines, T0 + timedelta(minutes=1))
        uow.commit()
    with uow_factory() as uow:
        assert uow.chats.unmailed(chat) == []
        assert [line.text for line in uow.chats.unmailed(other)] == ["not this chat's"]
        uow.chats.add_line(chat, "third", T0 + timedelta(minutes=2))
        assert [line.text for line in uow.chats.unmailed(chat)] == ["third"]


def test_overdue_takes_chats_with_unmailed_lines_and_an_old_agent_mail(uow_factory):
    window = T0 - timedelta(minutes=1)
    never_mailed = open_chat(uow_factory, chat_for(1))
    mailed_long_ago = open_chat(uow_factory, chat_for(2, mailed_at=T0 - timedelta(minutes=5)))
    mailed_just_now = open_chat(uow_factory, chat_for(3, mailed_at=T0 - timedelta(seconds=10)))
    nothing_waiting = open_chat(uow_factory, chat_for(4, mailed_at=T0 - timedelta(minutes=5)))
    ended = open_chat(uow_factory, chat_for(5, status=ChatStatus.ENDED))
    with uow_factory() as uow:
        for chat in (never_mailed, mailed_long_ago, mailed_just_now, ended):
            uow.chats.add_line(chat, "hello?", T0)
        uow.chats.add_line(nothing_waiting, "mailed already", T0 - timedelta(minutes=6))
        uow.chats.mark_mailed(uow.chats.unmailed(nothing_waiting), T0 - timedelta(minutes=5))
        uow.commit()
    with uow_factory() as uow:
        assert [c.id for c in uow.chats.overdue(window, 50)] == [never_mailed.id,
                                                                 mailed_long_ago.id]
        assert [c.id for c in uow.chats.overdue(window, 1)] == [never_mailed.id]


def test_get_locks_the_chat(pg_engine: Engine, uow_factory):
    chat = open_chat(uow_factory, chat_for(1))
    assert not refuses_a_second_lock(pg_engine, "telegram_chats", "id", chat.id)
    with uow_factory() as uow:
        assert uow.chats.get(chat.id) is not None
        assert refuses_a_second_lock(pg_engine, "telegram_chats", "id", chat.id)


# --- link codes and tokens ------------------------------------------------------------------------

def code_for(user_id: int, member_id: str, expires_at: datetime = T0 + timedelta(minutes=10)
             ) -> LinkCode:
    return LinkCode(0, user_id, member_id, f"hash-{user_id}-{member_id}", 0, expires_at)


def test_pending_codes_newest_first_and_saved_tries_and_use(uow_factory):
    with uow_factory() as uow:
        uow.links.add_code(code_for(BIG, "M1"), T0)
        uow.links.add_code(code_for(BIG, ""), T0 + timedelta(minutes=1))
        uow.links.add_code(code_for(2, "M1"), T0 + timedelta(minutes=2))
        uow.commit()
    with uow_factory() as uow:
        pending = uow.links.codes_pending(BIG)
        assert [code.member_id for code in pending] == ["", "M1"]
        newest = pending[0]
        assert newest.telegram_user_id == BIG and newest.code_hash == f"hash-{BIG}-"
        assert newest.expires_at == T0 + timedelta(minutes=10) and is_utc(newest.expires_at)
        newest.tries = 3
        uow.links.save_code(newest)
        oldest = pending[1]
        oldest.used_at = T0 + timedelta(minutes=3)
        uow.links.save_code(oldest)
        uow.commit()
    with uow_factory() as uow:
        assert [(code.id, code.tries, code.used_at) for code in uow.links.codes_pending(BIG)] == [
            (newest.id, 3, None)]
        assert len(uow.links.codes_pending(2)) == 1


def test_codes_mailed_counts_a_sliding_window_per_member(engine: Engine, uow_factory):
    admin.upsert_member(engine, member_id="M1", name="Ann", email="ann@example.org", rank="Gold")
    with uow_factory() as uow:
        for minutes in (70, 60, 30, 5):
            uow.links.add_code(code_for(1, "M1"), T0 - timedelta(minutes=minutes))
        uow.links.add_code(code_for(1, "M2"), T0)
        uow.links.add_code(code_for(1, ""), T0)
        uow.commit()
    with uow_factory() as uow:
        hour_ago = T0 - timedelta(hours=1)
        assert uow.links.codes_mailed("M1", hour_ago) == 2  # the one at exactly an hour is out
        assert uow.links.codes_mailed("M1", T0 - timedelta(minutes=75)) == 4
        assert uow.links.codes_mailed("M1", T0) == 0
        assert uow.links.codes_mailed("M2", hour_ago) == 1


def test_codes_mailed_locks_the_member(pg_engine: Engine, uow_factory):
    admin.upsert_member(pg_engine, member_id="M1", name="Ann", email="ann@example.org", rank="Gold")
    assert not refuses_a_second_lock(pg_engine, "members", "member_id", "M1")
    with uow_factory() as uow:
        uow.links.codes_mailed("M1", T0)
        assert refuses_a_second_lock(pg_engine, "members", "member_id", "M1")


def test_a_token_round_trips_and_its_use_is_saved(uow_factory):
    token = LinkToken("n" * 16, "M1", T0 + timedelta(hours=24))
    with uow_factory() as uow:
        uow.links.add_token(token)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.links.token("n" * 16)
        assert stored == token and stored is not None and is_utc(stored.expires_at)
        assert uow.links.token("x" * 16) is None
        stored.used_at = T0 + timedelta(hours=1)
        uow.links.save_token(stored)
        uow.commit()
    with uow_factory() as uow:
        used = uow.links.token("n" * 16)
        assert used is not None and used.used_at == T0 + timedelta(hours=1)
        assert used.member_id == "M1"


def test_token_locks_its_row(pg_engine: Engine, uow_factory):
    with uow_factory() as uow:
        uow.links.add_token(LinkToken("t" * 16, "M1", T0))
        uow.commit()
    with uow_factory() as uow:
        assert uow.links.token("t" * 16) is not None
        assert refuses_a_second_lock(pg_engine, "telegram_link_tokens", "nonce", "t" * 16)


# --- members and tickets --------------------------------------------------------------------------

def test_find_a_member_by_address_or_member_id(engine: Engine, uow_factory):
    admin.upsert_member(engine, member_id="M1", name="Kate", email="kate@example.org", rank="Gold")
    admin.upsert_member(engine, member_id="M2", name="Bob", email="bob@example.org", rank="Gold")
    with uow_factory() as uow:
        assert uow.members.find("KATE@Example.ORG").member_id == "M1"
        assert uow.members.find("  M2 ").email == "bob@example.org"
        assert uow.members.find("\u212aate@example.org") is None  # the Kelvin sign is no K
        assert uow.members.find("M3") is None
        assert uow.members.find("bob@example.org ").member_id == "M2"


def test_link_telegram_moves_the_user_from_one_member_to_another(engine: Engine, uow_factory):
    admin.upsert_member(engine, member_id="M1", name="Ann", email="ann@example.org", rank="Gold",
                        telegram_user_id=BIG)
    admin.upsert_member(engine, member_id="M2", name="Bob", email="bob@example.org", rank="Gold")
    with uow_factory() as uow:
        linked = uow.members.link_telegram("M2", BIG)
        assert linked is not None and linked.member_id == "M2" and linked.telegram_user_id == BIG
        uow.commit()
    with uow_factory() as uow:
        assert uow.members.by_telegram(BIG).member_id == "M2"
        assert uow.members.get("M1").telegram_user_id is None
        assert uow.members.link_telegram("M2", BIG).telegram_user_id == BIG  # again: no change
        # An unknown member: nothing to link to, and the user stays linked where they were.
        assert uow.members.link_telegram("M9", BIG) is None
        assert uow.members.by_telegram(BIG).member_id == "M2"


def test_last_entries_skip_internal_notes_oldest_first(uow_factory):
    with uow_factory() as uow:
        ticket = uow.tickets.add("Printer", "en", "M1", Channel.EMAIL, T0)
        other = uow.tickets.add("Other", "en", "M1", Channel.EMAIL, T0)
        texts = [("first", False), ("second", False), ("note", True), ("third", False)]
        for minute, (words, internal) in enumerate(texts):
            kind = Author.AGENT if internal or minute == 1 else Author.MEMBER
            uow.tickets.add_entry(ticket, Entry(kind, "someone", Channel.EMAIL, words,
                                                internal=internal), T0 + timedelta(minutes=minute))
        uow.tickets.add_entry(other, Entry(Author.MEMBER, "m", Channel.TELEGRAM, "elsewhere"),
                              T0 + timedelta(hours=1))
        uow.commit()
    with uow_factory() as uow:
        last = uow.tickets.last_entries(ticket, 2)
        assert [(e.text, e.author_kind, e.at) for e in last] == [
            ("second", Author.AGENT, T0 + timedelta(minutes=1)),
            ("third", Author.MEMBER, T0 + timedelta(minutes=3))]
        assert all(is_utc(e.at) and not e.internal for e in last)
        assert [e.text for e in uow.tickets.last_entries(ticket, 10)] == ["first", "second", "third"]
        assert [e.channel for e in uow.tickets.last_entries(other, 10)] == [Channel.TELEGRAM]


def test_the_unit_of_work_keeps_blobs(uow_factory):
    with uow_factory() as uow:
        digest = uow.blobs.put(b"\x89PNG bytes")
        assert uow.blobs.get(digest) == b"\x89PNG bytes"


# --- the Telegram channel's bookkeeping -----------------------------------------------------------

def test_sent_ticket_message_only_for_messages_about_a_ticket(engine: Engine, uow_factory):
    record_sent(engine, BIG, [11, 12], "<ticket@gw>", "TI-7", T0)
    record_sent(engine, BIG, [13], "<hours@gw>", None, T0)
    record_sent(engine, BIG, [11], "<ticket@gw>", "TI-7", T0)  # a resend records nothing twice
    with uow_factory() as uow:
        assert sent_ticket_message(uow.session, BIG, 11) == "<ticket@gw>"
        assert sent_ticket_message(uow.session, BIG, 12) == "<ticket@gw>"
        assert sent_ticket_message(uow.session, BIG, 13) is None
        assert sent_ticket_message(uow.session, 1, 11) is None  # another chat's message 11


def test_the_offset_only_moves_forward(engine: Engine):
    assert load_offset(engine) is None
    save_offset(engine, BIG)
    save_offset(engine, 5)
    assert load_offset(engine) == BIG
