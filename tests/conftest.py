"""Shared fixtures: a fresh database per test, on SQLite or (GATEWAY_TEST_DATABASE_URL) PostgreSQL.

The database packages are imported by the fixtures that use them: the unit tier runs without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.ports import free_port

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["free_port"]  # bench/ and older tests import it from here

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    from sqlalchemy import create_engine, text
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    from store.engine import make_engine
    from store.migrate import upgrade
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()
