"""The Telegram adapter's tables: polling cursor, conversations, linking, sent-message map, live chat.

Telegram ids exceed 32 bits: user, chat and message ids are BigInteger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.columns import utc


class TelegramCursorRow(SQLModel, table=True):
    """Named positions, e.g. `offset`: the next getUpdates offset, written after the inbox rows."""

    __tablename__ = "telegram_cursors"
    name: str = Field(primary_key=True, max_length=64)
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class TelegramConversationRow(SQLModel, table=True):
    """Where a user is in /new, /link or /chat; kept in the store so restarts keep it."""

    __tablename__ = "telegram_conversations"
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    flow: str = Field(max_length=16)  # new | link | chat
    step: str = Field(max_length=32)
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    updated_at: datetime = Field(sa_column=utc())


class TelegramLinkCodeRow(SQLModel, table=True):
    """A one-time code mailed to a member, bound to the Telegram user who asked for it."""

    __tablename__ = "telegram_link_codes"
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    member_id: str = Field(max_length=64, index=True)  # empty when no code was mailed
    code_hash: str = Field(max_length=64)
    tries: int = 0
    created_at: datetime = Field(sa_column=utc())
    expires_at: datetime = Field(sa_column=utc())
    used_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))


class TelegramLinkTokenRow(SQLModel, table=True):
    """A deep-link token (`/start <token>`): signed, expiring, single use."""

    __tablename__ = "telegram_link_tokens"
    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(unique=True, max_length=32)
    member_id: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=utc())
    used_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))


class TelegramSentRow(SQLModel, table=True):
    """Which outbox message (and ticket or chat) a message the bot sent belongs to."""

    __tablename__ = "telegram_sent"
    __table_args__ = (UniqueConstraint("chat_id", "telegram_message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    telegram_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    outbox_message_id: str = Field(max_length=255)
    ticket_ref: str | None = Field(default=None, max_length=32)
    sent_at: datetime = Field(sa_column=utc())


class TelegramChatRow(SQLModel, table=True):
    """One live-chat session: waiting in the queue, active with an agent, or ended."""

    __tablename__ = "telegram_chats"
    __table_args__ = (Index("ix_telegram_chats_status", "status", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    name: str = Field(max_length=200)
    member_id: str = Field(default="", max_length=64)
    email: str = Field(max_length=320)
    language: str = Field(default="en", max_length=8)
    question: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="waiting", max_length=16)  # waiting | active | ended
    agent_email: str = Field(default="", max_length=320)
    created_at: datetime = Field(sa_column=utc())
    ended_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    mailed_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))  # last agent mail
    active_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))  # last line, either side
    told_position: int = 0  # the queue position the member was last told


class TelegramChatLineRow(SQLModel, table=True):
    """A line the member wrote in a live chat, stored before any agent mail carries it.

    `mailed_at` is empty until a batch mail to the agents carried the line.
    """

    __tablename__ = "telegram_chat_lines"
    __table_args__ = (Index("ix_telegram_chat_lines_pending", "mailed_at", "chat_id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(foreign_key="telegram_chats.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc())
    mailed_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
