"""The inbox ledger: every inbound item is a row before anything else happens."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from store.tables import InboxRow

log = logging.getLogger(__name__)


class InboxStatus(StrEnum):
    """An inbox row waits (`received`) until its one outcome; the values are what the DB holds."""

    RECEIVED = "received"
    DONE = "done"
    REFUSED = "refused"
    QUARANTINED = "quarantined"


# Mail whose dedupe key is taken but whose bytes differ (a forged copy, or the same mail by
# another path) is kept under `<key>#2` .. `<key>#COPIES`; the worker decides (F9).
COPIES = 5
DUPLICATE = "duplicate"
CRASHED_THE_WORKER = "crashed the worker"


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
    stored = []
    with Session(engine) as session:
        for item in items:
            stored.append(_store_one(session, item, now))
        session.commit()
    return stored


def copy_keys(dedupe_key: str) -> list[str]:
    """Every key a copy of this mail may be stored under, the first one first."""
    base = dedupe_key.partition("#")[0]
    return [base] + [f"{base}#{number}" for number in range(2, COPIES + 1)]


def _store_one(session: Session, item: Item, now: datetime) -> bool:
    if _insert(session, item, item.dedupe_key, now):
        return True
    if item.channel != "email":
        return False  # a Telegram update_id is the update: no other copy can differ
    keys = copy_keys(item.dedupe_key)
    same = session.exec(select(InboxRow.id).where(col(InboxRow.dedupe_key).in_(keys),
                                                  col(InboxRow.raw) == item.raw)).first()
    if same is not None:
        return False  # the very same bytes again: a retry after a lost 250, an IMAP refetch
    if any(_insert(session, item, key, now) for key in keys[1:]):
        return True
    log.warning("inbox copy dropped: too many copies of one mail",
                extra={"dedupe_key": item.dedupe_key, "copies": COPIES})
    return False


def _insert(session: Session, item: Item, key: str, now: datetime) -> bool:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(InboxRow).values(
        channel=item.channel, dedupe_key=key, raw=item.raw, envelope=item.envelope,
        status=InboxStatus.RECEIVED, reason="", ticket_ref="", attempts=0, error="", received_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(InboxRow.id))
    # rowcount is -1 for this on PostgreSQL; a returned id is what says "inserted".
    return session.execute(statement).first() is not None


@dataclass(frozen=True)
class Claimed:
    id: int
    raw: bytes
    envelope: str
    received_at: datetime
    channel: str = "email"
    dedupe_key: str = ""


@dataclass(frozen=True)
class Batch:
    """What a worker claimed, the first item already marked started; and what it quarantined."""
    items: list[Claimed] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)


def claim(engine: Engine, *, limit: int, lease: timedelta, now: datetime) -> list[int]:
    return [item.id for item in claim_items(engine, limit=limit, lease=lease, now=now)]


def claim_items(engine: Engine, *, limit: int, lease: timedelta, now: datetime) -> list[Claimed]:
    """Lease up to `limit` received rows to this worker (SKIP LOCKED on PostgreSQL).

    The raw bytes come along so the worker parses outside any transaction.
    """
    with Session(engine) as session:
        claimed = [_lease(session, row, now + lease) for row in _claimable(session, limit, now)]
        session.commit()
    return claimed


def claim_batch(engine: Engine, *, limit: int, lease: timedelta, now: datetime,
                max_attempts: int) -> Batch:
    """`claim_items` for the worker: in the same transaction, quarantine the rows that were
    started `max_attempts` times without finishing (they kill or hang the worker), and count
    the first item's attempt before it starts. Each later item's attempt is counted by the
    transaction that finishes the one before it (`mark_started`): never for a row that was
    only claimed, so a poison row does not take the innocent rows of its batch with it.
    """
    batch = Batch()
    with Session(engine) as session:
        # Rows that were in progress when a worker died wait behind fresh ones: in a kill
        # storm the kill that lands just after a restart then hits a fresh row each time,
        # not the same one again and again (which would quarantine an innocent mail).
        for row in _claimable(session, limit, now, suspects_last=True):
            assert row.id is not None
            if row.attempts >= max_attempts:
                _quarantine_crashed(session, row, now)
                batch.quarantined.append(row.id)
            else:
                batch.items.append(_lease(session, row, now + lease))
        if batch.items:
            mark_started(session, batch.items[0].id)
        session.commit()
    return batch


def _claimable(session: Session, limit: int, now: datetime,
               suspects_last: bool = False) -> Sequence[InboxRow]:
    order = (col(InboxRow.attempts), col(InboxRow.id)) if suspects_last else (col(InboxRow.id),)
    return session.exec(
        select(InboxRow).where(
            col(InboxRow.status) == InboxStatus.RECEIVED,
            or_(col(InboxRow.lease_until).is_(None), col(InboxRow.lease_until) < now),
        ).order_by(*order).limit(limit).with_for_update(skip_locked=True)
    ).all()


def _lease(session: Session, row: InboxRow, until: datetime) -> Claimed:
    row.lease_until = until
    session.add(row)
    assert row.id is not None
    return Claimed(row.id, row.raw, row.envelope, row.received_at, row.channel, row.dedupe_key)


def _quarantine_crashed(session: Session, row: InboxRow, now: datetime) -> None:
    if not row.error:
        row.error = (f"Processing started {row.attempts} times and never finished: the worker "
                     "was killed or crashed each time.")
    finish(session, row, status=InboxStatus.QUARANTINED, reason=CRASHED_THE_WORKER, ticket_ref="",
           now=now)


def mark_started(session: Session, row_id: int) -> None:
    """Count an attempt now, in the caller's transaction, before the row is processed."""
    session.execute(update(InboxRow).where(col(InboxRow.id) == row_id,
                                           col(InboxRow.status) == InboxStatus.RECEIVED)
                    .values(attempts=col(InboxRow.attempts) + 1))


def start(engine: Engine, row_id: int) -> None:
    """`mark_started` in a commit of its own: when no finishing transaction could carry it."""
    with Session(engine) as session:
        mark_started(session, row_id)
        session.commit()


def release(engine: Engine, row_ids: Sequence[int], *, refund: int | None = None) -> None:
    """Give claimed rows back (the worker is stopping); `refund` was started but not tried."""
    with Session(engine) as session:
        for row in session.exec(select(InboxRow).where(col(InboxRow.id).in_(row_ids),
                                                       col(InboxRow.status) == InboxStatus.RECEIVED)):
            row.lease_until = None
            if row.id == refund:
                row.attempts = max(0, row.attempts - 1)
            session.add(row)
        session.commit()


def take(session: Session, row_id: int) -> InboxRow | None:
    """The row, locked for this transaction, if it still waits to be processed."""
    row = session.exec(select(InboxRow).where(col(InboxRow.id) == row_id).with_for_update()).first()
    return row if row is not None and row.status == InboxStatus.RECEIVED else None


def lock_copies(session: Session, dedupe_key: str) -> Sequence[InboxRow]:
    """Every stored copy of this mail, locked in id order (two workers never deadlock)."""
    return session.exec(select(InboxRow).where(col(InboxRow.dedupe_key).in_(copy_keys(dedupe_key)))
                        .order_by(col(InboxRow.id)).with_for_update()).all()


def is_duplicate(copies: Sequence[InboxRow], row_id: int, authenticated: bool) -> bool:
    """Another copy was processed already, and this one authenticates no better (F9).

    A forged copy (dmarc=fail) that arrived first and was refused as unauthenticated must not
    make the genuine mail a duplicate; a second genuine copy is one.
    """
    processed = [copy for copy in copies if copy.id != row_id and copy.authenticated is not None]
    if not processed:
        return False
    better = authenticated and all(copy.status == InboxStatus.REFUSED and not copy.authenticated
                                   for copy in processed)
    return not better


def finish(session: Session, row: InboxRow, *, status: InboxStatus, reason: str, ticket_ref: str,
           now: datetime, authenticated: bool | None = None) -> None:
    """`authenticated`: the sender authentication of a copy the core processed, else None."""
    row.status, row.reason, row.ticket_ref = status, reason[:200], ticket_ref
    row.processed_at, row.lease_until = now, None
    row.authenticated = authenticated
    session.add(row)


def record_failure(engine: Engine, row_id: int, error: str, now: datetime, *,
                   max_attempts: int, counted: bool = False,
                   start_next: int | None = None) -> str:
    """Record a crash; after `max_attempts` the row is quarantined with its traceback.

    `counted`: the attempt was counted when it started (the worker does); `start_next`: the
    row to mark started in the same commit.
    """
    with Session(engine) as session:
        if start_next is not None:
            mark_started(session, start_next)
        row = session.get(InboxRow, row_id)
        if row is None or row.status != InboxStatus.RECEIVED:
            session.commit()
            return row.status if row else ""
        if not counted:
            row.attempts += 1
        row.error = error[-20_000:]
        row.lease_until = None
        if row.attempts >= max_attempts:
            finish(session, row, status=InboxStatus.QUARANTINED, reason="crashed", ticket_ref="",
                   now=now)
        session.add(row)
        session.commit()
        return row.status


def release_leases(engine: Engine) -> None:
    """At start: whatever this database's workers held before a crash is free again.

    Safe with several processes too: `take` locks the row and re-checks its status, so a
    row is never processed twice even if two workers claim it.
    """
    with Session(engine) as session:
        for row in session.exec(select(InboxRow).where(
                col(InboxRow.status) == InboxStatus.RECEIVED, col(InboxRow.lease_until).is_not(None))):
            row.lease_until = None
            session.add(row)
        session.commit()


def rows(engine: Engine, status: InboxStatus | None = None, limit: int = 200) -> Sequence[InboxRow]:
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
        query = select(InboxRow).where(col(InboxRow.status) == InboxStatus.QUARANTINED)
        if row_id is not None:
            query = query.where(col(InboxRow.id) == row_id)
        count = 0
        for row in session.exec(query).all():
            row.status, row.attempts, row.lease_until, row.reason = InboxStatus.RECEIVED, 0, None, ""
            session.add(row)
            count += 1
        session.commit()
    return count
