"""The scheduler runner: what happens because time passed, each pass in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from adapters.telegram.chat import flush_overdue_chats
from gateway.desk import Desk
from gateway.followup import follow_up
from gateway.ports import Clock
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True)
class SchedulerRunner:
    engine: Engine
    blobs: BlobStore
    desk: Desk
    clock: Clock

    def follow_up(self) -> int:
        """Feedback reminders, then auto-close (`gateway/followup.py`)."""
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            changed = follow_up(uow, self.desk, self.clock.now())
            uow.commit()
        return changed

    def flush_chats(self) -> int:
        """Mail the Telegram chat lines whose batch is due when nobody writes to push them out."""
        return flush_overdue_chats(self.engine, self.blobs, self.desk, self.clock.now())
