"""Advisory locks: one process at a time does a job (fetch a mailbox, poll Telegram).

`pg_try_advisory_lock` is taken on a connection of its own and held for as long as the job runs.
PostgreSQL frees it when that connection ends, so when the holder dies another process takes
over at its next try; for the same reason the holder checks `still_held()` before every round:
a dead connection means the lock is gone, and someone else may be doing the job already.
SQLite runs one process: no lock.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)
_HELD = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
             " AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low"
             " AND objsubid = 1)")


def lock_key(namespace: bytes, name: str) -> int:
    """A signed 64-bit advisory-lock key from a name."""
    digest = hashlib.sha256(namespace + b"\0" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A session-level advisory lock on a dedicated connection (never one from a transaction)."""

    def __init__(self, engine: Engine, key: int, what: str) -> None:
        self._engine, self._key, self.what = engine, key, what
        unsigned = key & 0xFFFF_FFFF_FFFF_FFFF  # pg_locks shows the bigint key as two oids
        self._high, self._low = unsigned >> 32, unsigned & 0xFFFF_FFFF
        self._connection: Connection | None = None

    @property
    def needed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """True when we hold the lock (still, or newly); False when another process does, or when
        we just found it lost: the caller stops its round and starts over from stored state."""
        if not self.needed:
            return True
        if self._connection is not None:
            if self.still_held():
                return True
            log.warning("advisory lock lost", extra={"lock": self.what})
            return False
        return self._take()

    def still_held(self) -> bool:
        """Asked of PostgreSQL on the lock's own connection; a dead connection holds nothing."""
        if not self.needed:
            return True
        if self._connection is None:
            return False
        try:
            held = bool(self._connection.execute(_HELD, {"high": self._high, "low": self._low}).scalar())
        except Exception:
            log.warning("advisory lock connection failed", extra={"lock": self.what}, exc_info=True)
            held = False
        if not held:
            self._drop()
        return held

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._connection.close()
        except Exception:
            self._drop()
        self._connection = None

    def _take(self) -> bool:
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

    def _drop(self) -> None:
        """Never hand a connection that may still hold the lock back to the pool."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:
                log.debug("closing the lock connection failed", exc_info=True)
        self._connection = None
