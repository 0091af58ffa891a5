"""The incoming runner (the worker): inbox rows -> parse under the budget -> the core -> outbox,
one transaction per item."""

from __future__ import annotations

import dataclasses
import json
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine

from adapters.email.normalize import Limits, UnreadableMessage, parse_email
from adapters.email.sender_auth import DnsUnavailable, SenderCheck
from adapters.parse_budget import BudgetClosed, ParseBudget, TooSlow
from adapters.runners import BATCH, LEASE
from gateway.desk import Desk
from gateway.messages import InboundMessage
from gateway.ports import Clock
from gateway.service import handle_inbound
from store import inbox
from store.blobs import BlobStore
from store.inbox import InboxStatus
from store.unit_of_work import SqlUnitOfWork, aware

log = logging.getLogger(__name__)
TOO_SLOW = "too slow to parse"
# Parsing is linear, so a big mail may take its time: the budget grows by itself per 10 MB
# (a 25 MB mail needs about 0.9 s here; a small mail that takes a second is an attack).
BYTES_PER_BUDGET = 10 * 1024 * 1024
TOO_BIG = "too big to parse"
# Parsed once by each new parser process, so the first real message pays no imports.
WARM_UP_MAIL = (b"From: warm-up@example.org\r\nTo: desk@example.org\r\nSubject: warm-up\r\n"
                b"Message-ID: <warm-up@example.org>\r\n"
                b"Authentication-Results: example.org; dmarc=pass\r\n\r\nHello.\r\n")


class ChannelProcessor(Protocol):
    """A channel that processes its own inbox rows (Telegram: `TelegramProcessor`)."""

    def takes(self, item: inbox.Claimed) -> bool: ...
    def process_one(self, item: inbox.Claimed, now: datetime) -> None: ...


@dataclass(frozen=True)
class MailParser:
    """Raw bytes -> InboundMessage: parsing, then sender authentication. Everything done on
    the raw bytes before the transaction, in one picklable job for the parse budget's child."""

    limits: Limits
    desk_address: str
    sender_check: SenderCheck

    def __call__(self, raw: bytes, envelope: str, received_at: datetime) -> InboundMessage:
        """`envelope` is the JSON {"from", "to"} the channel recorded (empty for IMAP)."""
        meta = json.loads(envelope) if envelope else {}
        msg = parse_email(raw, received_at=received_at, limits=self.limits,
                          own_addresses=frozenset({self.desk_address}),
                          envelope_recipients=tuple(meta.get("to", ())))
        if meta.get("from") == "" and msg.automated is None:
            msg = dataclasses.replace(msg, automated="null-sender")  # MAIL FROM:<>
        return self.sender_check.apply(msg, raw)


@dataclass
class IncomingRunner:
    engine: Engine
    blobs: BlobStore
    desk: Desk
    limits: Limits
    sender_check: SenderCheck
    clock: Clock
    max_attempts: int  # starts before an item that never finishes is quarantined
    # The Telegram adapter, when enabled: takes its inbox rows.
    telegram: ChannelProcessor | None = None
    # Parsing in a child process under a CPU budget (runtime); None parses in this process.
    parse_budget: ParseBudget | None = None

    def process_inbox(self) -> int:
        """Process what is waiting; each item in its own transaction. Returns how many.

        Each item's attempt is counted before it starts (by the claim for the first, by the
        transaction finishing the one before for the next), so an item that kills or hangs
        the process is quarantined after `max_attempts` instead of looping forever.
        """
        if self.parse_budget is not None:
            # Before the claim counts an attempt: a kill while the child starts (seconds on a
            # busy machine) must not count against the first item, again after each restart.
            self.parse_budget.warm_up(self._parser(), WARM_UP_MAIL, "", self.clock.now())
            try:
                self.parse_budget.start()
            except BudgetClosed:
                return 0
        batch = inbox.claim_batch(self.engine, limit=BATCH, lease=LEASE, now=self.clock.now(),
                                  max_attempts=self.max_attempts)
        for row_id in batch.quarantined:
            log.error("ALERT inbox item quarantined", extra={"inbox_id": row_id,
                                                             "reason": inbox.CRASHED_THE_WORKER})
        items, started = batch.items, True
        for index, item in enumerate(items):
            following = items[index + 1].id if index + 1 < len(items) else None
            if not started:
                inbox.start(self.engine, item.id)
            try:
                started = self.process_one(item, start_next=following)
            except BudgetClosed:  # stopping: the rest waits for the next start, uncounted
                inbox.release(self.engine, [rest.id for rest in items[index:]], refund=item.id)
                log.info("inbox round stopped", extra={"left": len(items) - index})
                return index
            except DnsUnavailable:  # not the message's fault: it waits, uncounted, for DNS
                inbox.release(self.engine, [rest.id for rest in items[index:]], refund=item.id)
                log.warning("inbox round paused: DNS does not answer",
                            extra={"inbox_id": item.id, "left": len(items) - index})
                return index
            except Exception:  # quarantine after a few tries, never lose the row
                status = inbox.record_failure(self.engine, item.id, traceback.format_exc(),
                                              self.clock.now(), max_attempts=self.max_attempts,
                                              counted=True, start_next=following)
                started = following is not None
                log.exception("inbox item failed", extra={"inbox_id": item.id, "status": status})
        return len(items)

    def process_one(self, item: inbox.Claimed, start_next: int | None = None) -> bool:
        """Process one item; True when its transaction also marked `start_next` started."""
        now = self.clock.now()
        if self.telegram is not None and self.telegram.takes(item):
            self.telegram.process_one(item, now)
            return False
        # Parse before the transaction: on SQLite it holds the only write lock.
        msg, unreadable = self._parse(item, aware(item.received_at) or now)
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            copies = inbox.lock_copies(uow.session, item.dedupe_key) if item.dedupe_key else []
            row = inbox.take(uow.session, item.id)
            if row is None:
                return False  # done meanwhile by another worker
            if start_next is not None:
                inbox.mark_started(uow.session, start_next)
            if msg is None:
                inbox.finish(uow.session, row, status=InboxStatus.QUARANTINED, reason=unreadable,
                             ticket_ref="", now=now)
                uow.commit()
                log.warning("inbox item quarantined", extra={"inbox_id": item.id,
                                                             "reason": unreadable})
                return True
            if inbox.is_duplicate(copies, item.id, msg.authenticated):
                inbox.finish(uow.session, row, status=InboxStatus.REFUSED, reason=inbox.DUPLICATE,
                             ticket_ref="", now=now)
                uow.commit()
                log.info("inbox item refused", extra={"inbox_id": item.id,
                                                      "reason": inbox.DUPLICATE})
                return True
            outcome = handle_inbound(msg, uow, self.desk, now)
            status = InboxStatus.DONE if outcome.accepted else InboxStatus.REFUSED
            reason = outcome.reason if not outcome.rule else f"{outcome.rule}: {outcome.reason}"
            inbox.finish(uow.session, row, status=status, reason=reason,
                         ticket_ref=outcome.ticket_ref, now=now, authenticated=msg.authenticated)
            uow.commit()
        log.info("inbox item %s", status, extra={"inbox_id": item.id, "reason": reason,
                                                 "ticket": outcome.ticket_ref,
                                                 "replies": outcome.sent})
        return True

    def _parse(self, item: inbox.Claimed, received_at: datetime) -> tuple[InboundMessage | None, str]:
        """The message, or None and the reason it is quarantined. A parser crash raises."""
        parser = self._parser()
        try:
            if self.parse_budget is None:
                return parser(item.raw, item.envelope, received_at), ""
            seconds = self.parse_budget.cpu_seconds * (1 + len(item.raw) / BYTES_PER_BUDGET)
            return self.parse_budget.run(parser, item.raw, item.envelope, received_at,
                                         cpu_seconds=seconds), ""
        except UnreadableMessage as error:
            return None, f"unreadable: {error}"
        except TooSlow:
            return None, TOO_SLOW
        except MemoryError:
            return None, TOO_BIG

    def _parser(self) -> MailParser:
        return MailParser(self.limits, self.desk.address, self.sender_check)
