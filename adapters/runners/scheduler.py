"""The scheduler runner: what happens because time passed, each pass in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from adapters.telegram.chat import tend_chats
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

    def tend_chats(self) -> int:
        """Telegram live chats: batches due mailed, idle chats ended, queue places told."""
        return tend_chats(self.engine, self.blobs, self.desk, self.clock.now())
