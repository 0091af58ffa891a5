"""Telegram: the closing notice's five rating buttons, and replies to a closed ticket."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from gateway.buttons import rating_buttons
from gateway.messages import BotInput, Channel, InboundMessage, OutboundMessage, UpdateKind
from gateway.people import Member
from gateway.replies import Kind
from gateway.replykeys import Role, address_with_key
from gateway.service import Outcome
from gateway.tickets import Satisfaction, Status

from .fakes import ALICE, ANNA, SUPPORT, World

USER, OTHER = 5001, 5002
_ids = itertools.count(1)


def say(world: World, user: int, text: str = "", **bot: Any) -> Outcome:
    word = text.split(" ")[0]
    command = word[1:] if word.startswith("/") else ""
    references = bot.pop("references", ())
    return world.handle(InboundMessage(
        channel=Channel.TELEGRAM, external_id=f"tg:{next(_ids)}", sender=str(user), subject="",
        text=text, full_text=text, received_at=world.clock.now(), references=references,
        bot=BotInput(chat_id=user, command=command, **bot)))


def press(world: World, user: int, data: str) -> Outcome:
    return say(world, user, kind=UpdateKind.BUTTON, button=data, button_id=f"cb{next(_ids)}")


def messages(world: World) -> list[OutboundMessage]:
    """What was sent since, without Telegram's answers to pressed buttons."""
    return [m for m in world.take() if m.kind != Kind.TG_CALLBACK_ANSWER]


@pytest.fixture
def notice(world: World) -> OutboundMessage:
    """Alice (linked) opened TI-1 on Telegram; an agent closed it: the closing notice."""
    world.uow.members.add(dataclasses.replace(ALICE, telegram_user_id=USER))
    for text in ("/new", "Nederlands - Kan niet inloggen", "Het wachtwoord werkt niet.",
                 "/done", "/confirm"):
        say(world, USER, text)
    world.take()
    key = world.desk.keys.sign(1, Role.AGENT, ANNA.email, world.clock.now())
    world.send(ANNA.email, "Re: [TI-1]", "/close\nOpgelost.",
               recipients=(address_with_key(SUPPORT, key),))
    [closing] = [m for m in world.take() if m.kind == "ticket_closed"]
    return closing


def test_the_closing_notice_has_five_rating_buttons(world: World,
                                                    notice: OutboundMessage) -> None:
    assert (notice.channel, notice.recipient) == (Channel.TELEGRAM, str(USER))
    assert rating_buttons("TI-1") in notice.references
    assert world.reply(notice).data["ask_rating"] is True


def test_a_pressed_button_rates_once_and_thanks_once(world: World,
                                                     notice: OutboundMessage) -> None:
    outcome = press(world, USER, "r:TI-1:5")
    assert (outcome.accepted, outcome.reason) == (True, "rated")
    assert world.ticket(1).satisfaction == Satisfaction(5, "", world.clock.now())
    assert world.ticket(1).status is Status.CLOSED
    assert [(m.recipient, m.kind) for m in messages(world)] == [
        (str(USER), "rating_thanks"), (ANNA.email, "agent_ticket_rated")]
    press(world, USER, "r:TI-1:4")
    assert world.ticket(1).satisfaction == Satisfaction(4, "", world.clock.now())
    assert [m.kind for m in messages(world)] == ["agent_ticket_rated"]


def test_a_reply_to_the_notice_rates_with_a_comment(world: World,
                                                    notice: OutboundMessage) -> None:
    say(world, USER, "4 - snel", references=(notice.message_id,))
    assert world.ticket(1).satisfaction == Satisfaction(4, "snel", world.clock.now())
    say(world, USER, "Bedankt!", references=(notice.message_id,))
    assert world.ticket(1).status is Status.CLOSED
    assert [m.kind for m in messages(world)] == ["rating_thanks", "agent_ticket_rated"]
    assert world.entries(1)[-1].text == "Bedankt!"


def test_a_reply_after_reopen_days_opens_a_ticket_that_follows(
        world: World, notice: OutboundMessage) -> None:
    world.clock.advance(days=15)
    outcome = say(world, USER, "Het werkt weer niet.", references=(notice.message_id,))
    assert outcome.ticket_ref == "TI-2"
    assert (world.ticket(2).follows, world.ticket(2).channel) == (1, Channel.TELEGRAM)
    assert [(m.recipient, m.kind) for m in messages(world)] == [
        (str(USER), "follow_up_opened"), (ANNA.email, "agent_new_ticket")]


def test_buttons_are_authorized_and_late_ones_do_nothing(world: World,
                                                         notice: OutboundMessage) -> None:
    world.uow.members.add(Member("M009", "Zoe", "zoe@members.example", "Gold", "nl",
                                 telegram_user_id=OTHER))
    assert press(world, OTHER, "r:TI-1:1").reason == "callback-refused"
    assert press(world, 7007, "r:TI-1:1").reason == "callback-refused"  # not linked
    assert press(world, USER, "r:TI-9:1").reason == "callback-refused"
    assert press(world, USER, "r:TI-1:9").reason == "rating-too-late"
    world.clock.advance(days=7, seconds=1)
    assert press(world, USER, "r:TI-1:5").reason == "rating-too-late"
    assert world.ticket(1).satisfaction is None
    assert messages(world) == []
