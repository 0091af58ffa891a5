"""The small Protocols the core needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from gateway.conversations import Chat, ChatLine, Form, LinkCode, LinkToken
from gateway.errors import DeliveryError
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
    def find(self, identity: str) -> Member | None:
        """The member an address or a member ID names."""
        ...

    def link_telegram(self, member_id: str, user_id: int) -> Member | None:
        """Bind the Telegram user to this member and to nobody else."""
        ...


class Agents(Protocol):
    def by_email(self, address: str) -> Agent | None: ...
    def for_language(self, code: str) -> Sequence[Agent]: ...


class Tickets(Protocol):
    def get(self, number: int) -> Ticket | None: ...
    def by_message_id(self, message_ids: Sequence[str]) -> Ticket | None: ...
    def for_member(self, member_id: str) -> Sequence[Ticket]: ...
    def awaiting_feedback_since(self, before: datetime) -> Sequence[Ticket]: ...
    def add(self, title: str, language: str, member_id: str, channel: Channel,
            opened_at: datetime, follows: int | None = None) -> Ticket: ...
    def save(self, ticket: Ticket) -> None: ...
    def add_entry(self, ticket: Ticket, entry: Entry, at: datetime) -> None: ...
    def last_entries(self, ticket: Ticket, limit: int) -> Sequence[Entry]:
        """The ticket's last `limit` entries the member may see (no internal notes), oldest
        first, with their times as `Entry.at`."""
        ...

    def latest_member_message_id(self, ticket: Ticket) -> str | None:
        """The Message-ID of the member's latest mail on the ticket (email only), if any."""
        ...


class Outbox(Protocol):
    def add(self, message: OutboundMessage, at: datetime) -> None: ...
    def sent_mail(self, outbox_id: int) -> SentMail | None:
        """The email row `outbox_id`, if there is one."""
        ...

    def sent_with_message_id(self, message_ids: Sequence[str]) -> Sequence[SentMail]:
        """The email rows whose Message-ID is one of `message_ids`."""
        ...


class Blobs(Protocol):
    """Attachment bytes by their SHA-256 digest."""

    def put(self, data: bytes) -> str: ...
    def get(self, digest: str) -> bytes: ...


class Forms(Protocol):
    """The one form each Telegram user may have open."""

    def get(self, user_id: int) -> Form | None: ...
    def save(self, user_id: int, form: Form, now: datetime) -> None: ...
    def clear(self, user_id: int) -> None: ...


class Chats(Protocol):
    """The live-chat queue and each chat's lines."""

    def current(self, user_id: int) -> Chat | None:
        """The user's chat that has not ended, if any."""
        ...

    def get(self, chat_id: int) -> Chat | None:
        """The chat, locked for this transaction: two workers never mail its lines twice."""
        ...

    def open(self, chat: Chat) -> Chat:
        """Store a new chat (its `id` is ignored) and return it with its id."""
        ...

    def save(self, chat: Chat) -> None: ...
    def position(self, chat: Chat) -> int:
        """1 for the first waiting chat, and so on."""
        ...

    def add_line(self, chat: Chat, text: str, at: datetime) -> None: ...
    def unmailed(self, chat: Chat) -> Sequence[ChatLine]: ...
    def mark_mailed(self, lines: Sequence[ChatLine], at: datetime) -> None: ...
    def overdue(self, mailed_before: datetime, limit: int) -> Sequence[Chat]:
        """Chats not ended with unmailed lines whose last agent mail is older than the date."""
        ...

    def waiting(self) -> Sequence[Chat]:
        """The queue: the waiting chats, first in line first."""
        ...

    def get_if_free(self, chat_id: int) -> Chat | None:
        """As `get`, but None at once when another transaction holds the chat."""
        ...

    def idle(self, active_before: datetime, limit: int) -> Sequence[Chat]:
        """Chats not ended whose last line from either side (else their start) is older."""
        ...


class Links(Protocol):
    """Link codes and deep-link tokens."""

    def codes_pending(self, user_id: int) -> Sequence[LinkCode]:
        """The user's codes not used yet, newest first."""
        ...

    def add_code(self, code: LinkCode, at: datetime) -> None: ...
    def save_code(self, code: LinkCode) -> None: ...
    def codes_mailed(self, member_id: str, since: datetime) -> int:
        """Codes mailed to the member since then, with the member locked so that two workers
        cannot both see room for one more."""
        ...

    def add_token(self, token: LinkToken) -> None: ...
    def token(self, nonce: str) -> LinkToken | None:
        """The token, locked for this transaction."""
        ...

    def save_token(self, token: LinkToken) -> None: ...


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
    @property
    def blobs(self) -> Blobs: ...
    @property
    def forms(self) -> Forms: ...
    @property
    def chats(self) -> Chats: ...
    @property
    def links(self) -> Links: ...


class Sender(Protocol):
    """One channel's way out: the outgoing runner hands it each due outbox message."""

    async def send(self, message: OutboundMessage, outbox_id: int, created_at: datetime) -> None:
        """Send it now, or raise `DeliveryError` (temporary, permanent, or asking to wait)."""
        ...

    def fall_back(self, uow: UnitOfWork, message: OutboundMessage, error: DeliveryError,
                  now: datetime) -> None:
        """In the transaction that marks `message` failed for good: what goes another way."""
        ...


__all__ = ["Agents", "Blobs", "Chats", "Clock", "Counters", "Forms", "LanguageDetector", "Links",
           "Members", "Outbox", "Renderer", "Sender", "Status", "Tickets", "UnitOfWork"]
