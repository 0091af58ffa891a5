"""End to end through gateway.service.handle_inbound, with the fakes."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway.messages import AttachmentRef, Channel, InboundMessage, OutboundMessage
from gateway.people import Agent, Author, Member
from gateway.replykeys import ReplyKey, Role
from gateway.service import Outcome
from gateway.tickets import Status, Ticket

from .fakes import (
    ALICE,
    ANNA,
    BOB,
    CAROL,
    DEFAULT_AGENTS,
    ERIC,
    NOW,
    SUPPORT,
    FakeDetector,
    World,
    attachment,
)

TITLE = "Nederlands - Kan bestelling niet verwerken"
REPLY_TO = re.compile(r"^support\+([0-9a-z.]+)@example\.org$")


def only(messages: list[OutboundMessage], recipient: str) -> OutboundMessage:
    mine = [m for m in messages if m.recipient == recipient]
    assert len(mine) == 1, [(m.recipient, m.kind) for m in messages]
    return mine[0]


def kinds(messages: list[OutboundMessage]) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in messages]


def key_of(message: OutboundMessage) -> str:
    assert message.reply_to is not None
    match = REPLY_TO.match(message.reply_to)
    assert match, message.reply_to
    return match.group(1)


def open_ticket(world: World, member: Member = ALICE, title: str = TITLE,
                text: str = "De bestelling blijft hangen.", **fields: object
                ) -> tuple[Outcome, list[OutboundMessage]]:
    outcome = world.send(member.email, title, text, **fields)
    return outcome, world.take()


def agent_says(world: World, notification: OutboundMessage, text: str,
               sender: str | None = None) -> tuple[Outcome, list[OutboundMessage]]:
    """The agent answers a notification through its signed Reply-To."""
    assert notification.reply_to is not None
    outcome = world.send(sender or notification.recipient, f"Re: {notification.subject}", text,
                         recipients=(notification.reply_to,),
                         references=(notification.message_id,))
    return outcome, world.take()


# Opening a ticket

def test_new_ticket(world: World) -> None:
    png = attachment()
    outcome, sent = open_ticket(world, attachments=(png,))
    assert outcome == Outcome(True, "ok", ticket_ref="TI-1", sent=2)

    ticket = world.ticket(1)
    assert (ticket.status, ticket.language, ticket.title) == (Status.OPEN, "nl", TITLE)
    assert (ticket.member_id, ticket.channel, ticket.opened_at) == ("M001", Channel.EMAIL, NOW)
    assert ticket.closed_at is None
    [entry] = world.entries(1)
    assert (entry.author_kind, entry.author, entry.internal) == (Author.MEMBER, "M001", False)
    assert entry.text == "De bestelling blijft hangen."
    assert entry.attachments == (png,)

    assert kinds(sent) == [(ALICE.email, "ticket_opened"), (ANNA.email, "agent_new_ticket")]
    ack = only(sent, ALICE.email)
    assert ack.auto
    assert ack.channel is Channel.EMAIL
    assert "[TI-1]" in ack.subject
    assert ack.ticket_ref == "TI-1"
    assert world.desk.keys.verify(key_of(ack), ALICE.email, NOW) == ReplyKey(
        1, Role.MEMBER, ALICE.email)
    assert ack.references[0] == "ti-1.thread@example.org"
    inbound_id = world.entries(1)[0].external_id
    assert ack.in_reply_to == inbound_id
    assert inbound_id in ack.references
    assert ack.message_id.endswith("@example.org")
    reply = world.reply(ack)
    assert reply.language == "nl"
    assert reply.data["member_name"] == "Alice"
    # Monday 10:00 UTC: Dutch is next looked at in the 13:00-21:00 window.
    assert reply.data["window_start"] == datetime(2026, 12, 7, 13, tzinfo=UTC)
    assert reply.data["window_end"] == datetime(2026, 12, 7, 21, tzinfo=UTC)

    note = only(sent, ANNA.email)
    assert note.auto  # stamped automatic, so agents' out-of-office replies stay away
    assert note.attachments == (AttachmentRef("screen.png", "image/png", png.digest),)
    assert world.desk.keys.verify(key_of(note), ANNA.email, NOW) == ReplyKey(
        1, Role.AGENT, ANNA.email)
    data = world.reply(note).data
    assert (data["member_name"], data["member_id"], data["rank"]) == ("Alice", "M001", "Gold")
    assert data["attachments"] == ["screen.png"]
    assert data["detected_language"] is None  # the text is Dutch, as the title says


def test_english_ticket_is_in_the_current_window(world: World) -> None:
    _, sent = open_ticket(world, title="English - Cannot log in", text="My order is stuck")
    assert kinds(sent) == [(ALICE.email, "ticket_opened"), (ERIC.email, "agent_new_ticket")]
    reply = world.reply(sent[0])
    assert reply.language == "en"
    assert reply.data["window_start"] == datetime(2026, 12, 7, 6, tzinfo=UTC)


def test_agents_fall_back_to_the_default_address(world: World) -> None:
    _, sent = open_ticket(world, title="Suomi - Tilausta ei voi käsitellä")
    assert kinds(sent) == [(ALICE.email, "ticket_opened"), (DEFAULT_AGENTS, "agent_new_ticket")]
    assert world.ticket(1).language == "fi"
    assert world.desk.keys.verify(key_of(sent[1]), DEFAULT_AGENTS, NOW) is not None


def test_language_mismatch_is_flagged_to_agents_not_refused(world: World) -> None:
    outcome, sent = open_ticket(world, text="Je ne peux pas valider ma commande")
    assert outcome.accepted
    assert world.reply(only(sent, ANNA.email)).data["detected_language"] == "fr"


def test_title_without_language_is_refused_and_nothing_stored(world: World) -> None:
    outcome, sent = open_ticket(world, title="Kan bestelling niet verwerken")
    assert (outcome.accepted, outcome.rule) == (False, "title-language")
    assert world.uow.tickets.all() == []
    assert kinds(sent) == [(ALICE.email, "refusal_title_language")]
    assert world.reply(sent[0]).data["example"].startswith("Nederlands - ")


def test_unknown_sender_is_refused_and_nothing_stored(world: World) -> None:
    outcome = world.send("stranger@else.example", TITLE)
    assert (outcome.accepted, outcome.reason) == (False, "unknown-sender")
    assert kinds(world.take()) == [("stranger@else.example", "refusal_unknown_sender")]
    assert world.uow.tickets.all() == []


def test_machines_get_no_reply(world: World) -> None:
    outcome = world.send(ALICE.email, TITLE, automated="auto-submitted")
    assert (outcome.accepted, outcome.rule) == (False, "loop-guard")
    assert world.take() == []
    assert world.uow.tickets.all() == []


def test_unauthenticated_member_gets_no_reply(world: World) -> None:
    outcome = world.send(ALICE.email, TITLE, authenticated=False)
    assert (outcome.accepted, outcome.reason) == (False, "unauthenticated")
    assert world.take() == []


# Member replies

@pytest.fixture
def opened(world: World) -> tuple[OutboundMessage, OutboundMessage]:
    """Ticket TI-1 of Alice: (the member's ack, Anna's notification)."""
    _, sent = open_ticket(world)
    return only(sent, ALICE.email), only(sent, ANNA.email)


def assert_added(world: World, outcome: Outcome, text: str, count: int = 2) -> None:
    assert outcome == Outcome(True, "ok", ticket_ref="TI-1", sent=outcome.sent)
    entries = world.entries(1)
    assert len(entries) == count
    assert (entries[-1].author_kind, entries[-1].text) == (Author.MEMBER, text)


def test_member_reply_by_signed_key(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    outcome = world.send(ALICE.email, "Re: something else", "Still broken.",
                         recipients=(ack.reply_to,))
    assert_added(world, outcome, "Still broken.")
    sent = world.take()
    assert kinds(sent) == [(ALICE.email, "message_added"), (ANNA.email, "agent_member_reply")]
    assert world.reply(sent[1]).data["is_feedback"] is False


def test_member_reply_by_key_with_upper_case_address(world: World,
                                                     opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    assert ack.reply_to is not None
    outcome = world.send(ALICE.email, "Re: x", "Upper.", recipients=(ack.reply_to.upper(),))
    assert_added(world, outcome, "Upper.")


def test_member_reply_by_references(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    outcome = world.send(ALICE.email, "Re: x", "Threaded.",
                         references=("<unrelated@else.example>", ack.message_id))
    assert_added(world, outcome, "Threaded.")


def test_member_reply_by_references_to_her_own_first_message(
        world: World, opened: tuple[OutboundMessage, ...]) -> None:
    first = world.entries(1)[0].external_id
    outcome = world.send(ALICE.email, "Re: x", "Threaded on mine.", references=(first,))
    assert_added(world, outcome, "Threaded on mine.")


def test_member_reply_by_ref_in_subject(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    outcome = world.send(ALICE.email, "Re: [TI-1] whatever", "By subject.")
    assert_added(world, outcome, "By subject.")


def test_ref_of_someone_elses_ticket_is_refused(world: World,
                                               opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    outcome = world.send(CAROL.email, "Re: [TI-1] let me in", "Hello.")
    assert (outcome.accepted, outcome.reason) == (False, "not-found")
    assert kinds(world.take()) == [(CAROL.email, "refusal_not_found")]
    assert len(world.entries(1)) == 1
    # Nor do Alice's key or thread work for Carol.
    outcome = world.send(CAROL.email, "Nederlands - stolen", "Hello.",
                         recipients=(ack.reply_to,), references=(ack.message_id,))
    assert outcome.ticket_ref != "TI-1"
    assert len(world.entries(1)) == 1


def test_ref_of_a_missing_ticket_is_refused(world: World) -> None:
    outcome = world.send(ALICE.email, "Re: [TI-99] hello", "x")
    assert (outcome.accepted, outcome.reason) == (False, "not-found")
    assert world.uow.tickets.all() == []


def test_a_key_that_does_not_verify_is_no_key(world: World,
                                              opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    forged = (ack.reply_to or "").replace("support+m1.", "support+m2.")
    outcome = world.send(ALICE.email, "Nederlands - Nieuw probleem", "Other.",
                         recipients=(forged,))
    assert outcome.ticket_ref == "TI-2"


def test_below_silver_member_may_answer_an_existing_ticket(world: World) -> None:
    outcome = world.send(BOB.email, "English - Cannot log in")
    assert (outcome.accepted, outcome.reason) == (False, "rank-too-low")
    assert kinds(world.take()) == [(BOB.email, "refusal_rank")]
    world.uow.tickets.put(Ticket(5, "English - old", "en", BOB.member_id, Channel.EMAIL,
                                 Status.AWAITING_FEEDBACK, NOW - timedelta(days=90)))
    outcome = world.send(BOB.email, "Re: [TI-5] English - old", "Here you go.")
    assert outcome.accepted
    assert world.ticket(5).status is Status.OPEN
    assert [e.text for e in world.entries(5)] == ["Here you go."]


# Agents

def test_feedback_round_trip(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    outcome, sent = agent_says(world, note, "/feedback\nWelke browser gebruikt u?")
    assert outcome == Outcome(True, "ok", ticket_ref="TI-1", sent=1)
    assert world.ticket(1).status is Status.AWAITING_FEEDBACK
    ask = only(sent, ALICE.email)
    assert ask.kind == "feedback_requested"
    assert not ask.auto
    assert world.reply(ask).data["text"] == "Welke browser gebruikt u?"
    assert world.reply(ask).language == "nl"
    agent_entry = world.entries(1)[-1]
    assert (agent_entry.author_kind, agent_entry.author) == (Author.AGENT, ANNA.email)

    outcome = world.send(ALICE.email, "Re: x", "Firefox.", recipients=(ask.reply_to,))
    assert outcome.accepted
    assert world.ticket(1).status is Status.OPEN
    sent = world.take()
    notice = only(sent, ANNA.email)
    assert notice.kind == "agent_member_reply"
    assert world.reply(notice).data["is_feedback"] is True
    assert world.reply(notice).data["text"] == "Firefox."


def test_agent_answer_goes_to_the_member(world: World,
                                         opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    _, sent = agent_says(world, note, "Probeer het opnieuw.")
    answer = only(sent, ALICE.email)
    assert answer.kind == "agent_answer"
    assert world.reply(answer).data["text"] == "Probeer het opnieuw."
    assert world.ticket(1).status is Status.OPEN


def test_agent_close_then_member_reopens(world: World,
                                         opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    _, sent = agent_says(world, note, "/close\nOpgelost.")
    assert world.ticket(1).status is Status.CLOSED
    assert world.ticket(1).closed_at == NOW
    closed = only(sent, ALICE.email)
    assert closed.kind == "ticket_closed"
    assert world.reply(closed).data["closed_by"] == "agent"

    world.clock.advance(days=13)
    outcome = world.send(ALICE.email, "Re: x", "Het is terug.", recipients=(closed.reply_to,))
    assert outcome.accepted
    ticket = world.ticket(1)
    assert (ticket.status, ticket.closed_at) == (Status.OPEN, None)
    assert world.entries(1)[-1].text == "Het is terug."
    assert (ALICE.email, "ticket_reopened") in kinds(world.take())


def test_member_closes_with_first_line(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    outcome = world.send(ALICE.email, "Re: x", "\n  /CLOSE  \nThanks, it works.",
                         recipients=(ack.reply_to,))
    assert outcome.accepted
    assert world.ticket(1).status is Status.CLOSED
    assert world.entries(1)[-1].text == "Thanks, it works."
    sent = world.take()
    assert kinds(sent) == [(ANNA.email, "agent_ticket_closed"), (ALICE.email, "ticket_closed")]
    assert world.reply(sent[0]).data["closed_by"] == "member"


def test_close_not_on_the_first_line_is_just_text(world: World,
                                                 opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    world.send(ALICE.email, "Re: x", "Thanks.\n/close", recipients=(ack.reply_to,))
    assert world.ticket(1).status is Status.OPEN


@pytest.mark.parametrize("subject", ["my tickets", "Re: status", "mijn tickets", "MY TICKETS!",
                                     "Fwd: Re: mes demandes"])
def test_list_keywords(world: World, subject: str) -> None:
    open_ticket(world)
    open_ticket(world, title="English - Second")
    open_ticket(world, title="Dansk - Third")
    world.uow.tickets.put(Ticket(2, "English - Second", "en", "M001", Channel.EMAIL,
                                 Status.CLOSED, NOW, closed_at=NOW))
    world.uow.tickets.put(Ticket(3, "Dansk - Third", "da", "M001", Channel.EMAIL,
                                 Status.AWAITING_FEEDBACK, NOW))
    outcome = world.send(ALICE.email, subject, "")
    assert outcome.accepted
    [listing] = world.take()
    assert (listing.recipient, listing.kind) == (ALICE.email, "ticket_list")
    data = world.reply(listing).data
    assert [t["ref"] for t in data["open"]] == ["TI-1"]
    assert [t["ref"] for t in data["awaiting_feedback"]] == ["TI-3"]
    assert [t["ref"] for t in data["closed"]] == ["TI-2"]
    assert len(world.uow.tickets.all()) == 3


def test_agent_without_a_key(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    outcome = world.send(ANNA.email, "Re: [TI-1] x", "/close")
    assert (outcome.accepted, outcome.reason) == (False, "agent-key")
    assert kinds(world.take()) == [(ANNA.email, "agent_command_error")]
    assert world.ticket(1).status is Status.OPEN
    assert len(world.entries(1)) == 1


def test_agent_key_used_by_another_agent(world: World,
                                         opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    outcome, sent = agent_says(world, note, "/close", sender=ERIC.email)
    assert (outcome.accepted, outcome.reason) == (False, "agent-key")
    assert kinds(sent) == [(ERIC.email, "agent_command_error")]
    assert world.ticket(1).status is Status.OPEN


def test_default_address_key_works_for_any_agent(world: World) -> None:
    _, sent = open_ticket(world, title="Suomi - Ei toimi")
    note = only(sent, DEFAULT_AGENTS)
    outcome, sent = agent_says(world, note, "/close", sender=ERIC.email)
    assert outcome.accepted
    assert world.ticket(1).status is Status.CLOSED
    assert world.entries(1)[-1].author == ERIC.email


def test_a_member_key_is_not_an_agent_key(world: World,
                                          opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    world.uow.agents.add(Agent("alice@members.example", "Alice too", frozenset({"nl"})))
    outcome = world.send(ALICE.email, "Re: x", "/close", recipients=(ack.reply_to,))
    # She is an agent too, but a member key only lets her act as the member.
    assert world.entries(1)[-1].author_kind is Author.MEMBER
    assert outcome.accepted


def test_agent_note_is_internal(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    outcome, sent = agent_says(world, note, "/note\nKlant belt morgen.")
    assert outcome.accepted
    assert sent == []
    entry = world.entries(1)[-1]
    assert (entry.author_kind, entry.internal, entry.text) == (
        Author.AGENT, True, "Klant belt morgen.")
    assert world.ticket(1).status is Status.OPEN


def test_agent_close_and_feedback_together(world: World,
                                           opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    outcome, sent = agent_says(world, note, "/close\n/feedback\nHuh?")
    assert kinds(sent) == [(ANNA.email, "agent_command_error")]
    assert world.ticket(1).status is Status.OPEN
    assert len(world.entries(1)) == 1
    assert outcome.ticket_ref == "TI-1"


def test_agent_refused_move_is_reported(world: World,
                                        opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    agent_says(world, note, "/close")
    _, sent = agent_says(world, note, "/feedback\nMore?")
    assert kinds(sent) == [(ANNA.email, "agent_command_error")]
    assert world.ticket(1).status is Status.CLOSED


def test_agent_open_reopens(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    _, note = opened
    agent_says(world, note, "/close")
    _, sent = agent_says(world, note, "/open")
    assert world.ticket(1).status is Status.OPEN
    assert kinds(sent) == [(ALICE.email, "ticket_reopened")]


# Caps

def test_automatic_reply_cap(world: World) -> None:
    for n in range(7):
        outcome = world.send(ALICE.email, f"Nederlands - probleem {n}")
        assert outcome.accepted
    sent = world.take()
    assert [m.kind for m in sent if m.recipient == ALICE.email] == ["ticket_opened"] * 5
    assert [m.kind for m in sent if m.recipient == ANNA.email] == ["agent_new_ticket"] * 7
    world.clock.advance(hours=1)
    world.send(ALICE.email, "Nederlands - probleem 8")
    assert (ALICE.email, "ticket_opened") in kinds(world.take())


def test_agent_answers_are_not_capped(world: World) -> None:
    world.desk = dataclasses.replace(world.desk, max_auto_replies_per_hour=0)
    _, sent = open_ticket(world)
    assert kinds(sent) == [(ANNA.email, "agent_new_ticket")]
    _, sent = agent_says(world, sent[0], "Hallo")
    assert kinds(sent) == [(ALICE.email, "agent_answer")]


def test_one_refusal_per_sender_per_reason_per_day(world: World) -> None:
    for _ in range(3):
        world.send("stranger@else.example", TITLE)
        world.send(BOB.email, "English - help")
        world.send(ALICE.email, "no language here")
    assert sorted(kinds(world.take())) == [
        (ALICE.email, "refusal_title_language"),
        (BOB.email, "refusal_rank"),
        ("stranger@else.example", "refusal_unknown_sender"),
    ]
    world.send(BOB.email, "no language here")  # another reason: rank comes first
    assert world.take() == []
    world.clock.advance(days=1)
    world.send("stranger@else.example", TITLE)
    assert kinds(world.take()) == [("stranger@else.example", "refusal_unknown_sender")]


def test_one_message_added_ack_per_ticket_per_day(world: World,
                                                  opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    for n in range(3):
        world.send(ALICE.email, "Re: x", f"More {n}.", recipients=(ack.reply_to,))
    sent = world.take()
    assert [m.kind for m in sent if m.recipient == ALICE.email] == ["message_added"]
    assert [m.kind for m in sent if m.recipient == ANNA.email] == ["agent_member_reply"] * 3
    assert len(world.entries(1)) == 4
    world.clock.advance(days=1)
    world.send(ALICE.email, "Re: x", "Next day.", recipients=(ack.reply_to,))
    assert (ALICE.email, "message_added") in kinds(world.take())


def test_rate_limit_holds_a_flood(world: World, opened: tuple[OutboundMessage, ...]) -> None:
    ack, _ = opened
    outcomes = [world.send(ALICE.email, "Re: x", f"{n}", recipients=(ack.reply_to,))
                for n in range(25)]
    assert [o.reason for o in outcomes].count("rate-limited") == 25 + 1 - 20
    assert len(world.entries(1)) == 20


# Found as bugs first; fixed since.

def test_telegram_ticket_is_answered_on_telegram(world: World) -> None:
    dana = world.uow.members.add(Member("M004", "Dana", "dana@members.example", "Gold", "da",
                                        telegram_user_id=4242))
    msg = InboundMessage(Channel.TELEGRAM, "tg-1", "4242", "Dansk - Kan ikke logge ind",
                         "Hjælp", NOW)
    outcome = world.handle(msg)
    assert outcome.accepted
    assert world.ticket(1).channel is Channel.TELEGRAM
    ack = [m for m in world.take() if m.kind == "ticket_opened"]
    assert len(ack) == 1
    assert ack[0].channel is Channel.TELEGRAM
    assert dana.telegram_user_id is not None


def test_detector_is_used_for_unknown_senders(world: World) -> None:
    world.desk = dataclasses.replace(world.desk, detector=FakeDetector({"Hei\nApua": "fi"}))
    world.send("stranger@else.example", "Hei", "Apua")
    [refusal] = world.take()
    assert world.reply(refusal).language == "fi"
    assert SUPPORT not in refusal.recipient
