"""A 403 marks the Telegram row failed and queues its email copy in one transaction: both or neither.

In process, against the local Bot API server: the fallback is made to break after the email copy
and the once-a-day counter were written, and nothing of it may stay behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from telegram import Bot

from adapters.runners import LEASE
from adapters.runners.outgoing import OutgoingRunner
from adapters.telegram.sender import TelegramSender
from gateway.messages import Channel, OutboundMessage
from gateway.outgoing import Outgoing
from store import outbox
from store.blobs import BlobStore
from store.outbox import OutboxStatus
from store.tables import CounterRow, OutboxRow
from store.unit_of_work import SqlUnitOfWork
from tests.support.seeding import ANNA, PIET, seed
from tests.telegram.fake_bot_api import BotApiState, running
from tests.unit.fakes import FakeClock, make_desk

USER = 501
T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
TEXT = "Probeer het nu opnieuw."


@dataclass
class Blocked:
    delivery: OutgoingRunner
    clock: FakeClock
    api: BotApiState
    ref: str

    async def deliver_due(self) -> int:
        return await self.delivery.deliver_due(Channel.TELEGRAM)


@pytest.fixture
def api() -> Iterator[tuple[BotApiState, str]]:
    with running() as (state, base_url):
        state.blocked.add(USER)
        yield state, base_url


@pytest.fixture
async def blocked(engine: Engine, tmp_path: Path,
                  api: tuple[BotApiState, str]) -> AsyncIterator[Blocked]:
    """Anna's ticket and one agent answer queued for her Telegram chat, which blocked the bot."""
    seed(engine, replace(ANNA, telegram_user_id=USER), PIET)
    blobs = BlobStore(tmp_path / "blobs")
    with SqlUnitOfWork(engine, blobs) as uow:
        ticket = uow.tickets.add("Printer offline", "nl", ANNA.member_id, Channel.TELEGRAM, T0)
        uow.outbox.add(OutboundMessage(Channel.TELEGRAM, str(USER), f"[{ticket.ref}] Printer",
                                       TEXT, "tg-1@desk.example", ticket_ref=ticket.ref,
                                       auto=False, kind="agent_answer"), T0)
        uow.commit()
    state, base_url = api
    clock, desk = FakeClock(T0), make_desk()
    async with Bot(state.token, base_url=base_url) as bot:
        sender = TelegramSender(bot, engine, desk, clock)
        delivery = OutgoingRunner(engine, blobs, {Channel.TELEGRAM: sender}, clock,
                                  timedelta(days=5), desk.default_agent_address)
        yield Blocked(delivery, clock, state, ticket.ref)


def telegram_row(engine: Engine) -> OutboxRow:
    with Session(engine) as session:
        return session.exec(select(OutboxRow).where(col(OutboxRow.channel) == "telegram")).one()


def email_rows(engine: Engine) -> list[OutboxRow]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxRow).where(col(OutboxRow.channel) == "email")
                                 .order_by(col(OutboxRow.id))).all())


def blocked_counters(engine: Engine) -> list[CounterRow]:
    with Session(engine) as session:
        return list(session.exec(select(CounterRow).where(
            col(CounterRow.key).startswith("tg-blocked:"))).all())


def break_agent_notice(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Fail the last step of the fallback, once the copy and the counter are in the session."""
    def broken(*args: Any, **kwargs: Any) -> None:
        raise error
    monkeypatch.setattr(Outgoing, "to_agents", broken)


def assert_failed_with_its_copy(engine: Engine, ref: str) -> None:
    row = telegram_row(engine)
    assert row.status == OutboxStatus.FAILED and row.last_error.startswith("403")
    copies = [r for r in email_rows(engine) if r.recipient == ANNA.email]
    notices = [r for r in email_rows(engine) if r.recipient == PIET.email]
    assert len(copies) == 1 and copies[0].ticket_ref == ref
    assert TEXT in outbox.decode(copies[0].payload).text
    assert len(notices) == 1 and len(blocked_counters(engine)) == 1


async def test_a_database_error_in_the_fallback_leaves_the_row_pending_and_nothing_written(
        engine: Engine, blocked: Blocked, monkeypatch: pytest.MonkeyPatch) -> None:
    break_agent_notice(monkeypatch, OperationalError("INSERT", {}, Exception("database is locked")))
    assert await blocked.deliver_due() == 1
    row = telegram_row(engine)
    assert row.status == OutboxStatus.PENDING and row.lease_until is None
    assert "database is locked" in row.last_error
    assert email_rows(engine) == [] and blocked_counters(engine) == []
    monkeypatch.undo()
    assert await blocked.deliver_due() == 0  # not before its next attempt is due
    blocked.clock.current = T0 + timedelta(hours=1)
    assert await blocked.deliver_due() == 1  # a second 403: the fallback, whole this time
    assert_failed_with_its_copy(engine, blocked.ref)
    assert len(blocked.api.sent(chat_id=USER)) == 2


async def test_a_crash_before_the_commit_leaves_the_row_leased_and_retried_once_the_lease_ends(
        engine: Engine, blocked: Blocked, monkeypatch: pytest.MonkeyPatch) -> None:
    break_agent_notice(monkeypatch, RuntimeError("killed"))
    with pytest.raises(RuntimeError, match="killed"):
        await blocked.deliver_due()
    row = telegram_row(engine)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0 and row.lease_until is not None
    assert email_rows(engine) == [] and blocked_counters(engine) == []
    monkeypatch.undo()
    blocked.clock.current = T0 + LEASE - timedelta(seconds=1)
    assert await blocked.deliver_due() == 0  # still leased to the process that died
    blocked.clock.current = T0 + LEASE + timedelta(seconds=1)
    assert await blocked.deliver_due() == 1
    assert_failed_with_its_copy(engine, blocked.ref)

