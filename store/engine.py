"""make_engine(url): SQLite (WAL, synchronous=FULL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from gateway.errors import ConfigError

BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                              "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy not issue BEGIN itself: we take the write lock up front instead,
        # because SQLite ignores FOR UPDATE and a deferred BEGIN can deadlock on upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    # Writers queue on a lock in this process instead of SQLite's busy handler, whose
    # sleeps (up to 100 ms each) made the latency tail. SQLite's own lock still guards
    # correctness: the timeout only stops a lost release from blocking anyone for long.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.info["holds_writer"] = writer.acquire(timeout=BUSY_TIMEOUT_MS / 1000)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        if connection.info.pop("holds_writer", False):
            writer.release()

    return engine


def check_durability(engine: Engine) -> None:
    """Refuse to run on a database that may lose commits (RELIABILITY 6-7)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            level = connection.execute(text("PRAGMA synchronous")).scalar()
            if level not in (2, 3):  # FULL or EXTRA
                raise ConfigError("SQLite must run with synchronous=FULL, and it does not.")
            return
        fsync = connection.execute(text("SHOW fsync")).scalar()
        commit = connection.execute(text("SHOW synchronous_commit")).scalar()
    if fsync != "on" or commit == "off":
        raise ConfigError(
            "PostgreSQL runs with fsync or synchronous_commit off: commits could be lost; turn them on."
        )
