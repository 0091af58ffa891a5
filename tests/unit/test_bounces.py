"""Hard bounces: three delivery failures in the window stop mail to that address."""

from __future__ import annotations

from .fakes import ALICE, World

TITLE = "Nederlands - Kan bestelling niet verwerken"


def bounce(world: World) -> None:
    outcome = world.send("mailer-daemon@mx.example", "Undelivered Mail Returned to Sender",
                         "failed", automated="null-sender", bounced=(ALICE.email,))
    assert not outcome.accepted and outcome.rule == "loop-guard"


def test_three_hard_bounces_suspend_mail_to_the_address() -> None:
    world = World()
    for _ in range(2):
        bounce(world)
    world.send(ALICE.email, TITLE, "De bestelling blijft hangen.")
    assert ALICE.email in [m.recipient for m in world.take()]  # two bounces: still mailed
    bounce(world)
    world.clock.advance(days=1)  # past the once-a-day acknowledgement rule
    outcome = world.send(ALICE.email, TITLE, "Nog een probleem.")
    assert outcome.accepted  # the ticket is still opened ...
    sent = world.take()
    assert ALICE.email not in [m.recipient for m in sent]  # ... but no mail bounces again
    assert sent  # the agents still hear of it


def test_a_bounce_for_someone_else_changes_nothing_for_the_member() -> None:
    world = World()
    for _ in range(3):
        world.send("mailer-daemon@mx.example", "Undelivered", "failed",
                   automated="dsn", bounced=("someone@else.example",))
    world.send(ALICE.email, TITLE, "De bestelling blijft hangen.")
    assert ALICE.email in [m.recipient for m in world.take()]
