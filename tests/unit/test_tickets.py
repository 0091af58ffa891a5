from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.messages import Channel
from gateway.tickets import (
    TRANSITIONS,
    Move,
    Status,
    Ticket,
    TransitionRefused,
    format_ref,
    parse_ref,
)

from .fakes import NOW

ALL_PAIRS = [(status, move) for status in Status for move in Move]
REFUSED = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def ticket(status: Status = Status.OPEN, **fields: object) -> Ticket:
    values: dict[str, object] = {"number": 7, "title": "Nederlands - x", "language": "nl",
                                 "member_id": "M001", "channel": Channel.EMAIL,
                                 "status": status, "opened_at": NOW - timedelta(days=1)}
    values.update(fields)
    return Ticket(**values)  # type: ignore[arg-type]


def test_the_table_is_what_the_contract_says() -> None:
    assert TRANSITIONS == {
        (Status.OPEN, Move.REQUEST_FEEDBACK): Status.AWAITING_FEEDBACK,
        (Status.AWAITING_FEEDBACK, Move.REQUEST_FEEDBACK): Status.AWAITING_FEEDBACK,
        (Status.AWAITING_FEEDBACK, Move.GIVE_FEEDBACK): Status.OPEN,
        (Status.OPEN, Move.CLOSE): Status.CLOSED,
        (Status.AWAITING_FEEDBACK, Move.CLOSE): Status.CLOSED,
        (Status.CLOSED, Move.REOPEN): Status.OPEN,
        (Status.AWAITING_FEEDBACK, Move.REOPEN): Status.OPEN,
    }


@pytest.mark.parametrize(("start", "move"), list(TRANSITIONS))
def test_every_transition(start: Status, move: Move) -> None:
    t = ticket(start, closed_at=NOW - timedelta(hours=1) if start is Status.CLOSED else None,
               reminded_at=NOW - timedelta(hours=2))
    assert t.move(move, NOW) is TRANSITIONS[(start, move)]
    assert t.status is TRANSITIONS[(start, move)]
    assert t.status_changed_at == NOW
    assert t.reminded_at is None
    if t.status is Status.CLOSED:
        assert t.closed_at == NOW
    else:
        assert t.closed_at is None


@pytest.mark.parametrize(("start", "move"), REFUSED)
def test_every_refused_transition(start: Status, move: Move) -> None:
    closed_at = NOW - timedelta(hours=1) if start is Status.CLOSED else None
    changed = NOW - timedelta(hours=3)
    t = ticket(start, closed_at=closed_at, status_changed_at=changed)
    with pytest.raises(TransitionRefused, match=t.ref):
        t.move(move, NOW)
    assert (t.status, t.closed_at, t.status_changed_at) == (start, closed_at, changed)


def test_the_refused_set_is_not_empty() -> None:
    assert {(Status.OPEN, Move.GIVE_FEEDBACK), (Status.OPEN, Move.REOPEN),
            (Status.CLOSED, Move.CLOSE), (Status.CLOSED, Move.GIVE_FEEDBACK),
            (Status.CLOSED, Move.REQUEST_FEEDBACK)} == set(REFUSED)


def test_reopen_clears_closed_at() -> None:
    t = ticket()
    t.move(Move.CLOSE, NOW)
    assert t.closed_at == NOW
    later = NOW + timedelta(days=2)
    t.move(Move.REOPEN, later)
    assert t.closed_at is None
    assert t.status_changed_at == later


@pytest.mark.parametrize("days", [14, 0.5, 1])
def test_closed_within_at_the_edge(days: float) -> None:
    t = ticket(Status.CLOSED, closed_at=NOW)
    edge = NOW + timedelta(days=days)
    assert t.closed_within(edge - timedelta(seconds=1), days)
    assert t.closed_within(edge, days)
    assert not t.closed_within(edge + timedelta(seconds=1), days)


def test_closed_within_needs_a_closed_at() -> None:
    assert not ticket(Status.OPEN).closed_within(NOW, 14)


def test_refs() -> None:
    assert format_ref(12) == "TI-12"
    assert ticket(number=12).ref == "TI-12"
    assert parse_ref("Re: [TI-42] Nederlands - x") == 42
    assert parse_ref("re: [ti-42]") == 42
    assert parse_ref("no ticket here") is None
    assert parse_ref("MULTI-3") is None
