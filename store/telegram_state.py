"""The Telegram channel's own bookkeeping: the getUpdates offset and the messages the bot sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.tables_telegram import TelegramCursorRow, TelegramSentRow

OFFSET = "offset"


def _sent(session: Session, chat_id: int, telegram_message_id: int) -> TelegramSentRow | None:
    return session.exec(select(TelegramSentRow).where(
        col(TelegramSentRow.chat_id) == chat_id,
        col(TelegramSentRow.telegram_message_id) == telegram_message_id)).first()


def sent_ticket_message(session: Session, chat_id: int, telegram_message_id: int) -> str | None:
    """The outbox Message-ID of the bot's message, when that message was about a ticket."""
    row = _sent(session, chat_id, telegram_message_id)
    return row.outbox_message_id if row and row.ticket_ref else None


def record_sent(engine: Engine, chat_id: int, message_ids: list[int], outbox_message_id: str,
                ticket_ref: str | None, now: datetime) -> None:
    with Session(engine) as session:
        for message_id in message_ids:
            if _sent(session, chat_id, message_id) is None:
                session.add(TelegramSentRow(chat_id=chat_id, telegram_message_id=message_id,
                                            outbox_message_id=outbox_message_id,
                                            ticket_ref=ticket_ref, sent_at=now))
        session.commit()


def load_offset(engine: Engine) -> int | None:
    with Session(engine) as session:
        row = session.get(TelegramCursorRow, OFFSET)
        return int(row.value) if row else None


def save_offset(engine: Engine, offset: int) -> None:
    """Only ever forward: a slow poller that lost its lock cannot move it back."""
    with Session(engine) as session:
        row = session.get(TelegramCursorRow, OFFSET) or TelegramCursorRow(name=OFFSET, value=0)
        row.value = max(int(row.value), offset)
        session.add(row)
        session.commit()
