"""The live chat tells agents what is verified, never mails a claimed address, and batches lines;
link codes are capped per member whichever Telegram accounts ask."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlmodel import Session, select

from adapters.clock import UtcClock
from adapters.runtime import make_desk
from adapters.telegram.chat import tend_chats
from config.settings import load_settings
from store import outbox
from store.blobs import BlobStore
from store.tables_telegram import TelegramChatRow
from tests.support.waiting import wait_until
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, STRANGER, TelegramDesk

AGENT = "agent.en@example.org"
QUESTION = "My password reset email never arrives, what should I do?"


def open_chat(desk: TelegramDesk, user: int, name: str, member_id: str, email: str) -> EmailMessage:
    desk.send(u.message(user, "/chat"))
    desk.said(user, "?")  # the form's first question, in the user's language
    for text in (name, member_id, email, QUESTION):
        desk.send(u.message(user, text))
    desk.said(user, "/end")  # queued: "send /end to leave the chat"
    return desk.mail_to(AGENT)


def mails_to(desk: TelegramDesk, recipient: str, wait: float = 3.0) -> list[EmailMessage]:
    found = []
    while True:
        try:
            found.append(desk.mail_to(recipient, timeout=wait))
        except AssertionError:
            return found


def chat_lines(mail: EmailMessage) -> list[str]:
    return [line.strip() for line in
            re.findall(r"^\[\d\d:\d\d:\d\d GMT\] (.*)$", mail.get_content(), re.M)]


def test_an_unlinked_chat_shows_what_was_typed_as_claims(desk: TelegramDesk) -> None:
    request = open_chat(desk, STRANGER, "Anna de Vries", "1001", "anna@example.net")
    text = request.get_content()
    assert "Who: not linked: says name Anna de Vries, member 1001, anna@example.net" in text
    assert "linked Telegram account" not in text
    assert "none of it checked" in " ".join(text.split())
    assert "not linked" in request["Subject"]
    desk.send(u.message(STRANGER, "/end"))
    ended = desk.mail_to(AGENT)
    assert "not linked: says name Anna de Vries" in ended.get_content()


def test_a_linked_members_chat_shows_the_verified_identity(desk: TelegramDesk) -> None:
    request = open_chat(desk, ANNA, "Someone Else", "9999", "someone@example.net")
    text = request.get_content()
    assert "Who: member 1001 Anna de Vries (linked Telegram account)" in text
    assert "Someone Else" not in text and "9999" not in text and "not linked" not in text
    assert "Anna de Vries (member 1001)" in request["Subject"]


def test_a_blocked_bot_never_mails_the_address_typed_in_the_chat_form(desk: TelegramDesk) -> None:
    request = open_chat(desk, STRANGER, "Bo Jensen", "1002", "victim@example.net")
    desk.api.blocked.add(STRANGER)
    desk.mail(AGENT, request["Reply-To"], "Please check your spam folder.")
    wait_until(lambda: [r for r in outbox.rows(desk.engine, "failed") if r.channel == "telegram"],
               15, "the answer tried in Telegram", desk.log)
    wait_until(lambda: "telegram blocked:" in desk.log(), 15, "the fallback's decision", desk.log)
    desk.no_reply_to("victim@example.net")
    assert not [r for r in outbox.rows(desk.engine) if r.recipient == "victim@example.net"]


def test_a_blocked_linked_member_gets_the_chat_answer_at_the_registered_address(
        desk: TelegramDesk) -> None:
    request = open_chat(desk, ANNA, "Anna", "1001", "other@example.net")
    desk.api.blocked.add(ANNA)
    desk.mail(AGENT, request["Reply-To"], "Please check your spam folder.")
    assert "spam folder" in desk.mail_to("anna@example.net").get_content()
    desk.no_reply_to("other@example.net")


# Every update counts toward the sender's hourly message cap: 31 here, over the default 20.
@pytest.mark.settings(GATEWAY_POLICY__MAX_MESSAGES_PER_HOUR="100")
def test_25_quick_lines_make_at_most_3_agent_mails_with_every_line_in_order(
        desk: TelegramDesk) -> None:
    open_chat(desk, STRANGER, "Bo", "/skip", "bo@example.net")
    sent = [f"line {n:02d}" for n in range(1, 26)]
    for text in sent:
        desk.send(u.message(STRANGER, text))
    desk.wait_inbox(30)  # /chat, 4 form steps, 25 lines
    desk.send(u.message(STRANGER, "/end"))  # the member leaves: what is left goes with the end
    desk.said(STRANGER, "ended")
    mails = mails_to(desk, AGENT)
    # .eml files of one second sort by hash: order the batches by their first line
    batches = sorted(chat_lines(m) for m in mails if "New in the live chat" in m.get_content())
    assert [m for m in mails if "Live chat ended" in m["Subject"]]
    assert len(batches) <= 3
    assert [line for batch in batches for line in batch] == sent


def window_passes(desk: TelegramDesk) -> None:
    """As if BATCH_WINDOW went by since the chat's last agent mail, with nobody writing."""
    with Session(desk.engine) as session:
        for chat in session.exec(select(TelegramChatRow)):
            chat.mailed_at = UtcClock().now() - timedelta(seconds=61)
            session.add(chat)
        session.commit()


def test_a_scheduler_pass_mails_lines_left_waiting(
        desk: TelegramDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    open_chat(desk, STRANGER, "Bo", "/skip", "bo@example.net")
    for text in ("first", "second", "third"):
        desk.send(u.message(STRANGER, text))
    desk.wait_inbox(8)
    assert mails_to(desk, AGENT, wait=2) == []  # within the window: they wait for the batch
    for key, value in desk.env.items():
        if key.startswith("GATEWAY_"):
            monkeypatch.setenv(key, value)
    settings = load_settings()
    blobs = BlobStore(settings.data_dir / "blobs")
    assert tend_chats(desk.engine, blobs, make_desk(settings), UtcClock().now()) == 0
    window_passes(desk)
    assert tend_chats(desk.engine, blobs, make_desk(settings), UtcClock().now()) == 1
    batch = desk.mail_to(AGENT)
    assert chat_lines(batch) == ["first", "second", "third"]
    desk.send(u.message(STRANGER, "fourth"))
    desk.wait_inbox(9)
    window_passes(desk)
    desk.send(u.message(ANNA, "/help"))  # any update's transaction also mails overdue lines
    assert chat_lines(desk.mail_to(AGENT)) == ["fourth"]
    desk.mail(AGENT, batch["Reply-To"], "Which browser do you use?")  # the chat key still works
    desk.said(STRANGER, "Which browser")


def test_12_telegram_accounts_get_at_most_3_codes_mailed_to_one_member(desk: TelegramDesk) -> None:
    users = list(range(601, 613))
    for user in users:
        desk.send(u.message(user, "/link"))
        desk.send(u.message(user, "bo@example.net"))
    desk.send(u.message(700, "/link"))
    desk.send(u.message(700, "nobody@example.net"))
    answers = {desk.said(user, "6-digit")["text"] for user in [*users, 700]}
    assert len(answers) == 1  # no oracle: capped, mailed and unknown read the same
    desk.wait_inbox(26)
    codes = [r for r in outbox.rows(desk.engine) if r.kind == "link_code"]
    assert len(codes) == 3 and {r.recipient for r in codes} == {"bo@example.net"}
    assert len(mails_to(desk, "bo@example.net")) == 3
