"""The CLI checks `--status` against the store's own status groups, for every list."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from adapters.cli import TICKET_STATUSES, app
from gateway.tickets import Status
from store.outbox import OutboxStatus


def _run(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"GATEWAY_DATABASE__URL": database_url, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_CONFIG": None,
           "GATEWAY_SECURITY__SECRET": "test-secret"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_outbox_list_refuses_an_unknown_status_and_names_the_known_ones(
        database_url: str, tmp_path: Path) -> None:
    code, output = _run(database_url, tmp_path, "outbox", "list", "--status", "lost")
    assert code == 1 and all(status in output for status in OutboxStatus)


def test_ticket_statuses_are_the_core_ones() -> None:
    assert TICKET_STATUSES == tuple(s.value for s in Status) == ("open", "awaiting_feedback", "closed")
