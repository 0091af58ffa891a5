"""Webhook secret and durability: an update is stored before it is confirmed, and acted on once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import Engine

from store import inbox
from store.telegram_state import load_offset
from tests.support.outcomes import wait_for_delivery
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, desk_env, launch, seed
from tests.telegram.fake_bot_api import BotApiState


def post(url: str, body: dict[str, object], secret: str | None) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if secret is not None:
        request.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_webhook_checks_the_secret_and_acts_once_per_update(
        tmp_path: Path, database_url: str, engine: Engine, bot_api: tuple[BotApiState, str]) -> None:
    seed(engine)
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg-hook"
    desk = launch(tmp_path, database_url, engine, bot_api, GATEWAY_TELEGRAM__MODE="webhook",
                  GATEWAY_TELEGRAM__WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                  GATEWAY_TELEGRAM__WEBHOOK_URL=url, GATEWAY_TELEGRAM__SECRET_TOKEN="s3cret")
    desk.start()
    try:
        update = {"update_id": 9001, **u.message(ANNA, "/help")}
        assert post(url, update, None) == 403
        assert post(url, update, "s3cre") == 403
        assert post(url, update, "S3CRET") == 403
        assert inbox.rows(engine) == []
        assert post(url, update, "s3cret") == 200
        assert post(url, update, "s3cret") == 200  # Telegram retried: stored once, acted once
        desk.said(ANNA, "/tickets")
        desk.wait_inbox(1)
        wait_for_delivery(engine, log=desk.log)
        assert len(desk.api.sent(chat_id=ANNA)) == 1
        [hook] = desk.api.sent("setWebhook")
        assert (hook["url"], hook["secret_token"]) == (url, "s3cret")
    finally:
        desk.stop(signal.SIGKILL)


def test_webhook_mode_refuses_to_start_without_a_secret(
        tmp_path: Path, database_url: str, bot_api: tuple[BotApiState, str]) -> None:
    env = desk_env(tmp_path, database_url, bot_api[1], GATEWAY_TELEGRAM__MODE="webhook",
                   GATEWAY_TELEGRAM__WEBHOOK_LISTEN=f"127.0.0.1:{free_port()}")
    done = subprocess.run([sys.executable, "-m", "adapters", "run"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "ready" not in done.stdout
    assert "secret_token" in done.stderr and "Traceback" not in done.stderr


def test_kill_9_after_getupdates_before_processing_loses_and_repeats_nothing(
        tmp_path: Path, database_url: str, engine: Engine, bot_api: tuple[BotApiState, str]) -> None:
    seed(engine)
    # 25 updates from one member: over the default hourly message cap of 20.
    desk = launch(tmp_path, database_url, engine, bot_api, GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR="100")
    desk.start("telegram")  # the poller alone: updates are fetched and stored, not processed
    ids = [desk.send(u.message(ANNA, "/help")) for _ in range(20)]
    wait_until(lambda: len(inbox.rows(engine)) >= 20, 15, "20 updates stored", desk.log, 0.05)
    desk.stop(signal.SIGKILL)
    assert {row.status for row in inbox.rows(engine)} == {"received"}
    assert desk.api.sent() == []
    offset = load_offset(engine)
    assert offset is not None and offset <= max(ids) + 1
    ids += [desk.send(u.message(ANNA, "/hours")) for _ in range(5)]  # while it is down
    desk.start()
    try:
        desk.wait_inbox(25, timeout=30)
        wait_for_delivery(engine, log=desk.log)
        rows = inbox.rows(engine)
        assert sorted(row.dedupe_key for row in rows) == sorted(f"tg:{i}" for i in ids)
        assert {row.status for row in rows} == {"done"}
        assert len(desk.api.sent(chat_id=ANNA)) == 25
        assert desk.api.offsets[-1] > max(ids)  # confirmed only now
    finally:
        desk.stop(signal.SIGKILL)


def test_doctor_reaches_the_bot_api(tmp_path: Path, database_url: str,
                                    bot_api: tuple[BotApiState, str]) -> None:
    env = desk_env(tmp_path, database_url, bot_api[1])
    done = subprocess.run([sys.executable, "-m", "adapters", "doctor"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "@desk_test_bot" in done.stderr
