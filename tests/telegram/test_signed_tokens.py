"""Chat keys and deep-link tokens share the core's token signer: key ids, expiry, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.telegram.chat import CHAT_KEY_DAYS, chat_key, chat_of_key
from adapters.telegram.link import issue_token
from gateway.tokens import Signer, key_id
from tests.telegram import updates as u
from tests.telegram.conftest import TelegramDesk

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
AGENT = "emma@example.org"


def test_a_chat_key_signed_with_an_old_secret_still_verifies_after_rotation() -> None:
    key = chat_key(Signer("old-secret"), 12, AGENT, NOW)
    assert key_id("old-secret") in key
    assert chat_of_key(Signer("new-secret", ("old-secret",)), key, AGENT, NOW) == 12
    assert chat_of_key(Signer("new-secret"), key, AGENT, NOW) is None  # the old secret dropped


def test_a_chat_key_expires() -> None:
    signer = Signer("secret")
    key = chat_key(signer, 12, AGENT, NOW)
    last_day = NOW + timedelta(days=CHAT_KEY_DAYS)
    assert chat_of_key(signer, key, AGENT, last_day) == 12
    assert chat_of_key(signer, key, AGENT, last_day + timedelta(days=1)) is None


def test_a_chat_key_is_refused_for_another_agent_or_when_tampered() -> None:
    signer = Signer("secret")
    key = chat_key(signer, 12, AGENT, NOW)
    assert chat_of_key(signer, key, "other@example.org", NOW) is None
    assert chat_of_key(signer, key.replace("c12.", "c13.", 1), AGENT, NOW) is None
    assert chat_of_key(signer, "c12." + "a" * 26, AGENT, NOW) is None  # the form without key id


def test_a_deep_link_token_carries_the_key_id_and_a_forged_seal_is_refused(desk: TelegramDesk) -> None:
    token = issue_token(desk.engine, "tg-secret", "1002", datetime.now(UTC), 72)
    assert len(token) <= 64 and token[16:18] == key_id("tg-secret")
    forged = issue_token(desk.engine, "not-the-secret", "1002", datetime.now(UTC), 72)
    desk.send(u.message(505, f"/start {forged}"))
    desk.said(505, "not valid")
    desk.send(u.message(505, f"/start {token}"))
    desk.said(505, "Bo Jensen")
