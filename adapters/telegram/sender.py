"""The Telegram channel's `Sender`: an outbox message -> the Bot API, its errors as `DeliveryError`s.

429 asks every Telegram send to wait `retry_after`; 403 (the user blocked the bot) is permanent,
and what was for a member goes by email instead (`fallback.py`), in the transaction that marks
the row failed. Texts go without a parse mode, so nothing a member or agent wrote can turn into
markup or links; longer texts than Telegram's 4,096 characters are split on line breaks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from adapters.telegram import fallback
from gateway.buttons import keyboard
from gateway.desk import Desk
from gateway.errors import DeliveryError
from gateway.messages import OutboundMessage
from gateway.ports import Clock, UnitOfWork
from gateway.replies import Kind
from store.telegram_state import record_sent

log = logging.getLogger(__name__)
LIMIT = 4096
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
    rows = keyboard(message.references)
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in rows])


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Blocked(DeliveryError):
    """403: the user blocked the bot. Permanent; what was for a member goes by email."""

    def __init__(self, message: str) -> None:
        super().__init__(message, temporary=False)


@dataclass(frozen=True)
class TelegramSender:
    bot: Bot
    engine: Engine
    desk: Desk
    clock: Clock

    async def send(self, message: OutboundMessage, outbox_id: int, created_at: datetime) -> None:
        try:
            sent = await self._send(message)
        except RetryAfter as error:
            wait = _seconds(error.retry_after)
            raise DeliveryError(f"429 retry after {wait:g} s", temporary=True,
                                retry_after=wait) from error
        except Forbidden as error:
            raise Blocked(f"403: {error}") from error
        except BadRequest as error:  # e.g. chat not found: permanent, never a retry loop
            raise DeliveryError(f"400: {error}", temporary=False) from error
        except (NetworkError, TelegramError, OSError) as error:
            raise DeliveryError(str(error), temporary=True) from error
        # Kept so that a reply to one of these messages finds its ticket.
        await asyncio.to_thread(record_sent, self.engine, int(message.recipient), sent,
                                message.message_id, message.ticket_ref, self.clock.now())

    def fall_back(self, uow: UnitOfWork, message: OutboundMessage, error: DeliveryError,
                  now: datetime) -> None:
        if isinstance(error, Blocked) and fallback.queue_email(uow, self.desk, message, now):
            log.info("telegram blocked: sent by email instead", extra={"kind": message.kind})

    async def _send(self, message: OutboundMessage) -> list[int]:
        if message.kind == Kind.TG_CALLBACK_ANSWER:
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
