"""`gateway members invite`: one mailed deep link that links the member's Telegram account."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from adapters.cli import app
from store import admin, outbox
from store.tables_telegram import TelegramLinkTokenRow
from store.unit_of_work import SqlMembers
from tests.telegram import updates as u
from tests.telegram.conftest import STRANGER, TelegramDesk, seed

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    yield CliRunner()
    gc.collect()  # the CLI opens an engine per command: let their pools go


def invite(runner: CliRunner, env: dict[str, str | None], *args: str) -> Result:
    return runner.invoke(app, ["members", "invite", *args],
                         env={**env, "GATEWAY_CONFIG": None})


def invites(engine: Engine) -> list[tuple[str, str, str]]:
    return [(row.channel, row.recipient, outbox.decode(row.payload).text)
            for row in outbox.rows(engine) if row.kind == "telegram_invite"]


def assert_one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def offline_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str | None]:
    return {"GATEWAY_DATABASE__URL": database_url, "GATEWAY_DATA_DIR": str(tmp_path),
            "GATEWAY_SECURITY__SECRET": "tg-secret", "GATEWAY_OUTBOUND__HOST": None,
            "GATEWAY_TELEGRAM__ENABLED": "false", "GATEWAY_TELEGRAM__TOKEN": None,
            "GATEWAY_TELEGRAM__BOT_USERNAME": None, **extra}


def test_the_mailed_link_links_the_account_in_one_step(desk: TelegramDesk,
                                                        runner: CliRunner) -> None:
    result = invite(runner, dict(desk.env), "1002")
    assert result.exit_code == 0, result.output
    printed = LINK.fullmatch(result.stdout.strip())
    assert printed is not None, result.stdout
    assert printed.group(1) == "desk_test_bot"  # from getMe on the Bot API server
    queued = invites(desk.engine)
    assert len(queued) == 1
    channel, recipient, text = queued[0]
    assert (channel, recipient) == ("email", "bo@example.net")
    assert printed.group(0) in text
    mail = desk.mail_to("bo@example.net")  # sent by the running gateway's delivery loop
    assert "Telegram" in mail["Subject"]
    body = mail.get_content()
    found = LINK.search(body)
    assert found is not None and found.group(0) == printed.group(0)
    assert "expires" in body and "ignore" in body
    desk.send(u.message(STRANGER, f"/start {found.group(2)}"))
    desk.said(STRANGER, "Bo Jensen", "1002")
    with Session(desk.engine) as session:
        member = SqlMembers(session).get("1002")
    assert member is not None and member.telegram_user_id == STRANGER
    desk.send(u.message(505, f"/start {found.group(2)}"))  # single use
    desk.said(505, "not valid")


def test_bot_username_from_the_config_needs_no_network(tmp_path: Path, database_url: str,
                                                       engine: Engine, runner: CliRunner) -> None:
    seed(engine)
    env = offline_env(tmp_path, database_url, GATEWAY_TELEGRAM__BOT_USERNAME="@desk_bot",
                      GATEWAY_TELEGRAM__LINK_TOKEN_HOURS="24")
    result = invite(runner, env, "1001")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("https://t.me/desk_bot?start=")
    queued = invites(engine)
    assert [(channel, recipient) for channel, recipient, _ in queued] == [
        ("email", "anna@example.net")]
    assert "koppel" in queued[0][2].lower()  # Anna reads Dutch
    assert [row.status for row in outbox.rows(engine)] == ["pending"]
    with Session(engine) as session:
        tokens = session.exec(select(TelegramLinkTokenRow)).all()
    assert [token.member_id for token in tokens] == ["1001"]


def test_an_unknown_member_is_one_error_line(tmp_path: Path, database_url: str,
                                             engine: Engine, runner: CliRunner) -> None:
    seed(engine)
    env = offline_env(tmp_path, database_url, GATEWAY_TELEGRAM__BOT_USERNAME="desk_bot")
    line = assert_one_error_line(invite(runner, env, "9999"))
    assert "9999" in line
    assert outbox.rows(engine) == []
    with Session(engine) as session:
        assert session.exec(select(TelegramLinkTokenRow)).all() == []


def test_telegram_off_without_a_bot_username_is_one_error_line(
        tmp_path: Path, database_url: str, engine: Engine, runner: CliRunner) -> None:
    seed(engine)
    line = assert_one_error_line(invite(runner, offline_env(tmp_path, database_url), "1001"))
    assert "bot_username" in line
    assert outbox.rows(engine) == []
    assert admin.list_tickets(engine) == []
