"""The one loop every runner runs in: it survives a broken round, wakes on new work, stops."""

from __future__ import annotations

import asyncio

import pytest

from adapters.runners.loop import Loop

HOUR = 3600.0  # an interval no test waits out


async def test_a_broken_round_is_logged_and_the_next_one_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    wake, stopping = asyncio.Event(), asyncio.Event()
    rounds = 0

    async def round_() -> int:
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            wake.set()  # work committed during the round: the next one starts at once
            raise RuntimeError("boom")
        stopping.set()
        return 0

    await asyncio.wait_for(Loop("inbox", round_, HOUR, wake).run(stopping), 5)
    assert rounds == 2 and "inbox round failed" in caplog.text


async def test_an_idle_loop_runs_again_when_woken_and_ends_when_stopped() -> None:
    wake, stopping = asyncio.Event(), asyncio.Event()
    rounds: asyncio.Queue[None] = asyncio.Queue()

    async def round_() -> int:
        rounds.put_nowait(None)
        return 0

    task = asyncio.create_task(Loop("delivery", round_, HOUR, wake).run(stopping))
    await asyncio.wait_for(rounds.get(), 5)
    wake.set()
    await asyncio.wait_for(rounds.get(), 5)  # woken, not an hour later
    stopping.set()
    await asyncio.wait_for(task, 5)
    assert rounds.empty()


async def test_a_busy_loop_goes_on_without_waiting() -> None:
    stopping = asyncio.Event()
    left = [3, 2, 1, 0]

    async def round_() -> int:
        done = left.pop(0)
        if not left:
            stopping.set()
        return done

    await asyncio.wait_for(Loop("scheduler", round_, HOUR).run(stopping), 5)
    assert left == []
