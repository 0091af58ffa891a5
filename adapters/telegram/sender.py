"""The outbox's Telegram rows -> the Bot API. 429 waits `retry_after`; 403 falls back to email.

Texts go without a parse mode, so nothing a member or agent wrote can turn into markup or
links; longer texts than Telegram's 4,096 characters are split on line breaks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from adapters.telegram import fallback
from adapters.telegram.state import record_sent
from adapters.telegram.turn import BUTTON, CALLBACK_ANSWER
from gateway.delivery import GiveUp, after_failure
from gateway.desk import Desk
from gateway.errors import DeliveryError
from gateway.messages import OutboundMessage
from store import outbox
from store.blobs import BlobStore
from store.tables import OutboxRow
from store.unit_of_work import SqlUnitOfWork, aware

log = logging.getLogger(__name__)
LIMIT = 4096
LEASE = timedelta(minutes=2)
BATCH = 50
_MARKER = re.compile(r"^##- .* -##$")


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Chunks of at most `limit` characters, cut at a line break (else a space) when possible."""
    chunks, rest = [], text.strip("\n") or " "
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    chunks.append(rest)
    return [chunk for chunk in chunks if chunk] or [" "]


def telegram_text(message: OutboundMessage) -> str:
    """Mail-shaped texts from the core lose the reply marker and gain their subject as a heading."""
    lines = [line for line in message.text.splitlines() if not _MARKER.match(line.strip())]
    body = "\n".join(lines).strip("\n")
    return f"{message.subject}\n\n{body}" if message.subject else body


def _buttons(message: OutboundMessage) -> InlineKeyboardMarkup | None:
    refs = [r[len(BUTTON):] for r in message.references if r.startswith(BUTTON)]
    if not refs:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(ref, callback_data=f"t:{ref}")]
                                 for ref in refs])


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass
class TelegramSender:
    bot: Bot
    engine: Engine
    blobs: BlobStore
    desk: Desk
    max_age: timedelta
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    paused_until: datetime | None = None

    async def deliver_due(self) -> int:
        if self.paused_until is not None and self.clock() < self.paused_until:
            return 0  # Telegram asked us to wait (429): nothing goes out before then
        rows = await asyncio.to_thread(outbox.claim_due, self.engine, limit=BATCH, lease=LEASE,
                                       now=self.clock(), channel="telegram")
        for index, row in enumerate(rows):
            if self.paused_until is not None and self.clock() < self.paused_until:
                await asyncio.to_thread(self._defer_all, rows[index:], "flood wait")
                break
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: OutboxRow) -> None:
        assert row.id is not None
        message = outbox.decode(row.payload)
        try:
            sent = await self._send(message)
        except RetryAfter as error:
            wait = _seconds(error.retry_after)
            self.paused_until = self.clock() + timedelta(seconds=wait)
            await asyncio.to_thread(self._defer_all, [row], f"429 retry after {wait:g} s")
            log.warning("telegram asked to wait %s s", wait)
            return
        except Forbidden as error:  # blocked by the user: permanent; the member gets email
            await asyncio.to_thread(self._fail_to_email, row, message, f"403: {error}")
            return
        except BadRequest as error:  # e.g. chat not found: permanent, never a retry loop
            await asyncio.to_thread(self._fail, row, f"400: {error}")
            return
        except (NetworkError, TelegramError, OSError) as error:
            await asyncio.to_thread(self._retry, row, error)
            return
        chat_id = int(message.recipient)
        await asyncio.to_thread(record_sent, self.engine, chat_id, sent, message.message_id,
                                message.ticket_ref, self.clock())
        await asyncio.to_thread(outbox.mark, self.engine, row.id, status=outbox.SENT,
                                now=self.clock())

    async def _send(self, message: OutboundMessage) -> list[int]:
        if message.kind == CALLBACK_ANSWER:
            await self.bot.answer_callback_query(message.in_reply_to or "")
            return []
        chunks = split_text(telegram_text(message))
        ids = []
        for number, chunk in enumerate(chunks, start=1):
            sent = await self.bot.send_message(
                int(message.recipient), chunk,
                reply_markup=_buttons(message) if number == len(chunks) else None,
                reply_parameters=(ReplyParameters(int(message.in_reply_to),
                                                  allow_sending_without_reply=True)
                                  if message.in_reply_to and message.in_reply_to.isdigit()
                                  else None))
            ids.append(sent.message_id)
        return ids

    def _defer_all(self, rows: list[OutboxRow], reason: str) -> None:
        for row in rows:
            assert row.id is not None
            outbox.mark(self.engine, row.id, status=outbox.PENDING, now=self.clock(),
                        error=reason, next_attempt_at=self.paused_until)

    def _fail(self, row: OutboxRow, reason: str) -> None:
        assert row.id is not None
        outbox.mark(self.engine, row.id, status=outbox.FAILED, now=self.clock(), error=reason)
        log.error("ALERT telegram message failed", extra={"outbox_id": row.id, "reason": reason})

    def _fail_to_email(self, row: OutboxRow, message: OutboundMessage, reason: str) -> None:
        """Mark the row failed and queue its email copy in one commit: both or neither."""
        try:
            emailed = self._commit_fallback(row, message, reason)
        except SQLAlchemyError as error:  # nothing written: the row waits for another try
            self._retry(row, error)
            return
        log.error("ALERT telegram message failed", extra={"outbox_id": row.id, "reason": reason})
        if emailed:
            log.info("telegram blocked: sent by email instead", extra={"kind": message.kind})

    def _commit_fallback(self, row: OutboxRow, message: OutboundMessage, reason: str) -> bool:
        assert row.id is not None
        now = self.clock()
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            outbox.mark_in(uow.session, row.id, status=outbox.FAILED, now=now, error=reason)
            emailed = fallback.queue_email(uow, self.desk, message, now)
            uow.commit()
        return emailed

    def _retry(self, row: OutboxRow, error: Exception) -> None:
        assert row.id is not None
        created = aware(row.created_at) or self.clock()
        decision = after_failure(DeliveryError(str(error), temporary=True),
                                 attempts=row.attempts + 1, created_at=created,
                                 now=self.clock(), max_age=self.max_age)
        if isinstance(decision, GiveUp):
            self._fail(row, decision.reason)
            return
        outbox.mark(self.engine, row.id, status=outbox.PENDING, now=self.clock(),
                    error=str(error), next_attempt_at=decision.at)
        log.warning("telegram message deferred", extra={"outbox_id": row.id, "error": str(error)})
