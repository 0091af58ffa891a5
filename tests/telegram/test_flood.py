"""Telegram commands take the core's path: the per-sender message cap holds for the bot too."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import Engine

from store import inbox
from tests.telegram import updates as u
from tests.telegram.conftest import STRANGER, launch, seed
from tests.telegram.fake_bot_api import BotApiState

CAP = 5
FLOOD = 12


def test_a_flood_of_commands_is_answered_up_to_the_message_cap(
        tmp_path: Path, database_url: str, engine: Engine,
        bot_api: tuple[BotApiState, str]) -> None:
    seed(engine)
    desk = launch(tmp_path, database_url, engine, bot_api,
                  GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR=str(CAP))
    desk.start()
    try:
        for _ in range(FLOOD):
            desk.send(u.message(STRANGER, "/help"))
        desk.settle()
        outcomes = Counter((row.status, row.reason) for row in inbox.rows(engine)
                           if row.channel == "telegram")
        assert outcomes == {("done", "command-help"): CAP,
                            ("refused", "rate-limit: rate-limited"): FLOOD - CAP}
        assert len(desk.api.sent(chat_id=STRANGER)) == CAP  # held without an answer
    finally:
        desk.close()
