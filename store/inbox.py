"""The inbox ledger: every inbound item is a row before anything else happens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.tables import InboxRow

RECEIVED, DONE, REFUSED, QUARANTINED = "received", "done", "refused", "quarantined"
STATUSES = (RECEIVED, DONE, REFUSED, QUARANTINED)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Item:
    channel: str
    dedupe_key: str
    raw: bytes
    envelope: str = ""


def store_raw(engine: Engine, *, channel: str, dedupe_key: str, raw: bytes, envelope: str,
              now: datetime) -> bool:
    """Commit the raw item; False when the same item was stored before (still stored: fine)."""
    return store_many(engine, [Item(channel, dedupe_key, raw, envelope)], now)[0]


def store_many(engine: Engine, items: Sequence[Item], now: datetime) -> list[bool]:
    """Commit several items in one transaction (group commit); per item: newly stored?"""
    insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stored = []
    with Session(engine) as session:
        for item in items:
            statement = insert(InboxRow).values(
                channel=item.channel, dedupe_key=item.dedupe_key, raw=item.raw,
                envelope=item.envelope, status=RECEIVED, reason="", ticket_ref="", attempts=0,
                error="", received_at=now,
            ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(InboxRow.id))
            # rowcount is -1 for this on PostgreSQL; a returned id is what says "inserted".
            stored.append(session.execute(statement).first() is not None)
        session.commit()
    return stored


@dataclass(frozen=True)
class Claimed:
    id: int
    raw: bytes
    envelope: str
    received_at: datetime
    channel: str = "email"


def claim(engine: Engine, *, limit: int, lease: timedelta, now: datetime) -> list[int]:
    return [item.id for item in claim_items(engine, limit=limit, lease=lease, now=now)]


def claim_items(engine: Engine, *, limit: int, lease: timedelta, now: datetime) -> list[Claimed]:
    """Lease up to `limit` received rows to this worker (SKIP LOCKED on PostgreSQL).

    The raw bytes come along so the worker parses outside any transaction.
    """
    with Session(engine) as session:
        rows = session.exec(
            select(InboxRow).where(
                col(InboxRow.status) == RECEIVED,
                or_(col(InboxRow.lease_until).is_(None), col(InboxRow.lease_until) < now),
            ).order_by(col(InboxRow.id)).limit(limit).with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            row.lease_until = now + lease
            session.add(row)
            assert row.id is not None
            claimed.append(Claimed(row.id, row.raw, row.envelope, row.received_at, row.channel))
        session.commit()
    return claimed


def take(session: Session, row_id: int) -> InboxRow | None:
    """The row, locked for this transaction, if it still waits to be processed."""
    row = session.exec(select(InboxRow).where(col(InboxRow.id) == row_id).with_for_update()).first()
    return row if row is not None and row.status == RECEIVED else None


def finish(session: Session, row: InboxRow, *, status: str, reason: str, ticket_ref: str,
           now: datetime) -> None:
    row.status, row.reason, row.ticket_ref = status, reason[:200], ticket_ref
    row.processed_at, row.lease_until = now, None
    session.add(row)


def record_failure(engine: Engine, row_id: int, error: str, now: datetime) -> str:
    """Count a crash; after MAX_ATTEMPTS the row is quarantined with its traceback."""
    with Session(engine) as session:
        row = session.get(InboxRow, row_id)
        if row is None or row.status != RECEIVED:
            return row.status if row else ""
        row.attempts += 1
        row.error = error[-20_000:]
        row.lease_until = None
        if row.attempts >= MAX_ATTEMPTS:
            finish(session, row, status=QUARANTINED, reason="crashed", ticket_ref="", now=now)
        session.add(row)
        session.commit()
        return row.status


def release_leases(engine: Engine) -> None:
    """At start: whatever this database's workers held before a crash is free again.

    Safe with several processes too: `take` locks the row and re-checks its status, so a
    row is never processed twice even if two workers claim it.
    """
    with Session(engine) as session:
        for row in session.exec(select(InboxRow).where(col(InboxRow.status) == RECEIVED,
                                                       col(InboxRow.lease_until).is_not(None))):
            row.lease_until = None
            session.add(row)
        session.commit()


def rows(engine: Engine, status: str | None = None, limit: int = 200) -> Sequence[InboxRow]:
    with Session(engine) as session:
        query = select(InboxRow).order_by(col(InboxRow.id).desc()).limit(limit)
        if status:
            query = query.where(col(InboxRow.status) == status)
        return session.exec(query).all()


def get(engine: Engine, row_id: int) -> InboxRow | None:
    with Session(engine) as session:
        return session.get(InboxRow, row_id)


def replay(engine: Engine, row_id: int | None) -> int:
    """Put a quarantined row (or all of them, when row_id is None) back in the queue."""
    with Session(engine) as session:
        query = select(InboxRow).where(col(InboxRow.status) == QUARANTINED)
        if row_id is not None:
            query = query.where(col(InboxRow.id) == row_id)
        count = 0
        for row in session.exec(query).all():
            row.status, row.attempts, row.lease_until, row.reason = RECEIVED, 0, None, ""
            session.add(row)
            count += 1
        session.commit()
    return count
