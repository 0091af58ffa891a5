"""The loops that move work between the ledgers: inbox -> core -> outbox -> relay."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from adapters.email.compose import compose
from adapters.email.normalize import Limits, UnreadableMessage, parse_email
from adapters.email.sender_auth import SenderCheck
from gateway.delivery import GiveUp, after_failure
from gateway.desk import Desk
from gateway.errors import DeliveryError
from gateway.followup import follow_up
from gateway.handlers import Outcome
from gateway.messages import InboundMessage
from gateway.service import handle_inbound
from store import inbox, outbox
from store.blobs import BlobStore
from store.tables import OutboxRow
from store.unit_of_work import SqlUnitOfWork, aware

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
BATCH = 50


class ChannelProcessor(Protocol):
    def takes(self, item: inbox.Claimed) -> bool: ...
    def process_one(self, item: inbox.Claimed, now: datetime) -> None: ...
    def agent_email(self, msg: InboundMessage, uow: SqlUnitOfWork,
                    now: datetime) -> Outcome | None: ...


class MailSender(Protocol):
    async def send(self, *, sender: str, recipient: str, message: bytes) -> None: ...
    async def check(self) -> None: ...
    async def close(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Worker:
    engine: Engine
    blobs: BlobStore
    desk: Desk
    limits: Limits
    sender_check: SenderCheck
    mail: MailSender
    from_name: str
    max_age: timedelta
    clock: Callable[[], datetime] = utc_now
    # The Telegram adapter, when enabled: takes its inbox rows, and agents' answers to chats.
    telegram: ChannelProcessor | None = None

    # ---- inbox ---------------------------------------------------------------

    def process_inbox(self) -> int:
        """Process what is waiting; each item in its own transaction. Returns how many."""
        items = inbox.claim_items(self.engine, limit=BATCH, lease=LEASE, now=self.clock())
        for item in items:
            try:
                self.process_one(item)
            except Exception:  # quarantine after a few tries, never lose the row
                status = inbox.record_failure(self.engine, item.id, traceback.format_exc(),
                                              self.clock())
                log.exception("inbox item failed", extra={"inbox_id": item.id, "status": status})
        return len(items)

    def process_one(self, item: inbox.Claimed) -> None:
        now = self.clock()
        if self.telegram is not None and self.telegram.takes(item):
            self.telegram.process_one(item, now)
            return
        # Parse before the transaction: on SQLite it holds the only write lock.
        try:
            msg: InboundMessage | None = self._normalize(item.raw, item.envelope,
                                                         aware(item.received_at) or now)
            unreadable = ""
        except UnreadableMessage as error:
            msg, unreadable = None, f"unreadable: {error}"
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            row = inbox.take(uow.session, item.id)
            if row is None:
                return  # done meanwhile by another worker
            if msg is None:
                inbox.finish(uow.session, row, status=inbox.QUARANTINED, reason=unreadable,
                             ticket_ref="", now=now)
                uow.commit()
                log.warning("inbox item quarantined", extra={"inbox_id": item.id})
                return
            outcome = ((self.telegram.agent_email(msg, uow, now) if self.telegram else None)
                       or handle_inbound(msg, uow, self.desk, now))
            status = inbox.DONE if outcome.accepted else inbox.REFUSED
            reason = outcome.reason if not outcome.rule else f"{outcome.rule}: {outcome.reason}"
            inbox.finish(uow.session, row, status=status, reason=reason,
                         ticket_ref=outcome.ticket_ref, now=now)
            uow.commit()
        log.info("inbox item %s", status, extra={"inbox_id": item.id, "reason": reason,
                                                 "ticket": outcome.ticket_ref,
                                                 "replies": outcome.sent})

    def _normalize(self, raw: bytes, envelope: str, received_at: datetime) -> InboundMessage:
        """`envelope` is the JSON {"from", "to"} the channel recorded (empty for IMAP)."""
        meta = json.loads(envelope) if envelope else {}
        msg = parse_email(raw, received_at=received_at, limits=self.limits,
                          own_addresses=frozenset({self.desk.address}),
                          envelope_recipients=tuple(meta.get("to", ())))
        if meta.get("from") == "" and msg.automated is None:
            msg = dataclasses.replace(msg, automated="null-sender")  # MAIL FROM:<>
        return self.sender_check.apply(msg, raw)

    # ---- outbox --------------------------------------------------------------

    async def deliver_due(self) -> int:
        rows = await asyncio.to_thread(outbox.claim_due, self.engine, limit=BATCH, lease=LEASE,
                                       now=self.clock(), channel="email")
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: OutboxRow) -> None:
        assert row.id is not None
        message = outbox.decode(row.payload)
        created = aware(row.created_at) or self.clock()
        try:
            raw = compose(message, from_address=self.desk.address, from_name=self.from_name,
                          load_blob=self.blobs.get, now=created)
            await self.mail.send(sender=self.desk.address, recipient=message.recipient,
                                 message=raw)
        except (DeliveryError, ValueError, OSError) as error:
            failure = error if isinstance(error, DeliveryError) else DeliveryError(
                str(error), temporary=isinstance(error, OSError))
            decision = after_failure(failure, attempts=row.attempts + 1, created_at=created,
                                     now=self.clock(), max_age=self.max_age)
            if isinstance(decision, GiveUp):
                await asyncio.to_thread(outbox.mark, self.engine, row.id, status=outbox.FAILED,
                                        now=self.clock(), error=decision.reason)
                log.error("ALERT outbound message failed", extra={"outbox_id": row.id,
                                                                  "reason": decision.reason})
            else:
                await asyncio.to_thread(outbox.mark, self.engine, row.id, status=outbox.PENDING,
                                        now=self.clock(), error=str(failure),
                                        next_attempt_at=decision.at)
                log.warning("outbound message deferred", extra={"outbox_id": row.id,
                                                                 "error": str(failure)})
            return
        await asyncio.to_thread(outbox.mark, self.engine, row.id, status=outbox.SENT,
                                now=self.clock())
        log.info("outbound message sent", extra={"outbox_id": row.id, "kind": message.kind})

    # ---- scheduler -------------------------------------------------------------

    def follow_up(self) -> int:
        now = self.clock()
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            changed = follow_up(uow, self.desk, now)
            uow.commit()
        return changed
