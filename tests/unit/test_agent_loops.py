"""Automatic mail to agents is capped: an agent's autoresponder cannot start a mail loop (F5)."""

from __future__ import annotations

import dataclasses

from gateway.messages import OutboundMessage

from .fakes import ANNA, DEFAULT_AGENTS, ERIC, SUPPORT, World

TITLE = "Nederlands - Kan bestelling niet verwerken"


def autoresponder_answers(world: World, mail: OutboundMessage) -> None:
    """A header-less autoresponder on the agent's mailbox: answers at once, no key, no markers."""
    world.clock.advance(seconds=0.05)
    world.send(mail.recipient, f"Re: {mail.subject}", "I am out of the office until Monday.",
               recipients=(SUPPORT,), references=(mail.message_id,))


def test_an_agent_autoresponder_gets_one_answer_an_hour() -> None:
    world = World()
    world.send(ANNA.email, "Re: [TI-1] x", "/close")  # no key: "not acted on"
    answers: list[OutboundMessage] = []
    for _ in range(300):  # the reported loop: 299 answers in 15 s
        new = [m for m in world.take() if m.recipient == ANNA.email]
        if not new:
            break
        answers += new
        for mail in new:
            autoresponder_answers(world, mail)
    assert [m.kind for m in answers] == ["agent_command_error"]
    world.clock.advance(hours=1)
    world.send(ANNA.email, "Re: [TI-1] x", "/close")
    assert [m.kind for m in world.take()] == ["agent_command_error"]  # told again next hour


def test_answers_to_an_agent_are_capped_across_reasons() -> None:
    world = World()
    world.desk = dataclasses.replace(world.desk, max_auto_replies_per_hour=2)
    notes = []
    for n in range(3):  # Finnish: the default address is told, Eric (en, da) is not
        world.send("alice@members.example", f"Suomi - Ei toimi {n}", "Tilaus ei toimi.")
        notes += [m for m in world.take() if m.recipient == DEFAULT_AGENTS]
    mistakes = ("/close\n/feedback\nHuh?", "/foo", "/feedback")  # three reasons
    for note, mistake in zip(notes, mistakes, strict=True):  # Eric uses the shared key
        world.send(ERIC.email, f"Re: {note.subject}", mistake,
                   recipients=(note.reply_to,), references=(note.message_id,))
    errors = [m for m in world.take() if m.recipient == ERIC.email]
    assert [m.kind for m in errors] == ["agent_command_error"] * 2


def test_notifications_are_counted_never_suppressed_and_fill_the_cap() -> None:
    world = World()
    for n in range(7):
        world.send("alice@members.example", f"{TITLE} {n}", "De bestelling blijft hangen.")
    notes = [m for m in world.take() if m.recipient == ANNA.email]
    assert [m.kind for m in notes] == ["agent_new_ticket"] * 7  # a busy desk hears of all
    world.send(ANNA.email, "Re: [TI-1] x", "/close")
    assert world.take() == []  # her own mail's answer is over the cap this hour
