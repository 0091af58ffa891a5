"""The inbox ledger: durable store, dedupe, leases, failures and quarantine (RELIABILITY 2-4)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store import inbox
from store.inbox import InboxStatus
from store.tables import InboxRow
from store.unit_of_work import aware

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def put(engine: Engine, key: str, raw: bytes = b"Subject: hi\r\n\r\nbody\r\n") -> bool:
    return inbox.store_raw(engine, channel="email", dedupe_key=key, raw=raw,
                           envelope='{"from": "a@example.org"}', now=T0)


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(InboxRow)).one()


def test_store_raw_dedupes_on_key(engine: Engine):
    put(engine, "k1", b"first")
    put(engine, "k1", b"first")  # the retry after a lost 250: the same bytes
    assert count(engine) == 1
    [row] = inbox.rows(engine)
    assert row.raw == b"first"
    assert row.status == InboxStatus.RECEIVED
    assert row.channel == "email"
    assert row.envelope == '{"from": "a@example.org"}'
    assert aware(row.received_at) == T0
    put(engine, "k2")
    assert count(engine) == 2


def test_store_many_dedupes_within_and_across_batches(engine: Engine):
    put(engine, "old", b"old")
    items = [inbox.Item("email", key, key.encode(), "{}") for key in ("a", "old", "a", "b")]
    inbox.store_many(engine, items, T0)
    assert sorted(row.dedupe_key for row in inbox.rows(engine)) == ["a", "b", "old"]
    [a] = [row for row in inbox.rows(engine) if row.dedupe_key == "a"]
    assert a.raw == b"a"


def test_store_raw_and_store_many_say_whether_the_row_is_new(engine: Engine):
    assert put(engine, "k1", b"x") is True
    assert put(engine, "k1", b"x") is False
    items = [inbox.Item("email", key, b"x") for key in ("k1", "k2", "k2", "k3")]
    assert inbox.store_many(engine, items, T0) == [False, True, False, True]
    assert count(engine) == 3


def test_claim_leases_rows_until_the_lease_expires(engine: Engine):
    for key in ("a", "b", "c"):
        put(engine, key)
    first = inbox.claim(engine, limit=2, lease=LEASE, now=T0)
    assert len(first) == 2
    rest = inbox.claim(engine, limit=10, lease=LEASE, now=T0 + timedelta(seconds=1))
    assert len(rest) == 1
    assert set(first).isdisjoint(rest)
    assert inbox.claim(engine, limit=10, lease=LEASE, now=T0 + timedelta(minutes=4)) == []
    # The worker died: after the lease they are claimable again.
    again = inbox.claim(engine, limit=10, lease=LEASE, now=T0 + LEASE + timedelta(seconds=2))
    assert sorted(again) == sorted(first + rest)


def test_take_returns_none_once_done(engine: Engine):
    put(engine, "k")
    [row_id] = inbox.claim(engine, limit=5, lease=LEASE, now=T0)
    with Session(engine) as session:
        row = inbox.take(session, row_id)
        assert row is not None
        inbox.finish(session, row, status=InboxStatus.DONE, reason="ticket opened", ticket_ref="TI-1",
                     now=T0)
        session.commit()
    with Session(engine) as session:
        assert inbox.take(session, row_id) is None
        assert inbox.take(session, row_id + 999) is None
    row = inbox.get(engine, row_id)
    assert (row.status, row.reason, row.ticket_ref, row.lease_until) == (
        InboxStatus.DONE, "ticket opened", "TI-1", None)
    assert aware(row.processed_at) == T0
    # Done rows are not claimed again.
    assert inbox.claim(engine, limit=5, lease=LEASE, now=T0 + timedelta(days=1)) == []


def fail(engine: Engine, row_id: int, error: str) -> str:
    return inbox.record_failure(engine, row_id, error, T0, max_attempts=3)


def test_record_failure_quarantines_after_three_and_replay(engine: Engine):
    put(engine, "k")
    [row_id] = inbox.claim(engine, limit=1, lease=LEASE, now=T0)
    assert fail(engine, row_id, "Traceback: first") == InboxStatus.RECEIVED
    row = inbox.get(engine, row_id)
    assert (row.attempts, row.lease_until) == (1, None)
    # Its lease was released: claimable at once.
    assert inbox.claim(engine, limit=1, lease=LEASE, now=T0) == [row_id]
    assert fail(engine, row_id, "Traceback: second") == InboxStatus.RECEIVED
    assert fail(engine, row_id, "Traceback: KeyError 'x'") == InboxStatus.QUARANTINED
    row = inbox.get(engine, row_id)
    assert row.status == InboxStatus.QUARANTINED
    assert row.attempts == 3
    assert row.error == "Traceback: KeyError 'x'"
    assert row.reason == "crashed"
    assert [r.id for r in inbox.rows(engine, InboxStatus.QUARANTINED)] == [row_id]
    assert inbox.claim(engine, limit=5, lease=LEASE, now=T0 + timedelta(days=1)) == []
    # A further failure report does not change a quarantined row.
    assert fail(engine, row_id, "late") == InboxStatus.QUARANTINED
    assert fail(engine, 999_999, "gone") == ""

    assert inbox.replay(engine, row_id) == 1
    row = inbox.get(engine, row_id)
    assert (row.status, row.attempts, row.lease_until) == (InboxStatus.RECEIVED, 0, None)
    assert inbox.claim(engine, limit=5, lease=LEASE, now=T0) == [row_id]
    assert inbox.replay(engine, row_id) == 0  # not quarantined any more


def test_replay_all(engine: Engine):
    ids = []
    for key in ("a", "b", "c"):
        put(engine, key)
    for row_id in inbox.claim(engine, limit=5, lease=LEASE, now=T0):
        ids.append(row_id)
    for row_id in ids[:2]:
        for attempt in range(3):
            inbox.record_failure(engine, row_id, f"boom {attempt}", T0, max_attempts=3)
    assert len(inbox.rows(engine, InboxStatus.QUARANTINED)) == 2
    assert inbox.replay(engine, None) == 2
    assert inbox.rows(engine, InboxStatus.QUARANTINED) == []
    assert inbox.replay(engine, None) == 0


def test_release_leases(engine: Engine):
    for key in ("a", "b"):
        put(engine, key)
    claimed = inbox.claim(engine, limit=5, lease=LEASE, now=T0)
    assert len(claimed) == 2
    assert inbox.claim(engine, limit=5, lease=LEASE, now=T0) == []
    inbox.release_leases(engine)
    assert sorted(inbox.claim(engine, limit=5, lease=LEASE, now=T0)) == sorted(claimed)


def test_rows_newest_first_and_filtered(engine: Engine):
    for key in ("a", "b", "c"):
        put(engine, key)
    ids = [row.id for row in inbox.rows(engine)]
    assert ids == sorted(ids, reverse=True)
    assert inbox.rows(engine, InboxStatus.DONE) == []
    assert len(inbox.rows(engine, limit=2)) == 2


def test_concurrent_claims_never_share_a_row(engine: Engine):
    """Four workers claim at once: FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite."""
    total = 60
    with Session(engine) as session:
        for n in range(total):
            session.add(InboxRow(channel="email", dedupe_key=f"k{n}", raw=b"x", received_at=T0))
        session.commit()
    start = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(slot: int) -> None:
        try:
            start.wait()
            while True:
                ids = inbox.claim(engine, limit=3, lease=LEASE, now=T0)
                if not ids:
                    return
                claimed[slot].extend(ids)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    every = [row_id for ids in claimed for row_id in ids]
    assert len(every) == len(set(every)) == total
    with Session(engine) as session:
        unleased = session.exec(select(func.count()).select_from(InboxRow).where(
            col(InboxRow.lease_until).is_(None))).one()
    assert unleased == 0


def test_a_different_copy_under_a_taken_key_is_kept_under_a_derived_key_up_to_a_bound(
        engine: Engine):
    """F9: a forged copy stored first must not make the genuine mail vanish as a duplicate."""
    assert put(engine, "mid:k", b"forged copy")
    assert put(engine, "mid:k", b"genuine copy")
    assert not put(engine, "mid:k", b"genuine copy")  # the same bytes again: a retry
    assert [put(engine, "mid:k", f"copy {n}".encode()) for n in range(4)] == [
        True, True, True, False]
    keys = sorted(row.dedupe_key for row in inbox.rows(engine))
    assert keys == ["mid:k", "mid:k#2", "mid:k#3", "mid:k#4", "mid:k#5"]
    # A Telegram update id is the update itself: never a second copy.
    assert inbox.store_raw(engine, channel="telegram", dedupe_key="tg:1", raw=b"{}", envelope="",
                           now=T0)
    assert not inbox.store_raw(engine, channel="telegram", dedupe_key="tg:1", raw=b"{ }",
                               envelope="", now=T0)
    assert count(engine) == 6


def test_claim_batch_counts_only_the_first_attempt_and_quarantines_what_crashed_the_worker(
        engine: Engine):
    for key in ("a", "b", "c"):
        put(engine, key)
    batch = inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0, max_attempts=3)
    assert [item.dedupe_key for item in batch.items] == ["a", "b", "c"]
    assert {row.dedupe_key: row.attempts for row in inbox.rows(engine)} == {"a": 1, "b": 0, "c": 0}
    # The worker was killed while processing "a": after the restart "a" waits behind fresh rows.
    inbox.release_leases(engine)
    batch = inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0, max_attempts=3)
    assert [item.dedupe_key for item in batch.items] == ["b", "c", "a"]
    # Killed again on "b" (now the first); then "c" and "b" are finished by another worker.
    with Session(engine) as session:
        for row in session.exec(select(InboxRow).where(col(InboxRow.dedupe_key).in_(["b", "c"]))):
            inbox.finish(session, row, status=InboxStatus.DONE, reason="ok", ticket_ref="", now=T0)
        session.commit()
    for attempt in (2, 3):  # "a" alone kills the worker twice more
        inbox.release_leases(engine)
        batch = inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0, max_attempts=3)
        assert [item.dedupe_key for item in batch.items] == ["a"] and batch.quarantined == []
        assert inbox.rows(engine)[-1].attempts == attempt
    inbox.release_leases(engine)
    put(engine, "d")
    batch = inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0, max_attempts=3)
    [a] = inbox.rows(engine, InboxStatus.QUARANTINED)
    assert batch.quarantined == [a.id]
    assert (a.dedupe_key, a.reason) == ("a", inbox.CRASHED_THE_WORKER)
    assert "never finished" in a.error
    assert [item.dedupe_key for item in batch.items] == ["d"]
    assert {row.dedupe_key: row.attempts for row in inbox.rows(engine)} == {
        "a": 3, "b": 1, "c": 0, "d": 1}
    assert inbox.replay(engine, a.id) == 1
    assert inbox.get(engine, a.id).attempts == 0


def test_a_counted_failure_keeps_the_count_marks_the_next_started_and_keeps_the_last_error(
        engine: Engine):
    for key in ("a", "b"):
        put(engine, key)
    a_id, b_id = (item.id for item in inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0,
                                                        max_attempts=2).items)
    assert inbox.record_failure(engine, a_id, "Traceback: one", T0, max_attempts=2,
                                counted=True, start_next=b_id) == InboxStatus.RECEIVED
    assert (inbox.get(engine, a_id).attempts, inbox.get(engine, b_id).attempts) == (1, 1)
    inbox.start(engine, a_id)
    assert inbox.record_failure(engine, a_id, "Traceback: two", T0, max_attempts=2,
                                counted=True) == InboxStatus.QUARANTINED
    row = inbox.get(engine, a_id)
    assert (row.attempts, row.reason, row.error) == (2, "crashed", "Traceback: two")


def test_release_gives_the_batch_back_and_refunds_the_interrupted_attempt(engine: Engine):
    for key in ("a", "b"):
        put(engine, key)
    ids = [item.id for item in inbox.claim_batch(engine, limit=5, lease=LEASE, now=T0,
                                                 max_attempts=3).items]
    inbox.release(engine, ids, refund=ids[0])
    assert [(row.attempts, row.lease_until) for row in inbox.rows(engine)] == [(0, None)] * 2
    assert inbox.claim(engine, limit=5, lease=LEASE, now=T0) == ids


def test_is_duplicate_unless_every_processed_copy_was_refused_unauthenticated(engine: Engine):
    def copy(row_id: int, status: str, authenticated: bool | None) -> InboxRow:
        return InboxRow(id=row_id, channel="email", dedupe_key=f"k#{row_id}", raw=b"",
                        received_at=T0, status=status, authenticated=authenticated)

    forged = copy(1, InboxStatus.REFUSED, False)
    assert not inbox.is_duplicate([copy(2, InboxStatus.RECEIVED, None)], 2, False)  # the only one
    assert not inbox.is_duplicate([forged, copy(2, InboxStatus.RECEIVED, None)], 2, True)
    assert inbox.is_duplicate([forged], 2, False)  # no better than the refused one
    assert inbox.is_duplicate([copy(1, InboxStatus.DONE, True)], 2, True)  # genuine twice
    assert inbox.is_duplicate([copy(1, InboxStatus.DONE, False)], 2, True)  # accepted already
    assert inbox.is_duplicate([forged, copy(2, InboxStatus.REFUSED, True)], 3, True)
    assert not inbox.is_duplicate([forged, copy(2, InboxStatus.QUARANTINED, None),
                                   copy(3, InboxStatus.REFUSED, None)], 4, True)  # never processed
