"""`gateway run` as a subprocess with Telegram on, pointed at a local Bot API server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from store import admin, inbox
from tests.conftest import free_port
from tests.e2e.conftest import Gateway
from tests.telegram.fake_bot_api import BotApiState, running

TOKEN = "123:TEST"
ALWAYS_OPEN = json.dumps([{"days": "Mon-Sun", "start": "00:00", "end": "00:00",
                           "timezone": "UTC", "languages": ["*"]}])
ANNA, BO, STRANGER = 501, 502, 503


class TelegramDesk(Gateway):
    api: BotApiState
    engine: Engine

    def start(self, *roles: str) -> str:  # type: ignore[override]
        args = [sys.executable, "-m", "adapters", "run"]
        if roles:
            args += ["--only", ",".join(roles)]
        self.process = subprocess.Popen(args, env=self.env, text=True, stdout=subprocess.PIPE,
                                        stderr=open(self.data_dir / "gateway.log", "a"))  # noqa: SIM115
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready"), f"no ready line: {line!r}\n{self.log()}"
        return line

    def mail(self, sender: str, to: str, body: str, subject: str = "Re: ticket") -> None:
        Gateway.send(self, sender, subject, body, to=to)

    def send(self, update: dict[str, Any]) -> int:  # type: ignore[override]
        return self.api.push(update)

    def reply_to(self, chat_id: int, predicate: Callable[[dict[str, Any]], bool],
                 timeout: float = 15.0) -> dict[str, Any]:
        return self.api.wait_sent(predicate, timeout, chat_id=chat_id)

    def said(self, chat_id: int, *words: str, timeout: float = 15.0) -> dict[str, Any]:
        """The first message to `chat_id` containing every one of `words`."""
        return self.reply_to(chat_id, lambda p: all(w in p.get("text", "") for w in words), timeout)

    def wait_inbox(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [r for r in inbox.rows(self.engine) if r.channel == "telegram"]
            if len(rows) >= count and all(r.status != "received" for r in rows):
                return
            time.sleep(0.05)
        raise AssertionError(f"inbox not processed: {[(r.id, r.status) for r in inbox.rows(self.engine)]}")


def code_in(mail: Any) -> str:
    match = re.search(r"^\s+(\d{6})\s*$", mail.get_content(), re.M)
    assert match, mail.get_content()
    return match.group(1)


def desk_env(tmp_path: Path, database_url: str, base_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_DATABASE__URL": database_url,
           "GATEWAY_SECURITY__SECRET": "tg-secret", "GATEWAY_SMTP__PORT": str(free_port()),
           "GATEWAY_TELEGRAM__ENABLED": "true", "GATEWAY_TELEGRAM__TOKEN": TOKEN,
           "GATEWAY_TELEGRAM__BASE_URL": base_url, "GATEWAY_TELEGRAM__POLL_TIMEOUT": "1",
           "GATEWAY_HOURS__WINDOWS": ALWAYS_OPEN, **extra}
    env.pop("GATEWAY_CONFIG", None)
    return env


def seed(engine: Engine) -> None:
    admin.upsert_member(engine, member_id="1001", name="Anna de Vries", email="anna@example.net",
                        rank="Gold", language="nl", telegram_user_id=ANNA)
    admin.upsert_member(engine, member_id="1002", name="Bo Jensen", email="bo@example.net",
                        rank="Gold", language="en")
    admin.upsert_agent(engine, email="agent.nl@example.org", name="Piet", languages=["nl"])
    admin.upsert_agent(engine, email="agent.en@example.org", name="Emma", languages=["en"])


@pytest.fixture
def bot_api() -> Iterator[tuple[BotApiState, str]]:
    with running(TOKEN) as served:
        yield served


def launch(tmp_path: Path, database_url: str, engine: Engine, bot_api: tuple[BotApiState, str],
           **extra: str) -> TelegramDesk:
    state, base_url = bot_api
    gw = TelegramDesk(tmp_path, desk_env(tmp_path, database_url, base_url, **extra))
    gw.api, gw.engine = state, engine
    gw.port = int(gw.env["GATEWAY_SMTP__PORT"])
    return gw


@pytest.fixture
def desk(tmp_path: Path, database_url: str, engine: Engine,
         bot_api: tuple[BotApiState, str]) -> Iterator[TelegramDesk]:
    seed(engine)
    gw = launch(tmp_path, database_url, engine, bot_api)
    gw.start()
    yield gw
    if gw.process is not None:
        gw.stop(signal.SIGKILL)
