"""`gateway run` as a subprocess with Telegram on, pointed at a local Bot API server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.linking import new_token
from gateway.replies import Kind
from gateway.tokens import Signer
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork
from tests.support.gateway_process import Gateway, gateway_env
from tests.support.outcomes import assert_no_outbox_rows_to, wait_for_delivery, wait_for_outcomes
from tests.support.ports import free_port
from tests.support.seeding import ANNA as ANNA_MEMBER
from tests.support.seeding import BO as BO_MEMBER
from tests.support.seeding import EMMA, PIET
from tests.support.seeding import seed as seed_people
from tests.telegram.fake_bot_api import BotApiState, running

TOKEN = "123:TEST"
ALWAYS_OPEN = json.dumps([{"days": "Mon-Sun", "start": "00:00", "end": "00:00",
                           "timezone": "UTC", "languages": ["*"]}])
ANNA, BO, STRANGER = 501, 502, 503


class TelegramDesk(Gateway):
    api: BotApiState
    engine: Engine
    pushed: int = 0  # updates given to the Bot API, each one inbox item once polled

    def mail(self, sender: str, to: str, body: str, subject: str = "Re: ticket") -> None:
        Gateway.send(self, sender, subject, body, to=to)

    def send(self, update: dict[str, Any]) -> int:  # type: ignore[override]
        self.pushed += 1
        return self.api.push(update)

    def reply_to(self, chat_id: int, predicate: Callable[[dict[str, Any]], bool],
                 timeout: float = 15.0) -> dict[str, Any]:
        return self.api.wait_sent(predicate, timeout, chat_id=chat_id)

    def said(self, chat_id: int, *words: str, timeout: float = 15.0) -> dict[str, Any]:
        """The first message to `chat_id` containing every one of `words`."""
        return self.reply_to(chat_id, lambda p: all(w in p.get("text", "") for w in words), timeout)

    def wait_inbox(self, count: int, timeout: float = 15.0) -> None:
        wait_for_outcomes(self.engine, count=count, channel="telegram", timeout=timeout,
                          log=self.log)

    def settle(self, timeout: float = 15.0) -> None:
        """Every update sent is processed and everything it queued has left the outbox."""
        self.wait_inbox(self.pushed, timeout)
        wait_for_delivery(self.engine, timeout=timeout, log=self.log)

    def no_message_to(self, chat_id: int) -> None:
        """Once settled, nothing but callback answers was queued for `chat_id`."""
        self.settle()
        assert_no_outbox_rows_to(self.engine, str(chat_id),
                                 besides=frozenset({Kind.TG_CALLBACK_ANSWER}))


def code_in(mail: Any) -> str:
    match = re.search(r"^\s+(\d{6})\s*$", mail.get_content(), re.M)
    assert match, mail.get_content()
    return match.group(1)


def issue_token(engine: Engine, secret: str, member_id: str, now: datetime, hours: float) -> str:
    """A deep-link token as `gateway members invite` makes it, stored, signed with `secret`."""
    token, text = new_token(Signer(secret), member_id, now, hours)
    with SqlUnitOfWork(engine, BlobStore(Path("unused-blobs"))) as uow:
        uow.links.add_token(token)
        uow.commit()
    return text


def desk_env(tmp_path: Path, database_url: str, base_url: str, **extra: str) -> dict[str, str]:
    return gateway_env(tmp_path, database_url, "tg-secret", GATEWAY_SMTP__PORT=str(free_port()),
                       GATEWAY_TELEGRAM__ENABLED="true", GATEWAY_TELEGRAM__TOKEN=TOKEN,
                       GATEWAY_TELEGRAM__BASE_URL=base_url, GATEWAY_TELEGRAM__POLL_TIMEOUT="1",
                       **{"GATEWAY_HOURS__WINDOWS": ALWAYS_OPEN, **extra})


def seed(engine: Engine) -> None:
    seed_people(engine, replace(ANNA_MEMBER, telegram_user_id=ANNA), BO_MEMBER, PIET, EMMA)


@pytest.fixture
def bot_api() -> Iterator[tuple[BotApiState, str]]:
    with running(TOKEN) as served:
        yield served


def launch(tmp_path: Path, database_url: str, engine: Engine, bot_api: tuple[BotApiState, str],
           **extra: str) -> TelegramDesk:
    state, base_url = bot_api
    gw = TelegramDesk(tmp_path, desk_env(tmp_path, database_url, base_url, **extra), engine=engine)
    gw.api = state
    gw.port = int(gw.env["GATEWAY_SMTP__PORT"])
    return gw


@pytest.fixture
def desk(tmp_path: Path, database_url: str, engine: Engine,
         bot_api: tuple[BotApiState, str], request: pytest.FixtureRequest) -> Iterator[TelegramDesk]:
    """A running desk; `@pytest.mark.settings(KEY=value)` adds environment settings."""
    seed(engine)
    marker = request.node.get_closest_marker("settings")
    gw = launch(tmp_path, database_url, engine, bot_api, **(marker.kwargs if marker else {}))
    gw.start()
    yield gw
    gw.close()
