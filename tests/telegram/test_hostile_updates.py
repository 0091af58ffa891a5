"""Hostile update bodies: the webhook answers 400/413 without storing, the poller skips and moves on."""

from __future__ import annotations

import http.client
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.telegram.normalize import MalformedUpdate, check_update, parse_update
from store import inbox
from store.telegram_state import load_offset
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, TelegramDesk, launch, seed
from tests.telegram.fake_bot_api import BotApiState

SECRET = "s3cret"
PATH = "/tg-hook"


def post_raw(port: int, body: bytes, *, length: int | None = None) -> int:
    """POST `body` as Telegram would; the status, or 0 when no answer came at all."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("POST", PATH)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("X-Telegram-Bot-Api-Secret-Token", SECRET)
        connection.putheader("Content-Length", str(len(body) if length is None else length))
        connection.endheaders()
        connection.send(body)
        return connection.getresponse().status
    except (ConnectionError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def post(port: int, update: dict[str, object]) -> int:
    return post_raw(port, json.dumps(update).encode())


@pytest.fixture
def hook(tmp_path: Path, database_url: str, engine: Engine,
         bot_api: tuple[BotApiState, str]) -> Iterator[tuple[TelegramDesk, int]]:
    seed(engine)
    port = free_port()
    desk = launch(tmp_path, database_url, engine, bot_api, GATEWAY_TELEGRAM__MODE="webhook",
                  GATEWAY_TELEGRAM__WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                  GATEWAY_TELEGRAM__WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}",
                  GATEWAY_TELEGRAM__SECRET_TOKEN=SECRET)
    desk.start()
    yield desk, port
    if desk.process is not None:
        desk.stop(signal.SIGKILL)


def test_a_100000_deep_body_gets_400_and_the_server_keeps_answering(
        hook: tuple[TelegramDesk, int]) -> None:
    desk, port = hook
    deep = b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert post_raw(port, deep) == 400
    deep_object = b'{"update_id": 2, "x": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}"
    assert post_raw(port, deep_object) == 400  # over 32 levels, however small
    assert inbox.rows(desk.engine) == []
    assert post(port, {"update_id": 3, **u.message(ANNA, "/help")}) == 200
    desk.said(ANNA, "/tickets")
    assert "RecursionError" not in desk.log()


@pytest.mark.parametrize("update", [
    {"update_id": 5, "message": [1]},
    {"update_id": "5", **u.message(ANNA, "/help")},
    {"update_id": True, **u.message(ANNA, "/help")},
    {"update_id": 5, "message": {"message_id": 1, "chat": {"id": "x", "type": "private"}}},
    {"update_id": 5, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"},
                                 "from": {"id": 1}, "text": {"a": 1}}},
    {"update_id": 5, "callback_query": {"id": "c", "from": [], "data": "t:TI-1"}},
    [1, 2],
])
def test_a_malformed_update_gets_400_and_is_not_stored(
        hook: tuple[TelegramDesk, int], update: object) -> None:
    desk, port = hook
    assert post_raw(port, json.dumps(update).encode()) == 400
    assert inbox.rows(desk.engine) == []
    assert "update refused" in desk.log()


def test_a_body_over_the_size_cap_is_refused_and_the_answer_arrives(
        hook: tuple[TelegramDesk, int]) -> None:
    desk, port = hook
    big = {"update_id": 6, **u.message(ANNA, "x" * 2_000_000)}
    assert post(port, big) in (400, 413)
    assert "update refused" in desk.log() and "status=413" in desk.log()  # and told to the operator
    assert post_raw(port, b"{}", length=-1) == 400
    assert post_raw(port, b'{"update_id": 7', length=15) == 400  # cut JSON
    assert inbox.rows(desk.engine) == []
    assert post(port, {"update_id": 8, **u.message(ANNA, "/help")}) == 200


def test_the_poller_skips_a_malformed_update_and_moves_past_it(
        tmp_path: Path, database_url: str, engine: Engine, bot_api: tuple[BotApiState, str]) -> None:
    seed(engine)
    desk = launch(tmp_path, database_url, engine, bot_api)
    desk.send({"update_id": 40, "message": [1]})
    desk.send({"update_id": 41, "callback_query": {"id": 7, "from": {"id": "x"}}})
    desk.send({"update_id": 42, **u.message(ANNA, "/help")})
    desk.start()
    try:
        desk.said(ANNA, "/tickets")
        desk.wait_inbox(1)
        assert [row.dedupe_key for row in inbox.rows(engine)] == ["tg:42"]
        wait_until(lambda: (load_offset(engine) or 0) >= 43, 10, "the offset past 43", desk.log)
        assert load_offset(engine) == 43
        assert "malformed" in desk.log()
    finally:
        desk.stop(signal.SIGKILL)


def test_the_worker_reads_a_malformed_stored_update_as_malformed_not_as_a_crash() -> None:
    for bad in ({"update_id": 5, "message": [1]}, {"update_id": 5, "callback_query": "x"},
                {"update_id": 5, "message": {"chat": {"id": 1}, "from": {"id": 1},
                                             "photo": [{"file_id": 3}]}}):
        with pytest.raises(MalformedUpdate):
            parse_update(bad)
        assert check_update(bad)
    assert isinstance(MalformedUpdate("x"), ValueError)  # the processor quarantines at once
    good = {"update_id": 9, **u.message(ANNA, "hello", photo="p1", photo_size=50)}
    assert check_update(good) == "" and parse_update(good).files[0].file_id == "p1"
    assert check_update({"update_id": 10, "channel_post": {"x": 1}}) == ""
