"""What happened to tickets, in the past tense. Handlers return them; `notify` announces them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.conversations import Chat, ChatLine
from gateway.people import Member
from gateway.replies import Kind
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


@dataclass(frozen=True)
class Answered:
    """The bot answered the person in their chat: template `kind`, optionally in `language`
    (else theirs), about a ticket, with inline buttons."""

    kind: Kind
    data: Mapping[str, Any] = field(default_factory=dict)
    language: str | None = None
    ticket_ref: str | None = None
    buttons: Sequence[str] = ()


@dataclass(frozen=True)
class LinkCodeIssued:
    """A one-time code for linking Telegram, to be mailed to the member's registered address."""

    member: Member
    code: str
    minutes: int


@dataclass(frozen=True)
class AccountLinked:
    member: Member


@dataclass(frozen=True)
class ChatLinesDue:
    """Lines of a live chat the agents have not seen yet (`new`: the chat's first mail)."""

    chat: Chat
    lines: tuple[ChatLine, ...]
    member: Member | None  # the linked member writing, if any: what agents may trust
    new: bool = False
    position: int = 0


@dataclass(frozen=True)
class ChatEnded:
    chat: Chat
    member: Member | None
    by_agent: str = ""  # the agent's address, when an agent ended it


@dataclass(frozen=True)
class AgentWroteInChat:
    chat: Chat
    agent_name: str
    text: str


Event = (TicketOpened | MessageAdded | TicketReopened | ReopenRefused | TicketClosed
         | FeedbackRequested | AgentAnswered | AgentCommandRefused | TicketsListed
         | FeedbackReminded | Answered | LinkCodeIssued | AccountLinked | ChatLinesDue
         | ChatEnded | AgentWroteInChat)
