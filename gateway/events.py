"""What happened to tickets, in the past tense. Handlers return them; `notify` announces them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.tickets import Ticket


class ClosedBy(StrEnum):
    MEMBER = "member"
    AGENT = "agent"
    AUTO = "auto"


@dataclass(frozen=True)
class TicketOpened:
    ticket: Ticket
    text: str
    detected_language: str | None


@dataclass(frozen=True)
class MessageAdded:
    """A member wrote to a ticket; `was_feedback` when it answered a feedback request."""

    ticket: Ticket
    text: str
    was_feedback: bool
    reopened: bool = False


@dataclass(frozen=True)
class TicketReopened:
    ticket: Ticket
    by_agent: bool = False


@dataclass(frozen=True)
class ReopenRefused:
    """A member wrote to a ticket closed longer ago than `policy.reopen_days`."""

    ticket: Ticket


@dataclass(frozen=True)
class TicketClosed:
    ticket: Ticket
    by: ClosedBy
    text: str = ""
    changed: bool = True  # False: it was closed already, only the member is answered


@dataclass(frozen=True)
class FeedbackRequested:
    ticket: Ticket
    text: str


@dataclass(frozen=True)
class AgentAnswered:
    ticket: Ticket
    text: str


@dataclass(frozen=True)
class AgentCommandRefused:
    ticket: Ticket
    error: str


@dataclass(frozen=True)
class TicketsListed:
    tickets: tuple[Ticket, ...]


@dataclass(frozen=True)
class FeedbackReminded:
    ticket: Ticket


Event = (TicketOpened | MessageAdded | TicketReopened | ReopenRefused | TicketClosed
         | FeedbackRequested | AgentAnswered | AgentCommandRefused | TicketsListed
         | FeedbackReminded)
