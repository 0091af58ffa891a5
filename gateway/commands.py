"""What an inbound message asks for: imperative values, one handler each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.tickets import Ticket


@dataclass(frozen=True)
class OpenTicket:
    title: str
    text: str


@dataclass(frozen=True)
class AddMessage:
    ticket: Ticket
    text: str


@dataclass(frozen=True)
class CloseTicket:
    ticket: Ticket
    text: str = ""


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


@dataclass(frozen=True)
class Unresolved:
    """The message names a ticket the sender may not touch, or an agent wrote without a key."""

    reason: str
    ref: str = ""


MemberCommand = OpenTicket | AddMessage | CloseTicket | ListTickets
Command = MemberCommand | AgentReply | Unresolved
