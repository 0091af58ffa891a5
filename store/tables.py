"""The database tables (SQLModel). Datetimes are always timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.columns import utc


class MemberRow(SQLModel, table=True):
    __tablename__ = "members"
    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(unique=True, max_length=320)  # stored lower-case
    rank: str = Field(max_length=64)
    language: str = Field(default="en", max_length=8)
    # Telegram ids exceed 32 bits.
    telegram_user_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))


class AgentRow(SQLModel, table=True):
    __tablename__ = "agents"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    name: str = Field(max_length=200)
    languages: str = Field(default="", max_length=200)  # comma-separated ISO 639-1 codes


class TicketRow(SQLModel, table=True):
    __tablename__ = "tickets"
    # AUTOINCREMENT on SQLite (a sequence on PostgreSQL): a reference is never reused.
    __table_args__ = {"sqlite_autoincrement": True}
    number: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    language: str = Field(max_length=8)
    member_id: str = Field(index=True, max_length=64)
    channel: str = Field(max_length=16)
    status: str = Field(index=True, max_length=32)
    opened_at: datetime = Field(sa_column=utc())
    closed_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    status_changed_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    satisfaction_score: int | None = None
    satisfaction_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    satisfaction_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    follows: int | None = None  # the number of the closed ticket this one carries on


class MessageRow(SQLModel, table=True):
    __tablename__ = "messages"
    id: int | None = Field(default=None, primary_key=True)
    ticket_number: int = Field(foreign_key="tickets.number", index=True)
    author_kind: str = Field(max_length=16)
    author: str = Field(max_length=320)
    channel: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    external_id: str = Field(default="", index=True, max_length=998)
    internal: bool = False
    created_at: datetime = Field(sa_column=utc())


class AttachmentRow(SQLModel, table=True):
    __tablename__ = "attachments"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    filename: str = Field(max_length=255)  # sanitized, metadata only: files are named by digest
    content_type: str = Field(max_length=255)
    size: int
    digest: str = Field(max_length=64)


class InboxRow(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_status_lease", "status", "lease_until"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    dedupe_key: str = Field(unique=True, max_length=128)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    envelope: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    status: str = Field(default="received", max_length=16)  # received|done|refused|quarantined
    reason: str = Field(default="", max_length=200)
    ticket_ref: str = Field(default="", max_length=32)
    attempts: int = 0  # times processing started (counted before it starts: a crash counts)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The sender authentication of the copy the core processed (None: not processed by the
    # core). Another copy of the same mail is processed only if it authenticates better (F9).
    authenticated: bool | None = None
    received_at: datetime = Field(sa_column=utc())
    processed_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=utc(nullable=True))


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=320)
    message_id: str = Field(unique=True, max_length=255)
    ticket_ref: str | None = Field(default=None, index=True, max_length=32)
    kind: str = Field(default="", max_length=64)
    auto: bool = True
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the OutboundMessage
    status: str = Field(default="pending", max_length=16)  # pending|sent|failed
    attempts: int = 0
    created_at: datetime = Field(sa_column=utc())
    next_attempt_at: datetime = Field(sa_column=utc())
    lease_until: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc(nullable=True))
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class CounterRow(SQLModel, table=True):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("key", "window_start"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=400)
    window_start: datetime = Field(sa_column=utc(index=True))
    count: int = 0

# IMAP checkpoints (issue 3): per mailbox, UIDVALIDITY and the last UID stored.
from store.tables_imap import ImapCheckpointRow  # noqa: E402, F401

# Telegram adapter tables (issue 4): cursor, conversations, linking, sent-message map, live chat.
from store.tables_telegram import TelegramChatRow  # noqa: E402, F401
