"""The live-chat queue's reads on the real tables: the queue in order, idle chats, a chat taken
only when free; and two workers moving the queue at once tell each place once, never wait for
each other, and leave nothing wrong after the next pass (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway import events as ev
from gateway.conversations import Chat, ChatStatus
from gateway.live_chat import tell_positions
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
Factory = Callable[[], SqlUnitOfWork]


@pytest.fixture
def uow_factory(engine: Engine, tmp_path: Path) -> Factory:
    blobs = BlobStore(tmp_path / "blobs")
    return lambda: SqlUnitOfWork(engine, blobs)


@pytest.fixture
def pg_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("two transactions at once need PostgreSQL (SQLite runs one at a time)")
    return engine


def opened(uow_factory: Factory, user_id: int, *, at: datetime = T0, active_at: datetime | None = None,
           status: ChatStatus = ChatStatus.WAITING, told: int = 0) -> Chat:
    with uow_factory() as uow:
        chat = uow.chats.open(Chat(0, user_id, "Ann", "", "ann@example.org", "en", "Help?",
                                   status, "", at, active_at=active_at, told_position=told))
        uow.commit()
    return chat


def change(uow: SqlUnitOfWork, chat: Chat, status: ChatStatus) -> None:
    locked = uow.chats.get(chat.id)
    assert locked is not None
    locked.status = status
    uow.chats.save(locked)


def moved(events: list[ev.Event]) -> list[tuple[int, int]]:
    return [(e.chat.telegram_user_id, e.position) for e in events if isinstance(e, ev.ChatMoved)]


def test_waiting_is_the_queue_in_order_with_what_each_was_told(uow_factory: Factory) -> None:
    first = opened(uow_factory, 1, told=1)
    opened(uow_factory, 2, status=ChatStatus.ACTIVE)
    third = opened(uow_factory, 3, told=3)
    opened(uow_factory, 4, status=ChatStatus.ENDED)
    with uow_factory() as uow:
        assert [(c.id, c.told_position) for c in uow.chats.waiting()] == [
            (first.id, 1), (third.id, 3)]


def test_idle_chats_by_their_last_line_else_their_start(uow_factory: Factory) -> None:
    before = T0 - timedelta(minutes=15)
    started_long_ago = opened(uow_factory, 1, at=T0 - timedelta(hours=1))
    spoke_lately = opened(uow_factory, 2, at=T0 - timedelta(hours=1),
                          active_at=T0 - timedelta(minutes=1))
    spoke_long_ago = opened(uow_factory, 3, at=T0 - timedelta(hours=1),
                            active_at=T0 - timedelta(minutes=20), status=ChatStatus.ACTIVE)
    opened(uow_factory, 4, at=T0 - timedelta(minutes=5))
    opened(uow_factory, 5, at=T0 - timedelta(hours=2), status=ChatStatus.ENDED)
    with uow_factory() as uow:
        assert [c.id for c in uow.chats.idle(before, 50)] == [started_long_ago.id,
                                                              spoke_long_ago.id]
        assert [c.id for c in uow.chats.idle(before, 1)] == [started_long_ago.id]
        stored = uow.chats.get(spoke_lately.id)
        assert stored is not None and stored.active_at == T0 - timedelta(minutes=1)


def test_get_if_free_returns_the_chat_when_nobody_holds_it(uow_factory: Factory) -> None:
    chat = opened(uow_factory, 1)
    with uow_factory() as uow:
        assert uow.chats.get_if_free(chat.id) == chat
        assert uow.chats.get_if_free(999_999) is None


def test_get_if_free_does_not_wait_for_a_chat_another_transaction_holds(
        pg_engine: Engine, uow_factory: Factory) -> None:
    chat = opened(uow_factory, 1)
    with uow_factory() as holder:
        assert holder.chats.get(chat.id) is not None
        with uow_factory() as other:
            assert other.chats.get_if_free(chat.id) is None
    with uow_factory() as uow:
        assert uow.chats.get_if_free(chat.id) is not None


def test_two_workers_taking_chats_at_once_tell_each_place_once_and_the_pass_fixes_the_rest(
        pg_engine: Engine, uow_factory: Factory) -> None:
    first, second, third = (opened(uow_factory, user, told=user) for user in (1, 2, 3))
    with uow_factory() as b:
        change(b, second, ChatStatus.ACTIVE)  # worker B takes the second chat...
        with uow_factory() as a:
            change(a, first, ChatStatus.ACTIVE)  # ...while worker A takes the first
            # Neither sees the other's change; each skips what the other holds, never waits.
            assert moved(tell_positions(a)) == [(3, 2)]
            assert moved(tell_positions(b)) == []
            a.commit()
        b.commit()
    with uow_factory() as uow:  # the scheduler's pass: the third chat is first in line now
        assert moved(tell_positions(uow)) == [(3, 1)]
        uow.commit()
    with uow_factory() as uow:
        assert moved(tell_positions(uow)) == []
        assert [(c.id, c.told_position) for c in uow.chats.waiting()] == [(third.id, 1)]


def test_a_change_told_by_one_transaction_is_not_told_again_by_the_next(uow_factory: Factory) -> None:
    first = opened(uow_factory, 1, told=1)
    opened(uow_factory, 2, told=2)
    with uow_factory() as uow:
        change(uow, first, ChatStatus.ENDED)
        assert moved(tell_positions(uow)) == [(2, 1)]
        uow.commit()
    with uow_factory() as uow:
        assert moved(tell_positions(uow)) == []
