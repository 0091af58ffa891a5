"""Every reply the core composes renders with the real templates, in a full ticket life."""

from __future__ import annotations

import dataclasses

import pytest

from adapters.render import TemplateRenderer
from gateway.followup import follow_up
from gateway.messages import OutboundMessage
from gateway.replies import Rendered, Reply
from tests.unit.fakes import ALICE, ANNA, BOB, World

TITLE = "Nederlands - Kan bestelling niet verwerken"


class RealTemplates:
    """Renders with the real templates (StrictUndefined: missing data fails) and records."""

    def __init__(self, world: World) -> None:
        self._fake, self._real = world.renderer, TemplateRenderer()

    def render(self, reply: Reply) -> Rendered:
        self._fake.render(reply)
        return self._real.render(reply)


@pytest.fixture
def world() -> World:
    world = World()
    world.desk = dataclasses.replace(world.desk, renderer=RealTemplates(world))
    return world


def reply_to(world: World, message: OutboundMessage, sender: str, text: str) -> None:
    assert message.reply_to
    world.send(sender, f"Re: {message.subject}", text, recipients=(message.reply_to,))


def test_a_whole_ticket_life_renders(world: World) -> None:
    world.send(ALICE.email, TITLE, "De knop doet niets.")
    ack, notice = world.take()
    assert ack.text.startswith("##-") and "TI-1" in ack.text
    reply_to(world, notice, ANNA.email, "/feedback\nWelke browser?")
    reply_to(world, world.take()[0], ALICE.email, "Firefox.")
    forwarded = next(m for m in world.take() if m.recipient == ANNA.email)
    reply_to(world, forwarded, ANNA.email, "/note\nIntern.")
    reply_to(world, forwarded, ANNA.email, "Probeer het opnieuw.")
    reply_to(world, forwarded, ANNA.email, "/close\nOpgelost.")
    closed = world.take()[-1]
    assert "Opgelost." in closed.text
    reply_to(world, closed, ALICE.email, "Toch niet opgelost.")
    reply_to(world, forwarded, ANNA.email, "/feedback /close")
    world.send(ALICE.email, "mijn tickets", "")
    world.send(BOB.email, "English - Printer", "Broken printer.")
    world.send("stranger@else.example", "English - Help", "Please help me.")
    world.send(ALICE.email, "Geen taal", "Er is iets mis met de site.")
    world.send(ALICE.email, "Re: [TI-99] x", "Wat is de status?")
    texts = [m.text for m in world.take()]
    assert len(texts) >= 7 and all(texts)
    reply_to(world, forwarded, ANNA.email, "/feedback\nNog iets?")
    world.take()
    world.clock.advance(days=4)
    assert follow_up(world.uow, world.desk, world.clock.now()) == 1
    world.clock.advance(days=11)
    assert follow_up(world.uow, world.desk, world.clock.now()) == 1
    assert all(m.text for m in world.take())
