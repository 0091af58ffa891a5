"""In-memory implementations of gateway.ports, a fixed clock, and a Desk builder.

The fakes copy tickets in and out (like the real store does), so a handler that forgets
to `save` a ticket is caught by the tests.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.desk import Desk
from gateway.hours import make_window
from gateway.languages import Language, LanguageTable
from gateway.messages import Attachment, Channel, InboundMessage, OutboundMessage, SentMail
from gateway.people import Agent, Author, Entry, Member
from gateway.replies import Rendered, Reply
from gateway.replykeys import ReplyKeys
from gateway.service import Outcome, handle_inbound
from gateway.tickets import Status, Ticket
from tests.unit.fakes_conversations import FakeBlobs, FakeChats, FakeForms, FakeLinks

# Monday 7 December 2026, 10:00 UTC: inside the English window, before the "*" one.
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
SUPPORT = "support@example.org"
DEFAULT_AGENTS = "desk@example.org"
SECRET = "test-secret"
KEY_DAYS = 180

RANKS = ("Wellness Advocate", "Manager", "Director", "Executive", "Elite", "Premier",
         "Silver", "Gold", "Platinum", "Diamond", "Blue Diamond", "Presidential Diamond")

LANGUAGES = (
    Language("en", ("English",), "English - Cannot process my order"),
    Language("nl", ("Nederlands", "Dutch"), "Nederlands - Kan bestelling niet verwerken"),
    Language("da", ("Dansk", "Danish"), "Dansk - Kan ikke gennemføre min bestilling"),
    Language("fr", ("Français", "French"), "Français - Impossible de valider ma commande"),
    Language("cs", ("Čeština", "Česky", "Czech"), "Čeština - Nelze zpracovat objednávku"),
    Language("fi", ("Suomi", "Finnish"), "Suomi - Tilausta ei voi käsitellä"),
)

WINDOWS = (
    make_window("Mon-Fri", "06:00", "13:00", "UTC", ["en"]),
    make_window("Mon-Fri", "13:00", "21:00", "UTC", ["*"]),
)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FakeRenderer:
    """Remembers every Reply; the text's first line is its index in `replies`."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []

    def render(self, reply: Reply) -> Rendered:
        self.replies.append(reply)
        ref = reply.data.get("ref", "")
        subject = f"[{ref}] {reply.kind}" if ref else reply.kind
        body = repr(sorted(reply.data.items(), key=lambda item: item[0]))
        return Rendered(subject=subject, text=f"{len(self.replies) - 1}\n{body}")

    def reply_of(self, message: OutboundMessage) -> Reply:
        return self.replies[int(message.text.split("\n", 1)[0])]


class FakeDetector:
    """Exact texts first, then a keyword guess; None when nothing matches."""

    KEYWORDS = (("bestelling", "nl"), ("commande", "fr"), ("objednávk", "cs"),
                ("tilaus", "fi"), ("bestilling", "da"), ("order", "en"))

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.known = dict(known or {})

    def detect(self, text: str) -> str | None:
        if text in self.known:
            return self.known[text]
        lowered = text.lower()
        for word, code in self.KEYWORDS:
            if word in lowered:
                return code
        return None


class FakeMembers:
    def __init__(self, members: Iterable[Member] = ()) -> None:
        self._by_id = {member.member_id: member for member in members}

    def add(self, member: Member) -> Member:
        self._by_id[member.member_id] = member
        return member

    def by_email(self, address: str) -> Member | None:
        return next((m for m in self._by_id.values() if m.email.lower() == address.lower()),
                    None)

    def by_telegram(self, user_id: int) -> Member | None:
        return next((m for m in self._by_id.values() if m.telegram_user_id == user_id), None)

    def get(self, member_id: str) -> Member | None:
        return self._by_id.get(member_id)

    def find(self, identity: str) -> Member | None:
        value = identity.strip()
        return self.by_email(value) if "@" in value else self.get(value)

    def link_telegram(self, member_id: str, user_id: int) -> Member | None:
        if member_id not in self._by_id:
            return None
        for other in list(self._by_id.values()):
            if other.telegram_user_id == user_id:
                self._by_id[other.member_id] = dataclasses.replace(other, telegram_user_id=None)
        return self.add(dataclasses.replace(self._by_id[member_id], telegram_user_id=user_id))


class FakeAgents:
    def __init__(self, agents: Iterable[Agent] = ()) -> None:
        self._agents = list(agents)

    def add(self, agent: Agent) -> Agent:
        self._agents.append(agent)
        return agent

    def by_email(self, address: str) -> Agent | None:
        return next((a for a in self._agents if a.email.lower() == address.lower()), None)

    def for_language(self, code: str) -> Sequence[Agent]:
        return [agent for agent in self._agents if code in agent.languages]


class FakeOutbox:
    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []
        self.added_at: list[datetime] = []

    def add(self, message: OutboundMessage, at: datetime) -> None:
        self.messages.append(message)
        self.added_at.append(at)

    def sent_mail(self, outbox_id: int) -> SentMail | None:
        """Row ids count from 1 in the order of `messages`, like the table's."""
        if not 1 <= outbox_id <= len(self.messages):
            return None
        message = self.messages[outbox_id - 1]
        return SentMail(outbox_id, message.recipient) if message.channel is Channel.EMAIL else None

    def sent_with_message_id(self, message_ids: Sequence[str]) -> Sequence[SentMail]:
        return [SentMail(n, m.recipient) for n, m in enumerate(self.messages, 1)
                if m.message_id in message_ids and m.channel is Channel.EMAIL]

    # Test helper, not part of the port.
    def id_of(self, message: OutboundMessage) -> int:
        return self.messages.index(message) + 1


class FakeTickets:
    def __init__(self, outbox: FakeOutbox) -> None:
        self._outbox = outbox
        self._tickets: dict[int, Ticket] = {}
        self._numbers = itertools.count(1)
        self.entries: dict[int, list[tuple[Entry, datetime]]] = defaultdict(list)
        self.saves = 0

    def get(self, number: int) -> Ticket | None:
        ticket = self._tickets.get(number)
        return dataclasses.replace(ticket) if ticket else None

    def by_message_id(self, message_ids: Sequence[str]) -> Ticket | None:
        found: list[int] = []
        for message_id in (m for m in message_ids if m):
            for number, entries in self.entries.items():
                if any(entry.external_id == message_id for entry, _ in entries):
                    found.append(number)
            for message in self._outbox.messages:
                if message.message_id == message_id and message.ticket_ref:
                    found.append(int(message.ticket_ref[3:]))
        return self.get(found[-1]) if found else None

    def for_member(self, member_id: str) -> Sequence[Ticket]:
        mine = [t for t in self._tickets.values() if t.member_id == member_id]
        return [dataclasses.replace(t) for t in sorted(mine, key=lambda t: -t.number)]

    def awaiting_feedback_since(self, before: datetime) -> Sequence[Ticket]:
        return [dataclasses.replace(t) for t in self._tickets.values()
                if t.status is Status.AWAITING_FEEDBACK
                and (t.status_changed_at or t.opened_at) <= before]

    def add(self, title: str, language: str, member_id: str, channel: Channel,
            opened_at: datetime, follows: int | None = None) -> Ticket:
        ticket = Ticket(next(self._numbers), title, language, member_id, channel, Status.OPEN,
                        opened_at, status_changed_at=opened_at, follows=follows)
        self._tickets[ticket.number] = ticket
        return dataclasses.replace(ticket)

    def save(self, ticket: Ticket) -> None:
        assert ticket.number in self._tickets, f"save of unknown ticket {ticket.ref}"
        self._tickets[ticket.number] = dataclasses.replace(ticket)
        self.saves += 1

    def add_entry(self, ticket: Ticket, entry: Entry, at: datetime) -> None:
        assert ticket.number in self._tickets, f"entry for unknown ticket {ticket.ref}"
        self.entries[ticket.number].append((entry, at))

    def last_entries(self, ticket: Ticket, limit: int) -> Sequence[Entry]:
        visible = [dataclasses.replace(entry, attachments=(), at=at)
                   for entry, at in self.entries.get(ticket.number, []) if not entry.internal]
        return visible[-limit:] if limit > 0 else []

    def latest_member_message_id(self, ticket: Ticket) -> str | None:
        mails = [entry.external_id for entry, _ in self.entries.get(ticket.number, [])
                 if entry.author_kind is Author.MEMBER and entry.channel is Channel.EMAIL
                 and "@" in entry.external_id]
        return mails[-1] if mails else None

    # Test helpers, not part of the port.
    def put(self, ticket: Ticket) -> Ticket:
        self._tickets[ticket.number] = dataclasses.replace(ticket)
        return ticket

    def all(self) -> list[Ticket]:
        return [dataclasses.replace(t) for t in self._tickets.values()]


class FakeCounters:
    """Fixed windows aligned on the epoch, like the SQL counters."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int, int], int] = defaultdict(int)

    @staticmethod
    def _slot(key: str, window: timedelta, now: datetime) -> tuple[str, int, int]:
        seconds = int(window.total_seconds())
        return key, seconds, int(now.timestamp()) // seconds

    def hit(self, key: str, window: timedelta, now: datetime) -> int:
        slot = self._slot(key, window, now)
        self.counts[slot] += 1
        return self.counts[slot]

    def peek(self, key: str, window: timedelta, now: datetime) -> int:
        return self.counts.get(self._slot(key, window, now), 0)


class FakeUnitOfWork:
    def __init__(self, members: Iterable[Member] = (), agents: Iterable[Agent] = ()) -> None:
        self.members = FakeMembers(members)
        self.agents = FakeAgents(agents)
        self.outbox = FakeOutbox()
        self.tickets = FakeTickets(self.outbox)
        self.counters = FakeCounters()
        self.blobs = FakeBlobs()
        self.forms = FakeForms()
        self.chats = FakeChats()
        self.links = FakeLinks()


def reply_keys(secret: str = SECRET, old_secrets: tuple[str, ...] = (),
               valid_days: int = KEY_DAYS) -> ReplyKeys:
    return ReplyKeys(secret, old_secrets, valid_days)


def make_languages() -> LanguageTable:
    return LanguageTable(LANGUAGES)


def make_desk(**overrides: Any) -> Desk:
    """A desk with this tier's own values: the unit tier reads no settings (and needs no pydantic)."""
    values: dict[str, Any] = {
        "address": SUPPORT,
        "default_agent_address": DEFAULT_AGENTS,
        "keys": reply_keys(),
        "renderer": FakeRenderer(),
        "detector": FakeDetector(),
        "languages": make_languages(),
        "windows": WINDOWS,
        "ranks": RANKS,
        "min_rank": "Silver",
        "reopen_days": 14,
        "feedback_reminder_days": 3,
        "auto_close_days": 14,
        "max_auto_replies_per_hour": 5,
        "max_messages_per_hour": 20,
        "satisfaction_days": 7,
        "chat_idle_minutes": 15,
    }
    values.update(overrides)
    return Desk(**values)


# People used across the service tests.
ALICE = Member("M001", "Alice", "alice@members.example", "Gold", "nl")
BOB = Member("M002", "Bob", "bob@members.example", "Manager", "en")  # below Silver
CAROL = Member("M003", "Carol", "carol@members.example", "Silver", "fr")
ANNA = Agent("anna@agents.example", "Anna", frozenset({"nl"}))
ERIC = Agent("eric@agents.example", "Eric", frozenset({"en", "da"}))


class World:
    """A desk, a unit of work and a clock; `handle` runs one inbound message."""

    def __init__(self, clock: FakeClock | None = None, *, members: Iterable[Member] = (
            ALICE, BOB, CAROL), agents: Iterable[Agent] = (ANNA, ERIC), **desk: Any) -> None:
        self.clock = clock or FakeClock()
        self.uow = FakeUnitOfWork(members, agents)
        self.renderer = FakeRenderer()
        self.desk = make_desk(renderer=self.renderer, **desk)
        self._seen = 0
        self._ids = itertools.count(1)

    def email(self, sender: str, subject: str, text: str = "Please help.", **fields: Any
              ) -> InboundMessage:
        values: dict[str, Any] = {
            "channel": Channel.EMAIL,
            "external_id": f"<in-{next(self._ids)}@members.example>",
            "sender": sender.lower(),
            "subject": subject,
            "text": text,
            "full_text": text,
            "received_at": self.clock.now(),
            "recipients": (SUPPORT,),
        }
        values.update(fields)
        return InboundMessage(**values)

    def handle(self, msg: InboundMessage) -> Outcome:
        return handle_inbound(msg, self.uow, self.desk, self.clock.now())

    def send(self, sender: str, subject: str, text: str = "Please help.", **fields: Any
             ) -> Outcome:
        return self.handle(self.email(sender, subject, text, **fields))

    def take(self) -> list[OutboundMessage]:
        """The outbox messages added since the last take."""
        new = self.uow.outbox.messages[self._seen:]
        self._seen = len(self.uow.outbox.messages)
        return new

    def reply(self, message: OutboundMessage) -> Reply:
        return self.renderer.reply_of(message)

    def ticket(self, number: int) -> Ticket:
        ticket = self.uow.tickets.get(number)
        assert ticket is not None
        return ticket

    def entries(self, number: int) -> list[Entry]:
        return [entry for entry, _ in self.uow.tickets.entries.get(number, [])]


def attachment(name: str = "screen.png", data: bytes = b"\x89PNG fake") -> Attachment:
    return Attachment(name, "image/png", data)
