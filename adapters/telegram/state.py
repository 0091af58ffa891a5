"""Reads and writes of the Telegram tables inside the caller's session (one transaction)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.tables_telegram import (
    TelegramConversationRow,
    TelegramCursorRow,
    TelegramSentRow,
)

OFFSET = "offset"


@dataclass
class Conversation:
    """Where a user is in a flow; `data` is JSON-safe (strings, numbers, lists)."""

    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


def load_conversation(session: Session, user_id: int) -> Conversation | None:
    row = session.get(TelegramConversationRow, user_id)
    return Conversation(row.flow, row.step, json.loads(row.data)) if row else None


def save_conversation(session: Session, user_id: int, conversation: Conversation,
                      now: datetime) -> None:
    row = session.get(TelegramConversationRow, user_id) or TelegramConversationRow(
        user_id=user_id, flow="", step="", data="{}", updated_at=now)
    row.flow, row.step = conversation.flow, conversation.step
    row.data, row.updated_at = json.dumps(conversation.data, ensure_ascii=False), now
    session.add(row)


def clear_conversation(session: Session, user_id: int) -> None:
    row = session.get(TelegramConversationRow, user_id)
    if row is not None:
        session.delete(row)


def sent_message(session: Session, chat_id: int, message_id: int) -> TelegramSentRow | None:
    return session.exec(select(TelegramSentRow).where(
        col(TelegramSentRow.chat_id) == chat_id,
        col(TelegramSentRow.telegram_message_id) == message_id)).first()


def record_sent(engine: Engine, chat_id: int, message_ids: list[int], outbox_message_id: str,
                ticket_ref: str | None, now: datetime) -> None:
    with Session(engine) as session:
        for message_id in message_ids:
            if sent_message(session, chat_id, message_id) is None:
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
