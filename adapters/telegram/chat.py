"""The scheduler's pass over live chats, in a transaction of its own."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from gateway import live_chat
from gateway.desk import Desk
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


def tend_chats(engine: Engine, blobs: BlobStore, desk: Desk, now: datetime) -> int:
    """Mail the chat lines whose batch is due when nobody writes to push them out, end idle
    chats and tell waiting members their new place in the queue (`gateway.live_chat.tend`)."""
    with SqlUnitOfWork(engine, blobs) as uow:
        count = live_chat.tend(uow, desk, now)
        uow.commit()
    if count:
        log.info("telegram chats tended", extra={"events": count})
    return count
