"""The IMAP checkpoint table: per mailbox, the UIDVALIDITY and the last UID already stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime
from sqlmodel import Field, SQLModel


class ImapCheckpointRow(SQLModel, table=True):
    __tablename__ = "imap_checkpoints"
    # "user@host:port/folder": one row per fetched mailbox.
    mailbox: str = Field(primary_key=True, max_length=512)
    # UIDs and UIDVALIDITY are unsigned 32-bit: beyond a signed INTEGER on PostgreSQL.
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
