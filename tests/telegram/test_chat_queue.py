"""The live chat through the running gateway (CONTRACT §10): a waiting member is told their new
place when the chat ahead is taken, an idle chat ends with a notice to both sides, and /chat
out of hours names the next English window and suggests /new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from gateway.hours import make_window, next_window
from store.tables_telegram import TelegramChatRow, TelegramConversationRow
from tests.support.waiting import wait_until
from tests.telegram import updates as u
from tests.telegram.conftest import STRANGER, TelegramDesk

AGENT = "agent.en@example.org"
SECOND = 504
DUTCH = 506

# An English window that opens in three hours: the desk is closed for the chat now.
_OPENS = (datetime.now(UTC) + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
_CLOSES = _OPENS + timedelta(hours=1)
LATER = {"days": "Mon-Sun", "start": f"{_OPENS:%H:%M}", "end": f"{_CLOSES:%H:%M}",
         "timezone": "UTC", "languages": ["en"]}


def queue(desk: TelegramDesk, user: int, name: str) -> EmailMessage:
    """Fill the chat form and wait for the queued answer; the agents' first mail about it."""
    desk.send(u.message(user, "/chat"))
    desk.said(user, "name")
    for text in (name, "/skip", f"{name.lower()}@example.net",
                 "My password reset email never arrives, what should I do?"):
        desk.send(u.message(user, text))
    desk.said(user, "queue")
    return desk.mail_to(AGENT)


def chat_status(desk: TelegramDesk, user: int) -> str:
    with Session(desk.engine) as session:
        row = session.exec(select(TelegramChatRow).where(
            TelegramChatRow.telegram_user_id == user)).one()
        return row.status


def test_a_waiting_member_is_told_number_1_when_the_chat_ahead_is_taken(
        desk: TelegramDesk) -> None:
    first = queue(desk, STRANGER, "Bo")
    queue(desk, SECOND, "Jan")
    desk.said(SECOND, "number 2")
    desk.mail(AGENT, first["Reply-To"], "Hello Bo, let me look into it.")
    desk.said(STRANGER, "let me look into it")
    moved = desk.said(SECOND, "number 1")
    assert "queue has moved" in moved["text"]
    desk.settle()
    told = [p["text"] for p in desk.api.sent("sendMessage", SECOND) if "number 1" in p["text"]]
    assert len(told) == 1


@pytest.mark.settings(GATEWAY_TELEGRAM__CHAT_IDLE_MINUTES="0.05")
def test_a_chat_nobody_writes_in_ends_with_a_notice_to_both(desk: TelegramDesk) -> None:
    queue(desk, STRANGER, "Bo")
    # The scheduler's chat pass (every 15 s) ends it once 3 s went by without a line.
    notice = desk.said(STRANGER, "ended", "nobody wrote", "/chat", "/new", timeout=30)
    assert "0.05 minutes" in notice["text"]
    ended = desk.mail_to(AGENT, timeout=20)
    assert ended["Subject"].startswith("[CHAT-") and "nobody wrote" in ended["Subject"]
    assert "nobody wrote in it for 0.05 minutes" in ended.get_content()
    assert "not linked: says name Bo" in ended.get_content()
    wait_until(lambda: chat_status(desk, STRANGER) == "ended", 15, "the chat ended", desk.log)
    desk.send(u.message(STRANGER, "/end"))
    desk.said(STRANGER, "no open chat")


@pytest.mark.settings(GATEWAY_HOURS__WINDOWS=json.dumps([LATER]))
def test_chat_out_of_hours_names_the_next_english_window_and_suggests_new(
        desk: TelegramDesk) -> None:
    window = next_window([make_window("Mon-Sun", f"{_OPENS:%H:%M}", f"{_CLOSES:%H:%M}", "UTC",
                                      ["en"])], "en", datetime.now(UTC))
    assert window == (_OPENS, _CLOSES)
    hours = f"{_OPENS:%H:%M}–{_CLOSES:%H:%M} GMT"
    for user, language, words in ((STRANGER, "en", ("closed", f"{_OPENS:%A} {_OPENS.day}")),
                                  (DUTCH, "nl", ("gesloten",))):
        desk.send(u.message(user, "/chat", language=language))
        desk.said(user, *words, hours, "/new")
    desk.settle()
    with Session(desk.engine) as session:  # no chat form was started
        assert session.get(TelegramConversationRow, STRANGER) is None
    desk.no_reply_to(AGENT)
