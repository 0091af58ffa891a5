"""What happened to tickets, in the past tense. Handlers return them; `notify` announces them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.agent_mistakes import Refusal
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
class TicketClosed:
    ticket: Ticket
    by: ClosedBy
    text: str = ""
    changed: bool = True  # False: it was closed already, only the member is answered


@dataclass(frozen=True)
class TicketRated:
    """The member rated the help on their closed ticket; `first`: they had not rated it yet."""

    ticket: Ticket
    first: bool


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
    """An agent's mail not acted on: nothing changed, and the agent is told why."""

    ticket: Ticket | None  # None: the mail reached no ticket
    refusal: Refusal


@dataclass(frozen=True)
class TicketsListed:
    tickets: tuple[Ticket, ...]


@dataclass(frozen=True)
class FeedbackReminded:
    ticket: Ticket
    closes_at: datetime  # when the ticket closes if the member stays silent


@dataclass(frozen=True)
class Answered:
    """The bot answered the person in their chat: template `kind`, optionally in `language`
    (else theirs), about a ticket, with rows of inline buttons (`gateway.buttons`)."""

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


@dataclass(frozen=True)
class ChatMoved:
    """A waiting chat's place in the queue changed: a chat ahead was taken or ended."""

    chat: Chat
    position: int


@dataclass(frozen=True)
class ChatTimedOut:
    """A chat ended because nobody on either side wrote in it for `minutes`."""

    chat: Chat
    member: Member | None
    minutes: float


Event = (TicketOpened | MessageAdded | TicketReopened | TicketClosed | TicketRated
         | FeedbackRequested | AgentAnswered | AgentCommandRefused | TicketsListed
         | FeedbackReminded | Answered | LinkCodeIssued | AccountLinked | ChatLinesDue
         | ChatEnded | AgentWroteInChat | ChatMoved | ChatTimedOut)
