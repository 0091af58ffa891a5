"""A member's mail to their closed ticket: a rating, only thanks, a reopening, or a new ticket
that follows it (CONTRACT §10), through gateway.service.handle_inbound with the fakes."""

from __future__ import annotations

import pytest

from gateway.followup import follow_up
from gateway.messages import OutboundMessage
from gateway.people import Author
from gateway.tickets import Satisfaction, Status

from .fakes import ALICE, ANNA, World, attachment

TITLE = "Nederlands - Kan bestelling niet verwerken"


def kinds(messages: list[OutboundMessage]) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in messages]


def closed(world: World, how: str = "agent") -> OutboundMessage:
    """Alice's ticket TI-1, closed by an agent (or by Alice): the closing notice."""
    world.send(ALICE.email, TITLE, "De bestelling blijft hangen.")
    ack, note = world.take()
    if how == "agent":
        world.send(ANNA.email, f"Re: {note.subject}", "/close\nOpgelost.",
                   recipients=(note.reply_to,))
    else:
        world.send(ALICE.email, f"Re: {ack.subject}", "/close", recipients=(ack.reply_to,))
    [notice] = [m for m in world.take() if m.kind == "ticket_closed"]
    return notice


def reply(world: World, notice: OutboundMessage, text: str, **fields: object) -> None:
    world.send(ALICE.email, f"Re: {notice.subject}", text, recipients=(notice.reply_to,),
               **fields)


@pytest.mark.parametrize("how", ["agent", "member"])
def test_the_closing_notice_asks_for_a_rating(world: World, how: str) -> None:
    notice = closed(world, how)
    assert world.reply(notice).data["ask_rating"] is True
    assert not any(r.startswith("button:") for r in notice.references)  # email: no buttons
    world.send(ALICE.email, f"Re: {notice.subject}", "/close", recipients=(notice.reply_to,))
    [again] = world.take()
    assert (again.kind, world.reply(again).data["ask_rating"]) == ("ticket_closed", False)


def test_the_automatic_close_asks_too(world: World) -> None:
    world.send(ALICE.email, TITLE, "De bestelling blijft hangen.")
    _, note = world.take()
    world.send(ANNA.email, "Re: x", "/feedback\nWelke browser?", recipients=(note.reply_to,))
    world.take()
    world.clock.advance(days=3)
    follow_up(world.uow, world.desk, world.clock.now())  # the reminder
    world.clock.advance(days=11)
    follow_up(world.uow, world.desk, world.clock.now())
    [notice] = [m for m in world.take() if m.kind == "ticket_closed"]
    data = world.reply(notice).data
    assert (data["closed_by"], data["ask_rating"]) == ("auto", True)


def test_a_rating_is_kept_thanked_once_and_told_to_the_agents(world: World) -> None:
    notice = closed(world)
    world.clock.advance(days=7)
    outcome = world.send(ALICE.email, f"Re: {notice.subject}", "5 - snel en duidelijk",
                         recipients=(notice.reply_to,))
    assert (outcome.accepted, outcome.reason, outcome.ticket_ref) == (True, "rated", "TI-1")
    ticket = world.ticket(1)
    assert ticket.status is Status.CLOSED
    assert ticket.satisfaction == Satisfaction(5, "snel en duidelijk", world.clock.now())
    assert (world.entries(1)[-1].author_kind, world.entries(1)[-1].text) == (
        Author.MEMBER, "5 - snel en duidelijk")
    sent = world.take()
    assert kinds(sent) == [(ALICE.email, "rating_thanks"), (ANNA.email, "agent_ticket_rated")]
    assert world.reply(sent[0]).language == "nl"
    assert world.reply(sent[1]).data["score"] == 5
    assert world.reply(sent[1]).data["comment"] == "snel en duidelijk"

    reply(world, notice, "2\nHet werkt toch niet goed.")  # a change of mind: no second thanks
    assert world.ticket(1).satisfaction == Satisfaction(2, "Het werkt toch niet goed.",
                                                        world.clock.now())
    assert world.ticket(1).status is Status.CLOSED
    assert kinds(world.take()) == [(ANNA.email, "agent_ticket_rated")]


def test_a_number_after_satisfaction_days_is_a_reply_that_reopens(world: World) -> None:
    notice = closed(world)
    world.clock.advance(days=7, seconds=1)
    reply(world, notice, "5")
    ticket = world.ticket(1)
    assert (ticket.status, ticket.satisfaction) == (Status.OPEN, None)
    assert (ALICE.email, "ticket_reopened") in kinds(world.take())


def test_a_number_in_the_text_is_a_reply_that_reopens(world: World) -> None:
    notice = closed(world)
    reply(world, notice, "50 orders failed again")
    assert world.ticket(1).status is Status.OPEN
    assert world.ticket(1).satisfaction is None


@pytest.mark.parametrize("days", [0, 30])
def test_thanks_is_kept_and_nothing_else_happens(world: World, days: int) -> None:
    notice = closed(world)
    world.clock.advance(days=days)
    outcome = world.send(ALICE.email, f"Re: {notice.subject}", "Dank je wel! 🙏\nAlice",
                         recipients=(notice.reply_to,))
    assert (outcome.accepted, outcome.reason, outcome.ticket_ref) == (True, "thanks", "TI-1")
    assert world.ticket(1).status is Status.CLOSED
    assert world.entries(1)[-1].text == "Dank je wel! 🙏\nAlice"
    assert world.take() == []
    assert [t.number for t in world.uow.tickets.all()] == [1]


def test_thanks_with_a_file_is_a_reply(world: World) -> None:
    notice = closed(world)
    reply(world, notice, "Bedankt!", attachments=(attachment(),))
    assert world.ticket(1).status is Status.OPEN


def test_a_reply_within_reopen_days_reopens(world: World) -> None:
    notice = closed(world)
    world.clock.advance(days=14)
    reply(world, notice, "Het is terug.")
    assert world.ticket(1).status is Status.OPEN
    assert kinds(world.take()) == [(ALICE.email, "ticket_reopened"),
                                   (ANNA.email, "agent_member_reply")]


def test_a_reply_after_reopen_days_opens_a_ticket_that_follows(world: World) -> None:
    notice = closed(world)
    world.clock.advance(days=14, seconds=1)
    outcome = world.send(ALICE.email, "Re: iets anders", "Het is terug.",
                         recipients=(notice.reply_to,))
    assert (outcome.accepted, outcome.ticket_ref) == (True, "TI-2")
    old, new = world.ticket(1), world.ticket(2)
    assert old.status is Status.CLOSED
    assert (new.title, new.language, new.follows, new.status) == (TITLE, "nl", 1, Status.OPEN)
    assert [e.text for e in world.entries(2)] == ["Het is terug."]
    ack, note = world.take()
    assert (ack.recipient, ack.kind, ack.ticket_ref) == (ALICE.email, "follow_up_opened", "TI-2")
    assert world.reply(ack).data["follows"] == "TI-1"
    assert world.reply(ack).data["ref"] == "TI-2"
    assert (note.recipient, note.kind) == (ANNA.email, "agent_new_ticket")
    assert world.reply(note).data["follows"] == "TI-1"


def test_a_new_ticket_follows_nothing(world: World) -> None:
    world.send(ALICE.email, TITLE, "De bestelling blijft hangen.")
    ack, note = world.take()
    assert (ack.kind, world.reply(note).data["follows"]) == ("ticket_opened", "")
    assert world.ticket(1).follows is None


def test_the_time_limits_are_settings() -> None:
    world = World(satisfaction_days=1, reopen_days=2)
    notice = closed(world)
    world.clock.advance(days=1, seconds=1)
    reply(world, notice, "4")  # too late to rate, in time to reopen
    assert (world.ticket(1).status, world.ticket(1).satisfaction) == (Status.OPEN, None)


def test_two_days_after_a_two_day_limit_a_reply_follows() -> None:
    world = World(reopen_days=2)
    notice = closed(world)
    world.clock.advance(days=2, seconds=1)
    reply(world, notice, "Nog steeds kapot.")
    assert world.ticket(1).status is Status.CLOSED
    assert world.ticket(2).follows == 1
