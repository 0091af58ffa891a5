"""Agents' mail that is not acted on (CONTRACT §10): it changes nothing, reaches no member,
and the agent gets one answer, threaded to their mail, saying why."""

from __future__ import annotations

import pytest

from gateway.messages import OutboundMessage
from gateway.people import Author
from gateway.replykeys import Role, address_with_key
from gateway.service import Outcome
from gateway.tickets import Status

from .fakes import ALICE, ANNA, DEFAULT_AGENTS, ERIC, NOW, SUPPORT, World

TITLE = "Nederlands - Kan bestelling niet verwerken"


def open_ticket(world: World, title: str = TITLE) -> OutboundMessage:
    """Alice's ticket; returns the agents' notification (Anna's, or the desk's)."""
    world.send(ALICE.email, title, "De bestelling blijft hangen.")
    [note] = [m for m in world.take() if m.kind == "agent_new_ticket"]
    return note


def agent_writes(world: World, note: OutboundMessage, text: str, sender: str | None = None
                 ) -> tuple[Outcome, str, list[OutboundMessage]]:
    """The agent answers the notification through its Reply-To: (outcome, their Message-ID,
    what was sent)."""
    msg = world.email(sender or note.recipient, f"Re: {note.subject}", text,
                      recipients=(note.reply_to,), references=(note.message_id,))
    outcome = world.handle(msg)
    return outcome, msg.external_id, world.take()


def close(world: World, note: OutboundMessage) -> None:
    outcome, _, _ = agent_writes(world, note, "/close")
    assert outcome.accepted


@pytest.mark.parametrize(("text", "closed_first", "reason", "commands"), [
    ("/foo\nProbeer het opnieuw.", False, "unknown-command", ["/foo"]),
    ("/Feedbak", False, "unknown-command", ["/Feedbak"]),
    ("/close\n/foo\nKlaar.", False, "unknown-command", ["/foo"]),
    ("/feedback Welke browser?", False, "command-not-alone", ["/feedback"]),
    ("/close.", False, "command-not-alone", ["/close"]),
    ("/feedback", False, "feedback-without-question", ["/feedback"]),
    ("/feedback\n\n  ", False, "feedback-without-question", ["/feedback"]),
    ("/note", False, "note-without-text", ["/note"]),
    ("/close\n/feedback\nHuh?", False, "commands-combined", ["/close", "/feedback"]),
    ("/feedback\n/note\nWelke browser?", False, "commands-combined", ["/feedback", "/note"]),
    ("", False, "nothing-to-do", []),
    ("/open", False, "wrong-status", ["/open"]),
    ("/open\nIk kijk er nog eens naar.", False, "wrong-status", ["/open"]),
    ("/close", True, "wrong-status", ["/close"]),
    ("/feedback\nWerkt het nu?", True, "wrong-status", ["/feedback"]),
])
def test_a_mistake_changes_nothing_reaches_no_member_and_is_answered(
        world: World, text: str, closed_first: bool, reason: str, commands: list[str]) -> None:
    note = open_ticket(world)
    if closed_first:
        close(world, note)
    before, entries = world.ticket(1), len(world.entries(1))

    outcome, message_id, sent = agent_writes(world, note, text)

    assert (outcome.accepted, outcome.reason, outcome.ticket_ref) == (False, reason, "TI-1")
    assert world.ticket(1) == before
    assert len(world.entries(1)) == entries
    [answer] = sent  # the agent's answer, and nothing to the member
    assert (answer.recipient, answer.kind) == (ANNA.email, "agent_command_error")
    assert answer.in_reply_to == message_id
    assert answer.references[0] == "ti-1.thread@example.org"
    assert answer.references[-1] == message_id
    assert answer.auto
    data = world.reply(answer).data
    assert (data["reason"], data["commands"]) == (reason, commands)
    assert (data["ref"], data["title"], data["status"]) == ("TI-1", TITLE, before.status.value)


def test_the_answer_carries_the_agents_key_so_the_corrected_mail_acts(world: World) -> None:
    note = open_ticket(world)
    _, _, [answer] = agent_writes(world, note, "/feedbak\nWelke browser?")
    outcome, _, sent = agent_writes(world, answer, "/feedback\nWelke browser?")
    assert outcome.accepted
    assert [(m.recipient, m.kind) for m in sent] == [(ALICE.email, "feedback_requested")]
    assert world.ticket(1).status is Status.AWAITING_FEEDBACK


def test_one_answer_per_agent_per_reason_per_hour(world: World) -> None:
    first, second = open_ticket(world), open_ticket(world, "Nederlands - Tweede probleem")
    assert [m.kind for m in agent_writes(world, first, "/foo")[2]] == ["agent_command_error"]
    assert agent_writes(world, second, "/bar")[2] == []  # same reason, other ticket: quiet
    assert agent_writes(world, first, "/foo")[2] == []
    other = agent_writes(world, second, "/feedback")[2]  # another reason: told
    assert [m.kind for m in other] == ["agent_command_error"]
    world.clock.advance(hours=1)
    assert [m.kind for m in agent_writes(world, first, "/foo")[2]] == ["agent_command_error"]
    assert world.ticket(1).status is Status.OPEN and world.ticket(2).status is Status.OPEN


def test_mail_without_a_key_is_told_it_reached_no_ticket(world: World) -> None:
    open_ticket(world)
    msg = world.email(ANNA.email, "Re: [TI-1] Nederlands - Kan bestelling niet verwerken",
                      "/close")
    outcome = world.handle(msg)
    assert (outcome.accepted, outcome.reason) == (False, "agent-key")
    [answer] = world.take()
    assert (answer.recipient, answer.kind, answer.ticket_ref) == (
        ANNA.email, "agent_command_error", None)
    assert answer.in_reply_to == msg.external_id
    assert answer.reply_to is None  # it names no ticket: nothing to act on by replying
    data = world.reply(answer).data
    assert (data["reason"], data["ref"], data["title"]) == ("agent-key", "", "")
    assert data["subject"] == "[TI-1] Nederlands - Kan bestelling niet verwerken"
    assert world.ticket(1).status is Status.OPEN


def test_a_key_for_a_ticket_that_does_not_exist(world: World) -> None:
    key = world.desk.keys.sign(99, Role.AGENT, ANNA.email, NOW)
    msg = world.email(ANNA.email, "Re: [TI-99] Oud", "/close",
                      recipients=(address_with_key(SUPPORT, key),))
    outcome = world.handle(msg)
    assert (outcome.accepted, outcome.reason) == (False, "no-such-ticket")
    [answer] = world.take()
    assert (answer.recipient, answer.in_reply_to) == (ANNA.email, msg.external_id)
    data = world.reply(answer).data
    assert (data["reason"], data["ref"], data["title"]) == ("no-such-ticket", "TI-99", "")


def test_close_alone_closes_and_the_member_is_told_once(world: World) -> None:
    note = open_ticket(world)
    outcome, _, sent = agent_writes(world, note, "/close")
    assert outcome.accepted
    assert world.ticket(1).status is Status.CLOSED
    assert [(m.recipient, m.kind) for m in sent] == [(ALICE.email, "ticket_closed")]
    data = world.reply(sent[0]).data
    assert (data["closed_by"], data["text"]) == ("agent", "")
    assert not sent[0].auto  # an agent's act, not an automatic reply
    _, _, again = agent_writes(world, note, "/close")  # a second /close: only Anna hears
    assert [(m.recipient, m.kind) for m in again] == [(ANNA.email, "agent_command_error")]


def test_a_note_with_close_closes_and_keeps_the_note_internal(world: World) -> None:
    note = open_ticket(world)
    outcome, _, sent = agent_writes(world, note, "/close\n/note\nKlant belde: opgelost.")
    assert outcome.accepted
    assert [(m.recipient, m.kind) for m in sent] == [(ALICE.email, "ticket_closed")]
    assert world.reply(sent[0]).data["text"] == ""
    entry = world.entries(1)[-1]
    assert (entry.internal, entry.text) == (True, "Klant belde: opgelost.")


def test_the_desk_mailbox_acts_as_an_agent(world: World) -> None:
    note = open_ticket(world, "Suomi - Tilaus ei toimi")  # no Finnish agent: the desk is told
    assert note.recipient == DEFAULT_AGENTS
    outcome, _, sent = agent_writes(world, note, "Kokeile uudelleen.")
    assert outcome.accepted
    assert [(m.recipient, m.kind) for m in sent] == [(ALICE.email, "agent_answer")]
    entry = world.entries(1)[-1]
    assert (entry.author_kind, entry.author) == (Author.AGENT, DEFAULT_AGENTS)


def test_the_desk_mailbox_without_a_key_is_answered_as_an_agent(world: World) -> None:
    outcome = world.send(DEFAULT_AGENTS.upper(), "Re: vraag", "Hoe werkt dit?")
    assert (outcome.accepted, outcome.reason) == (False, "agent-key")
    assert [(m.recipient, m.kind) for m in world.take()] == [
        (DEFAULT_AGENTS, "agent_command_error")]  # not the strangers' "not registered"


def test_a_mistake_by_another_agent_with_the_desk_key_is_answered_to_them(world: World) -> None:
    note = open_ticket(world, "Suomi - Tilaus ei toimi")
    outcome, message_id, sent = agent_writes(world, note, "/foo", sender=ERIC.email)
    assert outcome.reason == "unknown-command"
    [answer] = sent
    assert (answer.recipient, answer.in_reply_to) == (ERIC.email, message_id)
