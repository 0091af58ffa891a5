"""Migrations build exactly the tables of store.tables; the engine keeps commits durable."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables)
from gateway.errors import ConfigError
from store.engine import check_durability, make_engine
from store.migrate import upgrade

CORE_TABLES = {"members", "agents", "tickets", "messages", "attachments", "inbox", "outbox",
               "counters"}
OUR_TABLES = set(SQLModel.metadata.tables)  # every table the models declare


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_on_empty_database_creates_every_table(database_url: str):
    engine = make_engine(database_url)
    try:
        assert table_names(engine) == set()
        upgrade(engine)
        assert OUR_TABLES >= CORE_TABLES
        assert table_names(engine) == OUR_TABLES
        inspector = inspect(engine)
        for name in OUR_TABLES:
            columns = {column["name"] for column in inspector.get_columns(name)}
            assert columns == set(SQLModel.metadata.tables[name].columns.keys()), name
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version
    finally:
        engine.dispose()


def test_migrations_match_the_models(engine: Engine):
    """Nothing left for autogenerate to write: the migrations and store.tables agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_twice_is_a_no_op(engine: Engine):
    with engine.connect() as connection:
        before = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO agents (email, name, languages) VALUES ('a@example.org', 'A', 'en')"))
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == before
        assert connection.execute(text("SELECT count(*) FROM agents")).scalar() == 1
    assert table_names(engine) == OUR_TABLES


def test_check_durability_passes_on_a_fresh_engine(database_url: str):
    engine = make_engine(database_url)
    try:
        check_durability(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_wal_with_synchronous_full(engine: Engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_check_durability_refuses_sqlite_synchronous_normal(engine: Engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")

    @event.listens_for(engine, "connect")
    def _weaken(dbapi_connection, _record):  # runs after make_engine's own listener
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    engine.dispose()  # new connections get the weakened setting
    with pytest.raises(ConfigError, match="synchronous=FULL"):
        check_durability(engine)


def test_postgres_fsync_and_synchronous_commit_are_on(engine: Engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL settings")
    with engine.connect() as connection:
        assert connection.execute(text("SHOW fsync")).scalar() == "on"
        assert connection.execute(text("SHOW synchronous_commit")).scalar() != "off"


def test_check_durability_refuses_postgres_synchronous_commit_off(database_url: str):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL settings")
    weak = make_engine(database_url + "%20-csynchronous_commit%3Doff")
    try:
        with pytest.raises(ConfigError, match="synchronous_commit"):
            check_durability(weak)
    finally:
        weak.dispose()
