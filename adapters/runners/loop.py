"""One loop for every runner: a round, then a wait for more work, until the stopping event."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Loop:
    """Runs `round` until stopped: again at once while it finds work, else after `interval`
    seconds or as soon as `wake` is set (new work was committed)."""

    name: str
    round: Callable[[], Awaitable[int]]
    interval: float
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self.wake.clear()  # before the round: work committed during it wakes the next one
            try:
                done = await self.round()
            except Exception:  # a broken round must not stop the loop; the rows stay in the ledger
                log.exception("%s round failed", self.name)
                done = 0
            if done:
                continue
            waiters = [asyncio.ensure_future(self.wake.wait()),
                       asyncio.ensure_future(stopping.wait())]
            await asyncio.wait(waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
