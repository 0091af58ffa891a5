"""Tickets and the one table of status transitions (CONTRACT §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.errors import UserError
from gateway.messages import Channel

REF_PATTERN = re.compile(r"\bTI-(\d{1,9})\b", re.IGNORECASE)


class Status(StrEnum):
    OPEN = "open"
    AWAITING_FEEDBACK = "awaiting_feedback"
    CLOSED = "closed"


class Move(StrEnum):
    """What may happen to a ticket; the table below says from where."""

    REQUEST_FEEDBACK = "request_feedback"
    GIVE_FEEDBACK = "give_feedback"
    CLOSE = "close"
    REOPEN = "reopen"


TRANSITIONS: dict[tuple[Status, Move], Status] = {
    (Status.OPEN, Move.REQUEST_FEEDBACK): Status.AWAITING_FEEDBACK,
    (Status.AWAITING_FEEDBACK, Move.REQUEST_FEEDBACK): Status.AWAITING_FEEDBACK,
    (Status.AWAITING_FEEDBACK, Move.GIVE_FEEDBACK): Status.OPEN,
    (Status.OPEN, Move.CLOSE): Status.CLOSED,
    (Status.AWAITING_FEEDBACK, Move.CLOSE): Status.CLOSED,
    (Status.CLOSED, Move.REOPEN): Status.OPEN,
    (Status.AWAITING_FEEDBACK, Move.REOPEN): Status.OPEN,
}


class TransitionRefused(UserError):
    """The move is not possible from the ticket's status."""


def format_ref(number: int) -> str:
    return f"TI-{number}"


def parse_ref(text: str) -> int | None:
    match = REF_PATTERN.search(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Satisfaction:
    """The member's rating of the help, 1 (poor) to 5 (excellent), after the ticket closed."""

    score: int
    comment: str
    at: datetime


@dataclass
class Ticket:
    number: int
    title: str
    language: str
    member_id: str
    channel: Channel
    status: Status
    opened_at: datetime
    closed_at: datetime | None = None
    status_changed_at: datetime | None = None
    reminded_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    follows: int | None = None  # the closed ticket this one carries on

    @property
    def ref(self) -> str:
        return format_ref(self.number)

    def move(self, move: Move, now: datetime) -> Status:
        """Apply one move; raise TransitionRefused when the table has no such edge."""
        target = TRANSITIONS.get((self.status, move))
        if target is None:
            raise TransitionRefused(f"{self.ref} is {self.status.value}: cannot {move.value}.")
        self.status = target
        self.status_changed_at = now
        self.reminded_at = None
        self.closed_at = now if target is Status.CLOSED else None
        return target

    def closed_within(self, now: datetime, days: float) -> bool:
        """Closed, no more than `days` ago (a reply then reopens it, or rates it)."""
        return self.closed_at is not None and now - self.closed_at <= timedelta(days=days)
