"""The small Protocols the core needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from gateway.messages import Channel, OutboundMessage, SentMail
from gateway.people import Agent, Entry, Member
from gateway.replies import Rendered, Reply
from gateway.tickets import Status, Ticket


class Clock(Protocol):
    def now(self) -> datetime: ...


class Renderer(Protocol):
    def render(self, reply: Reply) -> Rendered: ...


class LanguageDetector(Protocol):
    def detect(self, text: str) -> str | None: ...


class Members(Protocol):
    def by_email(self, address: str) -> Member | None: ...
    def by_telegram(self, user_id: int) -> Member | None: ...
    def get(self, member_id: str) -> Member | None: ...


class Agents(Protocol):
    def by_email(self, address: str) -> Agent | None: ...
    def for_language(self, code: str) -> Sequence[Agent]: ...


class Tickets(Protocol):
    def get(self, number: int) -> Ticket | None: ...
    def by_message_id(self, message_ids: Sequence[str]) -> Ticket | None: ...
    def for_member(self, member_id: str) -> Sequence[Ticket]: ...
    def awaiting_feedback_since(self, before: datetime) -> Sequence[Ticket]: ...
    def add(self, title: str, language: str, member_id: str, channel: Channel,
            opened_at: datetime) -> Ticket: ...
    def save(self, ticket: Ticket) -> None: ...
    def add_entry(self, ticket: Ticket, entry: Entry, at: datetime) -> None: ...


class Outbox(Protocol):
    def add(self, message: OutboundMessage, at: datetime) -> None: ...
    def sent_mail(self, outbox_id: int) -> SentMail | None:
        """The email row `outbox_id`, if there is one."""
        ...

    def sent_with_message_id(self, message_ids: Sequence[str]) -> Sequence[SentMail]:
        """The email rows whose Message-ID is one of `message_ids`."""
        ...


class Counters(Protocol):
    def hit(self, key: str, window: timedelta, now: datetime) -> int:
        """Count one event under `key` in the current window; return the window's count."""
        ...

    def peek(self, key: str, window: timedelta, now: datetime) -> int: ...


class UnitOfWork(Protocol):
    """The repositories of one transaction; whoever opened it commits."""

    @property
    def members(self) -> Members: ...
    @property
    def agents(self) -> Agents: ...
    @property
    def tickets(self) -> Tickets: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def counters(self) -> Counters: ...


__all__ = ["Agents", "Clock", "Counters", "LanguageDetector", "Members", "Outbox",
           "Renderer", "Status", "Tickets", "UnitOfWork"]
