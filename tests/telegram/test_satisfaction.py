"""CONTRACT §10 "Satisfaction" and "Closed tickets" in Telegram: the closing notice's five
buttons, a reply to it with a number, thanks, and a late reply that opens a new ticket."""

from __future__ import annotations

from typing import Any

import pytest

from store import admin
from tests.telegram import updates as u
from tests.telegram.conftest import ANNA, TelegramDesk
from tests.telegram.test_bot import open_ticket

AGENT = "agent.nl@example.org"


def flat(text: str) -> str:
    return " ".join(text.split())


def closed_by_an_agent(desk: TelegramDesk) -> dict[str, Any]:
    """Anna's ticket TI-1, opened in Telegram and closed by the agent: the closing notice."""
    assert open_ticket(desk) == "TI-1"
    notice = desk.mail_to(AGENT)
    desk.mail(AGENT, notice["Reply-To"], "/close\nOpgelost in de nieuwe versie.")
    return desk.said(ANNA, "Opgelost in de nieuwe versie", "1 (slecht)")


def rating(desk: TelegramDesk) -> tuple[int, str]:
    """TI-1's score and comment; it stays closed."""
    ticket = admin.show_ticket(desk.engine, 1)
    assert ticket is not None and ticket["status"] == "closed"
    return ticket["satisfaction"]["score"], ticket["satisfaction"]["comment"]


def test_five_buttons_rate_and_a_reply_with_a_number_rates_again(desk: TelegramDesk) -> None:
    closing = closed_by_an_agent(desk)
    [row] = closing["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for b in row] == [
        (str(n), f"r:TI-1:{n}") for n in range(1, 6)]

    desk.send(u.callback(ANNA, "r:TI-1:5", message_id=closing["message_id"]))
    desk.said(ANNA, "5 van de 5")
    assert "rated the help on ticket TI-1: 5 out of 5" in flat(desk.mail_to(AGENT).get_content())
    assert rating(desk) == (5, "")

    desk.send(u.message(ANNA, "3 - het duurde lang", reply_to=closing["message_id"]))
    told = desk.mail_to(AGENT)
    assert "3 out of 5" in flat(told.get_content()) and "het duurde lang" in told.get_content()
    desk.settle()
    assert len([p for p in desk.api.sent(chat_id=ANNA) if "van de 5" in p["text"]]) == 1
    assert rating(desk) == (3, "het duurde lang")
    assert len(desk.api.sent("answerCallbackQuery")) == 1


def test_thanks_is_kept_and_not_answered(desk: TelegramDesk) -> None:
    closing = closed_by_an_agent(desk)
    desk.settle()
    before = len(desk.api.sent(chat_id=ANNA))
    desk.send(u.message(ANNA, "Bedankt! 👍", reply_to=closing["message_id"]))
    desk.settle()
    assert len(desk.api.sent(chat_id=ANNA)) == before
    ticket = admin.show_ticket(desk.engine, 1)
    assert ticket is not None
    assert (ticket["status"], ticket["messages"][-1]["text"]) == ("closed", "Bedankt! 👍")


@pytest.mark.settings(GATEWAY_POLICY__REOPEN_DAYS="0")
def test_a_late_reply_opens_a_ticket_that_follows(desk: TelegramDesk) -> None:
    closing = closed_by_an_agent(desk)
    desk.send(u.message(ANNA, "Het werkt weer niet.", reply_to=closing["message_id"]))
    ack = desk.said(ANNA, "[TI-2]")
    assert "vervolg op TI-1" in flat(ack["text"])
    notice = desk.mail_to(AGENT)
    assert "[TI-2]" in notice["Subject"] and "It follows TI-1" in notice.get_content()
    new = admin.show_ticket(desk.engine, 2)
    assert new is not None
    assert (new["follows"], new["channel"], new["language"]) == ("TI-1", "telegram", "nl")
