"""Group commit for the inbox: concurrent sessions share one transaction, each waits for it.

With durable commits (fsync each), one commit per message caps acceptance at the disk's
fsync rate; batching whatever arrived while the previous commit ran keeps `250 only after
commit` and multiplies throughput under load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from gateway.ports import Clock
from store import inbox

log = logging.getLogger(__name__)
MAX_BATCH = 200


class InboxWriter:
    def __init__(self, engine: Engine, clock: Clock,
                 on_stored: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._clock = clock
        self._on_stored = on_stored
        self._pending: list[tuple[inbox.Item, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, item: inbox.Item) -> bool:
        """Returns once the item is committed: True if new, False if it was a duplicate."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        # The commit goes on even if this caller is cancelled (the client hung up).
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                results = await asyncio.to_thread(
                    inbox.store_many, self._engine, [item for item, _ in batch], self._clock.now())
            except Exception as error:  # every waiter gets the failure: their clients get 451
                log.warning("inbox commit failed for %d item(s): %s", len(batch), error)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            self._on_stored()
