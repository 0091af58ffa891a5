"""The advisory lock: one holder at a time, and a holder that lost its connection knows it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from store.imap_state import MailboxLock
from store.locks import AdvisoryLock, lock_key

KEY = lock_key(b"test", "one job")


@pytest.fixture
def pg_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are for several processes on PostgreSQL")
    return engine


def _holder_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        unsigned = KEY & 0xFFFF_FFFF_FFFF_FFFF
        return int(connection.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = :high AND objid::bigint = :low"),
            {"high": unsigned >> 32, "low": unsigned & 0xFFFF_FFFF}).scalar_one())


def test_a_second_holder_is_refused_until_the_first_releases(pg_engine: Engine) -> None:
    first, second = AdvisoryLock(pg_engine, KEY, "test"), AdvisoryLock(pg_engine, KEY, "test")
    assert first.acquire() and first.still_held()
    assert not second.acquire() and not second.still_held()
    assert first.acquire()  # still ours
    first.release()
    assert not first.still_held()
    assert second.acquire() and second.still_held()
    second.release()


def test_a_killed_connection_loses_the_lock_and_lets_another_take_it(pg_engine: Engine) -> None:
    first, second = AdvisoryLock(pg_engine, KEY, "test"), AdvisoryLock(pg_engine, KEY, "test")
    assert first.acquire()
    with pg_engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"),
                             {"pid": _holder_pid(pg_engine)}).scalar()
    assert not first.still_held()
    assert second.acquire()
    assert not first.acquire()  # the lost holder stands by: the other one has it now
    second.release()
    assert first.acquire()
    first.release()


def test_a_lost_lock_is_reported_once_before_it_is_taken_again(pg_engine: Engine) -> None:
    """After a loss the holder must start over from stored state: acquire says False once."""
    lock = AdvisoryLock(pg_engine, KEY, "test")
    assert lock.acquire()
    with pg_engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": _holder_pid(pg_engine)})
    assert not lock.acquire()
    assert lock.acquire() and lock.still_held()
    lock.release()


def test_mailbox_locks_are_per_mailbox(pg_engine: Engine) -> None:
    inbox, other, again = (MailboxLock(pg_engine, "a@x:993/INBOX"), MailboxLock(pg_engine, "b@x:993/INBOX"),
                           MailboxLock(pg_engine, "a@x:993/INBOX"))
    assert inbox.acquire() and other.acquire() and not again.acquire()
    inbox.release()
    other.release()


def test_sqlite_needs_no_lock(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite runs one process and needs no lock; PostgreSQL's lock is tested above")
    lock = AdvisoryLock(engine, KEY, "test")
    assert lock.acquire() and lock.still_held() and AdvisoryLock(engine, KEY, "test").acquire()
