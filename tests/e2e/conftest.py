"""The whole process: `gateway run` as a subprocess, driven over SMTP, read from its .eml outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.gateway_process import SUPPORT, Gateway, gateway_env
from tests.support.ports import free_port
from tests.support.seeding import ANNA, BO, PIET, seed
from tests.support.smtp_sink import Sink, running_sink

__all__ = ["SUPPORT", "Gateway", "Sink"]


@pytest.fixture
def gateway(tmp_path: Path, database_url: str, engine: Engine,
            request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """`@pytest.mark.settings(KEY=value)` adds environment settings."""
    seed(engine, ANNA, replace(BO, rank="Manager", language="da"), PIET)
    port = free_port()
    marker = request.node.get_closest_marker("settings")
    env = gateway_env(tmp_path, database_url, "e2e-secret", GATEWAY_SMTP__PORT=str(port),
                      **(marker.kwargs if marker else {}))
    gw = Gateway(tmp_path, env, port=port, engine=engine)
    gw.start()
    yield gw
    gw.close()


@pytest.fixture
def relay() -> Iterator[Sink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture
def relayed(tmp_path: Path, database_url: str, engine: Engine, relay: Sink) -> Iterator[Gateway]:
    """The gateway sending through `relay` instead of writing .eml files."""
    seed(engine, ANNA, PIET)
    port = free_port()
    env = gateway_env(tmp_path, database_url, "e2e-secret", GATEWAY_SMTP__PORT=str(port),
                      GATEWAY_SMTP__MAX_MESSAGE_BYTES="200000",
                      GATEWAY_OUTBOUND__HOST="127.0.0.1", GATEWAY_OUTBOUND__PORT=str(relay.port),
                      GATEWAY_OUTBOUND__SECURITY="none")
    gw = Gateway(tmp_path, env, port=port, engine=engine)
    gw.start()
    yield gw
    gw.close()
