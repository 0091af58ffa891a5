"""The outbox ledger: claim due rows with a lease, record each attempt's outcome."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from gateway.messages import AttachmentRef, Channel, OutboundMessage
from store.tables import AgentRow, MemberRow, OutboxRow


class OutboxStatus(StrEnum):
    """An outbox row is `pending` until it is sent or given up; the values are what the DB holds."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def decode(payload: str) -> OutboundMessage:
    data = json.loads(payload)
    data["channel"] = Channel(data["channel"])
    data["references"] = tuple(data["references"])
    data["attachments"] = tuple(AttachmentRef(**item) for item in data["attachments"])
    return OutboundMessage(**data)


def claim_due(engine: Engine, *, limit: int, lease: timedelta, now: datetime,
              channel: str | None = None) -> list[OutboxRow]:
    with Session(engine, expire_on_commit=False) as session:
        query = select(OutboxRow).where(
            col(OutboxRow.status) == OutboxStatus.PENDING,
            col(OutboxRow.next_attempt_at) <= now,
            or_(col(OutboxRow.lease_until).is_(None), col(OutboxRow.lease_until) < now),
        )
        if channel:
            query = query.where(col(OutboxRow.channel) == channel)
        due = session.exec(query.order_by(col(OutboxRow.id)).limit(limit)
                           .with_for_update(skip_locked=True)).all()
        for row in due:
            row.lease_until = now + lease
            session.add(row)
        session.commit()
        return list(due)


def mark(engine: Engine, row_id: int, *, status: OutboxStatus, now: datetime, error: str = "",
         next_attempt_at: datetime | None = None) -> None:
    with Session(engine) as session:
        mark_in(session, row_id, status=status, now=now, error=error, next_attempt_at=next_attempt_at)
        session.commit()


def mark_in(session: Session, row_id: int, *, status: OutboxStatus, now: datetime, error: str = "",
            next_attempt_at: datetime | None = None) -> None:
    """`mark` inside the caller's transaction, for an outcome that commits with other writes."""
    row = session.get(OutboxRow, row_id)
    if row is None:
        return
    row.attempts += 1
    row.status = status
    row.lease_until = None
    row.last_error = error[:2000]
    if status == OutboxStatus.SENT:
        row.sent_at = now
    if next_attempt_at is not None:
        row.next_attempt_at = next_attempt_at
    session.add(row)


def is_known_recipient(engine: Engine, channel: Channel, recipient: str,
                       default_agent_address: str) -> bool:
    """A member's or an agent's address, or a linked member's Telegram chat: a failure there is
    the operator's problem (a stranger can make messages to themselves fail at will)."""
    with Session(engine) as session:
        if channel is Channel.TELEGRAM:
            return recipient.isdigit() and session.exec(select(MemberRow.id).where(
                col(MemberRow.telegram_user_id) == int(recipient))).first() is not None
        address = recipient.lower()
        if address == default_agent_address.lower():
            return True
        member = session.exec(select(MemberRow.id).where(col(MemberRow.email) == address)).first()
        agent = session.exec(select(AgentRow.id).where(col(AgentRow.email) == address)).first()
        return member is not None or agent is not None


def rows(engine: Engine, status: OutboxStatus | None = None, limit: int = 200) -> Sequence[OutboxRow]:
    with Session(engine) as session:
        query = select(OutboxRow).order_by(col(OutboxRow.id).desc()).limit(limit)
        if status:
            query = query.where(col(OutboxRow.status) == status)
        return session.exec(query).all()


def release_leases(engine: Engine) -> None:
    """At start on SQLite (one process by design): claims of a killed process are free again.

    Not on PostgreSQL, where another live process may hold them: there they expire.
    """
    with Session(engine) as session:
        for row in session.exec(select(OutboxRow).where(
                col(OutboxRow.status) == OutboxStatus.PENDING, col(OutboxRow.lease_until).is_not(None))):
            row.lease_until = None
            session.add(row)
        session.commit()
