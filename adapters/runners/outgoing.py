"""The outgoing runner: one delivery path for every channel. It claims a channel's due outbox
rows and hands each to that channel's `Sender`; what a send raises (`DeliveryError`) decides
the row: sent, retried with backoff (`gateway/delivery.py`), or failed for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters.runners import BATCH, LEASE
from gateway.delivery import GiveUp, after_failure, backoff
from gateway.errors import DeliveryError
from gateway.messages import Channel, OutboundMessage
from gateway.ports import Clock, Sender
from store import outbox
from store.blobs import BlobStore
from store.outbox import OutboxStatus
from store.tables import OutboxRow
from store.unit_of_work import SqlUnitOfWork, aware

log = logging.getLogger(__name__)


@dataclass
class OutgoingRunner:
    engine: Engine
    blobs: BlobStore
    senders: Mapping[Channel, Sender]
    clock: Clock
    max_age: timedelta
    default_agent_address: str
    # A channel that asked us to wait (Telegram's 429) sends nothing before then.
    paused_until: dict[Channel, datetime] = field(default_factory=dict)

    async def deliver_due(self, channel: Channel) -> int:
        """One round for `channel`: its due rows, each sent or its failure recorded."""
        if self._paused(channel):
            return 0
        rows = await asyncio.to_thread(outbox.claim_due, self.engine, limit=BATCH, lease=LEASE,
                                       now=self.clock.now(), channel=channel.value)
        for index, row in enumerate(rows):
            if self._paused(channel):
                await asyncio.to_thread(self._defer, rows[index:], "waiting: the channel paused",
                                        self.paused_until[channel])
                break
            await self._deliver(self.senders[channel], row)
        return len(rows)

    def _paused(self, channel: Channel) -> bool:
        until = self.paused_until.get(channel)
        return until is not None and self.clock.now() < until

    async def _deliver(self, sender: Sender, row: OutboxRow) -> None:
        assert row.id is not None
        message = outbox.decode(row.payload)
        created = aware(row.created_at) or self.clock.now()
        try:
            await sender.send(message, row.id, created)
        except DeliveryError as error:
            await asyncio.to_thread(self._failed, sender, row, message, error)
            return
        await asyncio.to_thread(outbox.mark, self.engine, row.id, status=OutboxStatus.SENT,
                                now=self.clock.now())
        log.info("outbound message sent", extra={"outbox_id": row.id, "kind": message.kind})

    def _failed(self, sender: Sender, row: OutboxRow, message: OutboundMessage,
                error: DeliveryError) -> None:
        now = self.clock.now()
        if error.retry_after is not None:  # the whole channel waits, this row with it
            until = now + timedelta(seconds=error.retry_after)
            self.paused_until[message.channel] = until
            self._defer([row], str(error), until)
            log.warning("%s asked to wait %g s", message.channel, error.retry_after)
            return
        decision = after_failure(error, attempts=row.attempts + 1,
                                 created_at=aware(row.created_at) or now, now=now,
                                 max_age=self.max_age)
        if not isinstance(decision, GiveUp):
            self._defer([row], str(error), decision.at)
            log.warning("outbound message deferred", extra={"outbox_id": row.id,
                                                             "error": str(error)})
            return
        try:
            self._give_up(sender, row, message, error, decision.reason)
        except SQLAlchemyError as db_error:  # nothing written: the row waits for another try
            self._defer([row], str(db_error), now + backoff(row.attempts + 1))
            log.warning("outbound message deferred", extra={"outbox_id": row.id,
                                                             "error": str(db_error)})
            return
        # A stranger can make messages to themselves fail for good at will (a non-ASCII
        # address, a refused recipient, a blocked bot): only the operator's real problems ALERT.
        fields = {"outbox_id": row.id, "reason": decision.reason}
        if error.temporary or outbox.is_known_recipient(self.engine, message.channel,
                                                        message.recipient,
                                                        self.default_agent_address):
            log.error("ALERT outbound message failed", extra=fields)
        else:
            log.warning("outbound message to a non-member failed for good", extra=fields)

    def _give_up(self, sender: Sender, row: OutboxRow, message: OutboundMessage,
                 error: DeliveryError, reason: str) -> None:
        """The row failed and whatever goes another way instead, in one commit: both or neither."""
        assert row.id is not None
        now = self.clock.now()
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            outbox.mark_in(uow.session, row.id, status=OutboxStatus.FAILED, now=now, error=reason)
            sender.fall_back(uow, message, error, now)
            uow.commit()

    def _defer(self, rows: list[OutboxRow], reason: str, until: datetime) -> None:
        for row in rows:
            assert row.id is not None
            outbox.mark(self.engine, row.id, status=OutboxStatus.PENDING, now=self.clock.now(),
                        error=reason, next_attempt_at=until)
