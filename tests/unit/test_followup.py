from __future__ import annotations

from datetime import timedelta

from gateway.followup import follow_up
from gateway.messages import Channel
from gateway.people import Author
from gateway.tickets import Move, Status, Ticket

from .fakes import ALICE, ANNA, NOW, FakeClock, World


def awaiting(world: World, number: int = 1, since: timedelta = timedelta()) -> Ticket:
    ticket = Ticket(number, "Nederlands - x", "nl", ALICE.member_id, Channel.EMAIL,
                    Status.OPEN, NOW - timedelta(days=30))
    ticket.move(Move.REQUEST_FEEDBACK, world.clock.now() - since)
    return world.uow.tickets.put(ticket)


def run(world: World) -> int:
    return follow_up(world.uow, world.desk, world.clock.now())


def kinds(world: World) -> list[tuple[str, str]]:
    return [(m.recipient, m.kind) for m in world.take()]


def test_nothing_before_the_reminder_is_due(world: World) -> None:
    awaiting(world, since=timedelta(days=3) - timedelta(seconds=1))
    assert run(world) == 0
    assert kinds(world) == []


def test_one_reminder_then_auto_close(world: World) -> None:
    awaiting(world)
    world.clock.advance(days=3)
    assert run(world) == 1
    sent = world.take()
    assert [(m.recipient, m.kind) for m in sent] == [(ALICE.email, "feedback_reminder")]
    assert sent[0].ticket_ref == "TI-1"
    assert world.reply(sent[0]).data["auto_close_at"] == NOW + timedelta(days=14)
    assert world.reply(sent[0]).language == "nl"
    assert world.ticket(1).reminded_at == world.clock.now()
    assert world.ticket(1).status is Status.AWAITING_FEEDBACK

    # Not twice: the next passes, up to the auto-close, send nothing.
    world.clock.advance(hours=1)
    assert run(world) == 0
    world.clock.advance(days=10, hours=22, seconds=59 * 60 + 59)  # 1 s before 14 days
    assert run(world) == 0
    assert kinds(world) == []

    world.clock.advance(seconds=1)
    assert run(world) == 1
    ticket = world.ticket(1)
    assert (ticket.status, ticket.closed_at) == (Status.CLOSED, world.clock.now())
    sent = sorted(world.take(), key=lambda m: m.kind)
    assert [(m.recipient, m.kind) for m in sent] == [
        (ANNA.email, "agent_ticket_closed"), (ALICE.email, "ticket_closed")]
    assert world.reply(sent[1]).data["closed_by"] == "auto"
    assert world.reply(sent[1]).data["closed_by"] == "auto"
    entry = world.entries(1)[-1]
    assert (entry.author_kind, entry.text) == (Author.SYSTEM, "closed: no feedback")

    world.clock.advance(days=1)
    assert run(world) == 0
    assert kinds(world) == []


def test_a_new_feedback_request_earns_a_new_reminder(world: World) -> None:
    awaiting(world, since=timedelta(days=4))
    assert run(world) == 1
    ticket = world.ticket(1)
    ticket.move(Move.REQUEST_FEEDBACK, world.clock.now())
    world.uow.tickets.save(ticket)
    world.take()
    world.clock.advance(days=3)
    assert run(world) == 1
    assert kinds(world) == [(ALICE.email, "feedback_reminder")]


def test_after_downtime_over_both_dates_the_reminder_comes_first_and_the_close_later(
        world: World) -> None:
    awaiting(world, since=timedelta(days=20))  # the gateway was down from before day 3 to day 20
    assert run(world) == 1
    assert world.ticket(1).status is Status.AWAITING_FEEDBACK
    [sent] = world.take()
    assert (sent.recipient, sent.kind) == (ALICE.email, "feedback_reminder")
    closes = world.clock.now() + timedelta(days=11)  # auto_close_days - feedback_reminder_days
    assert world.reply(sent).data["auto_close_at"] == closes

    world.clock.advance(days=11, seconds=-1)
    assert run(world) == 0
    assert kinds(world) == []
    world.clock.advance(seconds=1)
    assert run(world) == 1
    assert world.ticket(1).status is Status.CLOSED
    assert sorted(kind for _, kind in kinds(world)) == ["agent_ticket_closed", "ticket_closed"]


def test_a_reminder_due_with_the_close_is_sent_alone_and_the_close_waits_the_gap(
        clock: FakeClock) -> None:
    world = World(clock, feedback_reminder_days=3, auto_close_days=4)
    awaiting(world)
    world.clock.advance(days=4)  # both due at this pass
    assert run(world) == 1
    assert kinds(world) == [(ALICE.email, "feedback_reminder")]
    assert world.ticket(1).status is Status.AWAITING_FEEDBACK

    world.clock.advance(hours=23)
    assert run(world) == 0
    world.clock.advance(hours=1)  # a day after the reminder
    assert run(world) == 1
    assert world.ticket(1).status is Status.CLOSED
    assert sorted(kind for _, kind in kinds(world)) == ["agent_ticket_closed", "ticket_closed"]


def test_an_auto_close_no_later_than_the_reminder_still_closes_only_after_it(
        clock: FakeClock) -> None:
    world = World(clock, feedback_reminder_days=3, auto_close_days=2)
    awaiting(world)
    world.clock.advance(days=3)
    assert run(world) == 1
    assert kinds(world) == [(ALICE.email, "feedback_reminder")]
    world.clock.advance(minutes=1)  # the next pass
    assert run(world) == 1
    assert world.ticket(1).status is Status.CLOSED


def test_open_and_closed_tickets_are_left_alone(world: World) -> None:
    world.uow.tickets.put(Ticket(1, "Nederlands - x", "nl", ALICE.member_id, Channel.EMAIL,
                                 Status.OPEN, NOW - timedelta(days=60),
                                 status_changed_at=NOW - timedelta(days=60)))
    world.uow.tickets.put(Ticket(2, "Nederlands - y", "nl", ALICE.member_id, Channel.EMAIL,
                                 Status.CLOSED, NOW - timedelta(days=60),
                                 closed_at=NOW - timedelta(days=59),
                                 status_changed_at=NOW - timedelta(days=59)))
    assert run(world) == 0
    assert kinds(world) == []


def test_the_member_answering_stops_the_clock(world: World) -> None:
    awaiting(world)
    world.clock.advance(days=1)
    outcome = world.send(ALICE.email, "Re: [TI-1] x", "Hier is het antwoord.")
    assert outcome.accepted
    world.take()
    world.clock.advance(days=30)
    assert run(world) == 0
    assert world.ticket(1).status is Status.OPEN
