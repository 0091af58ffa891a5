"""On PostgreSQL one poller polls: it re-checks its advisory lock before every getUpdates round,
stands by when the lock is gone, and polls again once it is free (run as `gateway run` runs it,
by the ingest runner)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine, text
from telegram import Bot

from adapters.runners.ingest import IngestRunner
from adapters.telegram.bot_api import LOCK_KEY, Poller
from store.locks import AdvisoryLock
from tests.telegram.fake_bot_api import BotApiState, running


def _kill_lock_holder(engine: Engine) -> None:
    unsigned = LOCK_KEY & 0xFFFF_FFFF_FFFF_FFFF
    with engine.connect() as connection:
        pid = connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = :high AND objid::bigint = :low"),
            {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}).scalar_one()
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def _rounds_within(state: BotApiState, seconds: float) -> int:
    before = len(state.offsets)
    await asyncio.sleep(seconds)
    return len(state.offsets) - before


async def _take(lock: AdvisoryLock) -> None:
    deadline = time.monotonic() + 5
    while not await asyncio.to_thread(lock.acquire):  # the killed backend may take a moment to go
        assert time.monotonic() < deadline, "the lock was not freed"
        await asyncio.sleep(0.1)


async def test_a_poller_that_lost_its_lock_stands_by_until_it_is_free(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the poller lock is for several processes on PostgreSQL")
    stopping = asyncio.Event()
    with running() as (state, base_url):
        async with Bot(state.token, base_url=base_url) as bot:
            ingest = IngestRunner(poller=Poller(bot, engine, 1, lambda: None))
            await ingest.start(stopping)
            try:
                assert await _rounds_within(state, 2.5) >= 2  # polling while it holds the lock
                _kill_lock_holder(engine)
                other = AdvisoryLock(engine, LOCK_KEY, "another poller")
                await _take(other)
                await asyncio.sleep(1.5)  # the round under way when the lock went may finish
                assert await _rounds_within(state, 3) == 0
                other.release()
                assert await _rounds_within(state, 8) >= 1  # free again: it takes over
            finally:
                stopping.set()
                await asyncio.wait_for(ingest.stop(), 10)
