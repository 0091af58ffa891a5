"""Threading (CONTRACT §10): every mail to a member about a ticket answers the member's latest
mail on it, with the thread in References; every reply to a mail answers that mail."""

from __future__ import annotations

from gateway.followup import follow_up
from gateway.messages import Channel, InboundMessage, OutboundMessage
from gateway.outgoing import Outgoing
from gateway.people import Member
from gateway.replies import Kind, Reply

from .fakes import ALICE, ANNA, World

TITLE = "Nederlands - Kan bestelling niet verwerken"
ROOT = "ti-1.thread@example.org"


def member_mail(world: World, subject: str, text: str, **fields: object) -> InboundMessage:
    msg = world.email(ALICE.email, subject, text, **fields)
    assert world.handle(msg).accepted
    return msg


def to(world: World, recipient: str) -> OutboundMessage:
    [mail] = [m for m in world.take() if m.recipient == recipient]
    return mail


def agent_writes(world: World, note: OutboundMessage, text: str) -> OutboundMessage:
    """Anna answers; returns what Alice gets."""
    world.handle(world.email(ANNA.email, f"Re: {note.subject}", text,
                             recipients=(note.reply_to,), references=(note.message_id,)))
    return to(world, ALICE.email)


def opened(world: World) -> tuple[InboundMessage, OutboundMessage, OutboundMessage]:
    """Alice's first mail, her acknowledgement, Anna's notification."""
    first = member_mail(world, TITLE, "De bestelling blijft hangen.")
    sent = world.take()
    [ack] = [m for m in sent if m.recipient == ALICE.email]
    [note] = [m for m in sent if m.recipient == ANNA.email]
    return first, ack, note


def assert_answers(mail: OutboundMessage, message_id: str) -> None:
    assert mail.in_reply_to == message_id
    assert mail.references[0] == ROOT
    assert mail.references[-1] == message_id


def test_the_acknowledgement_answers_the_members_mail(world: World) -> None:
    first, ack, _ = opened(world)
    assert_answers(ack, first.external_id)


def test_an_agents_answer_feedback_request_and_close_answer_the_members_latest_mail(
        world: World) -> None:
    first, _, note = opened(world)
    answer = agent_writes(world, note, "Probeer het opnieuw.")
    assert_answers(answer, first.external_id)
    assert note.message_id not in answer.references  # the agents' side stays theirs

    question = agent_writes(world, note, "/feedback\nWelke browser?")
    assert_answers(question, first.external_id)

    later = member_mail(world, "Re: x", "Firefox.", recipients=(question.reply_to,),
                        references=(ROOT, question.message_id))
    assert_answers(to(world, ALICE.email), later.external_id)  # its acknowledgement

    closed = agent_writes(world, note, "/close\nOpgelost.")
    assert closed.kind == "ticket_closed"
    assert_answers(closed, later.external_id)


def test_the_feedback_reminder_answers_the_members_latest_mail(world: World) -> None:
    first, _, note = opened(world)
    agent_writes(world, note, "/feedback\nWelke browser?")
    world.clock.advance(days=3)
    follow_up(world.uow, world.desk, world.clock.now())
    reminder = to(world, ALICE.email)
    assert reminder.kind == "feedback_reminder"
    assert_answers(reminder, first.external_id)


def test_a_mail_without_a_message_id_is_not_answered_but_the_one_before_is(world: World) -> None:
    first, ack, note = opened(world)
    member_mail(world, "Re: x", "Nog iets.", recipients=(ack.reply_to,),
                external_id="sha256:00ff")  # no usable Message-ID: the body's hash
    world.take()
    assert_answers(agent_writes(world, note, "Dank u."), first.external_id)


def test_a_member_without_mail_on_the_ticket_gets_the_thread_only(world: World) -> None:
    dana = world.uow.members.add(Member("M004", "Dana", "dana@members.example", "Gold", "da"))
    ticket = world.uow.tickets.add("Dansk - Printer", "da", dana.member_id, Channel.EMAIL,
                                   world.clock.now())  # no mail of hers on it, e.g. by Telegram
    out = Outgoing(world.uow, world.desk, world.clock.now())
    out.to_member(dana, Reply(Kind.AGENT_ANSWER, "da", {"text": "Hej"}), ticket=ticket,
                  auto=False)
    [mail] = out.sent
    assert (mail.in_reply_to, mail.references) == (None, (ROOT,))


def test_refusals_answer_the_mail_they_refuse(world: World) -> None:
    missing = world.email(ALICE.email, "Re: [TI-42] Oud", "Hallo?")
    world.handle(missing)
    assert to(world, ALICE.email).in_reply_to == missing.external_id

    stranger = world.email("stranger@else.example", "English - Help", "Please help.")
    world.handle(stranger)
    assert to(world, "stranger@else.example").in_reply_to == stranger.external_id

    untitled = world.email(ALICE.email, "Kan niet inloggen", "Help.")
    world.handle(untitled)
    assert to(world, ALICE.email).in_reply_to == untitled.external_id

