"""One refusal per sender, reason and day, however the sender spells their address."""

from __future__ import annotations

from .fakes import World

TITLE = "Nederlands - Kan bestelling niet verwerken"


def test_a_stranger_changing_the_case_of_their_address_gets_one_refusal_a_day(world: World) -> None:
    for sender in ("stranger@else.example", "Stranger@Else.example", "STRANGER@ELSE.EXAMPLE"):
        world.send(sender, TITLE)
    assert [m.kind for m in world.take()] == ["refusal_unknown_sender"]
    world.clock.advance(days=1)
    world.send("Stranger@else.example", TITLE)
    assert [m.kind for m in world.take()] == ["refusal_unknown_sender"]
