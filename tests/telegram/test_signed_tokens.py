"""Chat keys and deep-link tokens share the core's token signer: key ids, expiry, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.replykeys import CHAT_KEY_DAYS
from gateway.tokens import key_id
from tests.telegram import updates as u
from tests.telegram.conftest import TelegramDesk, issue_token
from tests.unit.fakes import reply_keys

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
AGENT = "emma@example.org"


def test_a_chat_key_signed_with_an_old_secret_still_verifies_after_rotation() -> None:
    key = reply_keys("old-secret").chat_key(12, AGENT, NOW)
    assert key_id("old-secret") in key
    assert reply_keys("new-secret", ("old-secret",)).verify_chat(key, AGENT, NOW) == 12
    assert reply_keys("new-secret").verify_chat(key, AGENT, NOW) is None  # the old secret dropped


def test_a_chat_key_expires() -> None:
    keys = reply_keys("secret")
    key = keys.chat_key(12, AGENT, NOW)
    last_day = NOW + timedelta(days=CHAT_KEY_DAYS)
    assert keys.verify_chat(key, AGENT, last_day) == 12
    assert keys.verify_chat(key, AGENT, last_day + timedelta(days=1)) is None


def test_a_chat_key_is_bound_to_the_agent_and_refused_when_tampered() -> None:
    keys = reply_keys("secret")
    key = keys.chat_key(12, AGENT, NOW)
    assert key.startswith("c12.") and key == keys.chat_key(12, AGENT.upper(), NOW)
    assert keys.verify_chat(key, "other@example.org", NOW) is None
    assert keys.verify_chat(key.replace("c12.", "c13.", 1), AGENT, NOW) is None
    assert keys.verify_chat("c12." + "a" * 26, AGENT, NOW) is None  # the form without key id
    assert reply_keys("other-secret").verify_chat(key, AGENT, NOW) is None


def test_a_deep_link_token_carries_the_key_id_and_a_forged_seal_is_refused(desk: TelegramDesk) -> None:
    token = issue_token(desk.engine, "tg-secret", "1002", datetime.now(UTC), 72)
    assert len(token) <= 64 and token[16:18] == key_id("tg-secret")
    forged = issue_token(desk.engine, "not-the-secret", "1002", datetime.now(UTC), 72)
    desk.send(u.message(505, f"/start {forged}"))
    desk.said(505, "not valid")
    desk.send(u.message(505, f"/start {token}"))
    desk.said(505, "Bo Jensen")
