"""What an inbound message asks for: imperative values, one handler each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from gateway.conversations import Chat, Form
from gateway.messages import Attachment
from gateway.replies import Kind
from gateway.tickets import Ticket


@dataclass(frozen=True)
class OpenTicket:
    title: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    rejected: tuple[str, ...] = ()  # names of files not taken, for the acknowledgement
    follows: Ticket | None = None  # the closed ticket, too old to reopen, this one carries on


@dataclass(frozen=True)
class AddMessage:
    ticket: Ticket
    text: str


@dataclass(frozen=True)
class CloseTicket:
    ticket: Ticket
    text: str = ""


@dataclass(frozen=True)
class RateTicket:
    """The member rates the help on their closed ticket: 1 (poor) to 5 (excellent)."""

    ticket: Ticket
    score: int
    comment: str
    text: str  # the member's message, as kept on the ticket


@dataclass(frozen=True)
class ThankClosed:
    """The member only says thanks on their closed ticket: kept, nothing else happens."""

    ticket: Ticket
    text: str


@dataclass(frozen=True)
class ListTickets:
    pass


class AgentAction(StrEnum):
    FEEDBACK = "/feedback"
    CLOSE = "/close"
    OPEN = "/open"
    NOTE = "/note"


@dataclass(frozen=True)
class AgentReply:
    ticket: Ticket
    actions: frozenset[AgentAction]
    text: str
    stray: str = ""  # the first top line's word that looks like a command but is none, as written


@dataclass(frozen=True)
class Unresolved:
    """The message names a ticket the sender may not touch, or an agent wrote without a key."""

    reason: str
    ref: str = ""


Topic = Literal[Kind.TG_START, Kind.TG_HELP, Kind.TG_HOURS, Kind.TG_CANCELLED, Kind.TG_UNKNOWN]
"""What the bot says when asked, or when it did not understand: the answer's kind."""


@dataclass(frozen=True)
class Tell:
    topic: Topic


@dataclass(frozen=True)
class ShowTicket:
    ref: str


@dataclass(frozen=True)
class StartTicketForm:
    pass


@dataclass(frozen=True)
class FillTicketForm:
    """A message while the /new form is open; `word` is /done, /confirm or /skip, if given."""

    form: Form
    text: str
    word: str = ""


class LinkStep(StrEnum):
    START = "start"  # /link: ask for an address or member ID
    IDENTITY = "identity"  # the answer: mail a code
    CODE = "code"  # the code from the mail
    TOKEN = "token"  # /start <token> from an invitation


@dataclass(frozen=True)
class LinkAccount:
    step: LinkStep
    text: str = ""


@dataclass(frozen=True)
class StartChat:
    pass


@dataclass(frozen=True)
class FillChatForm:
    form: Form
    text: str
    word: str = ""


@dataclass(frozen=True)
class SayInChat:
    """A line the member writes in their live chat."""

    chat: Chat
    text: str


@dataclass(frozen=True)
class EndChat:
    pass


@dataclass(frozen=True)
class AnswerChat:
    """An agent's email answer to a live chat; `end` when it starts with /end."""

    chat_id: int
    text: str
    end: bool


@dataclass(frozen=True)
class Ignore:
    """Nothing to do and nothing to say (an edit, a group message, a stray button, a chat key
    that does not open)."""

    reason: str
    accepted: bool = False
    rule: str = "telegram"


MemberCommand = (OpenTicket | AddMessage | CloseTicket | RateTicket | ThankClosed | ListTickets
                 | ShowTicket | StartTicketForm | FillTicketForm)
BotCommand = Tell | LinkAccount | StartChat | FillChatForm | SayInChat | EndChat | Ignore
Command = MemberCommand | BotCommand | AgentReply | AnswerChat | Unresolved
MEMBERS_ONLY = (*get_args(MemberCommand), Unresolved)


def needs_member(command: Command | None) -> bool:
    """What only a linked member may ask on Telegram; the rest is open to anyone who writes."""
    return isinstance(command, MEMBERS_ONLY) or command == Tell(Kind.TG_UNKNOWN)
