"""IMAP fetch state: the checkpoint per mailbox, and the lock that lets one process fetch it."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

from store.tables_imap import ImapCheckpointRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


def load_checkpoint(engine: Engine, mailbox: str) -> Checkpoint | None:
    with Session(engine) as session:
        row = session.get(ImapCheckpointRow, mailbox)
        return Checkpoint(row.uidvalidity, row.last_uid) if row else None


def save_checkpoint(engine: Engine, mailbox: str, checkpoint: Checkpoint, now: datetime) -> None:
    """Only the lock holder writes a mailbox's row, so get-then-write is race free."""
    with Session(engine) as session:
        row = session.get(ImapCheckpointRow, mailbox)
        if row is None:
            row = ImapCheckpointRow(mailbox=mailbox, uidvalidity=checkpoint.uidvalidity,
                                    last_uid=checkpoint.last_uid, updated_at=now)
        row.uidvalidity, row.last_uid, row.updated_at = (checkpoint.uidvalidity,
                                                         checkpoint.last_uid, now)
        session.add(row)
        session.commit()


def lock_key(mailbox: str) -> int:
    """A signed 64-bit advisory-lock key from the mailbox name."""
    digest = hashlib.sha256(b"gateway-imap\0" + mailbox.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class MailboxLock:
    """`pg_try_advisory_lock` held on a connection of its own, for as long as we fetch.

    PostgreSQL frees the lock when that connection ends, so when the holding process
    dies another one takes over at its next try. SQLite runs one process: no lock.
    """

    def __init__(self, engine: Engine, mailbox: str) -> None:
        self._engine = engine
        self._key = lock_key(mailbox)
        self._connection: Connection | None = None

    @property
    def needed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """True when we hold the lock (again, or still); False when another process does."""
        if not self.needed:
            return True
        if self._connection is not None:
            try:  # still ours while our session lives
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("IMAP mailbox lock connection lost; taking the lock again")
                self._drop()
        connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                           {"key": self._key}).scalar())
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._connection.close()
        except Exception:
            self._drop()
        self._connection = None

    def _drop(self) -> None:
        """Never hand a connection that may still hold the lock back to the pool."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                log.debug("closing the lock connection failed", exc_info=True)
        self._connection = None
