"""One transaction over the tables; implements the core's ports (gateway.ports)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gateway.messages import Channel, OutboundMessage, SentMail
from gateway.people import Agent, Author, Entry, Member, fold_address
from gateway.tickets import Satisfaction, Status, Ticket
from store.blobs import BlobStore
from store.conversations import SqlChats, SqlForms, SqlLinks
from store.tables import (
    AgentRow,
    AttachmentRow,
    CounterRow,
    MemberRow,
    MessageRow,
    OutboxRow,
    TicketRow,
)
from store.times import aware as aware  # re-exported: the adapters import it from here


def to_member(row: MemberRow) -> Member:
    return Member(row.member_id, row.name, row.email, row.rank, row.language, row.telegram_user_id)


def to_ticket(row: TicketRow) -> Ticket:
    assert row.number is not None
    satisfaction = (Satisfaction(row.satisfaction_score, row.satisfaction_comment or "",
                                 aware(row.satisfaction_at))
                    if row.satisfaction_score is not None and row.satisfaction_at else None)
    return Ticket(row.number, row.title, row.language, row.member_id, Channel(row.channel),
                  Status(row.status), aware(row.opened_at),
                  aware(row.closed_at), aware(row.status_changed_at), aware(row.reminded_at),
                  satisfaction, row.follows)


class SqlMembers:
    def __init__(self, session: Session) -> None:
        self._s = session

    def _one(self, *where: Any) -> Member | None:
        row = self._s.exec(select(MemberRow).where(*where)).first()
        return to_member(row) if row else None

    def by_email(self, address: str) -> Member | None:
        return self._one(col(MemberRow.email) == fold_address(address))

    def by_telegram(self, user_id: int) -> Member | None:
        return self._one(col(MemberRow.telegram_user_id) == user_id)

    def get(self, member_id: str) -> Member | None:
        return self._one(col(MemberRow.member_id) == member_id)

    def find(self, identity: str) -> Member | None:
        value = identity.strip()
        return self.by_email(value) if "@" in value else self.get(value)

    def link_telegram(self, member_id: str, user_id: int) -> Member | None:
        row = self._s.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)).first()
        if row is None:
            return None
        for other in self._s.exec(select(MemberRow).where(col(MemberRow.telegram_user_id) == user_id,
                                                          col(MemberRow.member_id) != member_id)):
            other.telegram_user_id = None
            self._s.add(other)
        self._s.flush()  # the id is unique: free it before giving it to this member
        row.telegram_user_id = user_id
        self._s.add(row)
        self._s.flush()
        return to_member(row)


class SqlAgents:
    def __init__(self, session: Session) -> None:
        self._s = session

    def by_email(self, address: str) -> Agent | None:
        row = self._s.exec(select(AgentRow).where(col(AgentRow.email) == fold_address(address))).first()
        return self._agent(row) if row else None

    def for_language(self, code: str) -> Sequence[Agent]:
        rows = self._s.exec(select(AgentRow)).all()
        agents = [self._agent(row) for row in rows]
        return [agent for agent in agents if code in agent.languages]

    @staticmethod
    def _agent(row: AgentRow) -> Agent:
        languages = frozenset(code for code in row.languages.split(",") if code)
        return Agent(row.email, row.name, languages)


class SqlTickets:
    def __init__(self, session: Session, blobs: BlobStore) -> None:
        self._s = session
        self._blobs = blobs

    def get(self, number: int) -> Ticket | None:
        row = self._s.get(TicketRow, number)
        return to_ticket(row) if row else None

    def by_message_id(self, message_ids: Sequence[str]) -> Ticket | None:
        ids = [m for m in message_ids if m][-50:]
        if not ids:
            return None
        numbers = self._s.exec(select(MessageRow.ticket_number).where(
            col(MessageRow.external_id).in_(ids))).all()
        refs = self._s.exec(select(OutboxRow.ticket_ref).where(
            col(OutboxRow.message_id).in_(ids), col(OutboxRow.ticket_ref).is_not(None))).all()
        candidates = [*numbers, *(int(ref[3:]) for ref in refs if ref)]
        return self.get(candidates[-1]) if candidates else None

    def for_member(self, member_id: str) -> Sequence[Ticket]:
        rows = self._s.exec(select(TicketRow).where(col(TicketRow.member_id) == member_id)
                            .order_by(col(TicketRow.number).desc())).all()
        return [to_ticket(row) for row in rows]

    def awaiting_feedback_since(self, before: datetime) -> Sequence[Ticket]:
        rows = self._s.exec(select(TicketRow).where(
            col(TicketRow.status) == Status.AWAITING_FEEDBACK.value,
            col(TicketRow.status_changed_at) <= before)).all()
        return [to_ticket(row) for row in rows]

    def add(self, title: str, language: str, member_id: str, channel: Channel,
            opened_at: datetime, follows: int | None = None) -> Ticket:
        row = TicketRow(title=title, language=language, member_id=member_id,
                        channel=channel.value, status=Status.OPEN.value, opened_at=opened_at,
                        status_changed_at=opened_at, follows=follows)
        self._s.add(row)
        self._s.flush()
        return to_ticket(row)

    def save(self, ticket: Ticket) -> None:
        row = self._s.get(TicketRow, ticket.number)
        assert row is not None
        row.status = ticket.status.value
        row.closed_at = ticket.closed_at
        row.status_changed_at = ticket.status_changed_at
        row.reminded_at = ticket.reminded_at
        rating = ticket.satisfaction
        row.satisfaction_score = rating.score if rating else None
        row.satisfaction_comment = rating.comment if rating else None
        row.satisfaction_at = rating.at if rating else None
        self._s.add(row)

    def add_entry(self, ticket: Ticket, entry: Entry, at: datetime) -> None:
        row = MessageRow(ticket_number=ticket.number, author_kind=entry.author_kind.value,
                         author=entry.author, channel=entry.channel.value, text=entry.text,
                         external_id=entry.external_id, internal=entry.internal, created_at=at)
        self._s.add(row)
        self._s.flush()
        assert row.id is not None
        for attachment in entry.attachments:
            digest = self._blobs.put(attachment.data)
            self._s.add(AttachmentRow(message_id=row.id, filename=attachment.filename,
                                      content_type=attachment.content_type,
                                      size=attachment.size, digest=digest))

    def last_entries(self, ticket: Ticket, limit: int) -> Sequence[Entry]:
        """Text only: the entries come without their attachments' bytes."""
        rows = self._s.exec(select(MessageRow).where(
            col(MessageRow.ticket_number) == ticket.number, col(MessageRow.internal).is_(False))
            .order_by(col(MessageRow.id).desc()).limit(limit)).all()
        return [Entry(Author(row.author_kind), row.author, Channel(row.channel), row.text,
                      row.external_id, row.internal, at=aware(row.created_at))
                for row in reversed(rows)]

    def latest_member_message_id(self, ticket: Ticket) -> str | None:
        return self._s.exec(select(MessageRow.external_id).where(
            col(MessageRow.ticket_number) == ticket.number,
            col(MessageRow.author_kind) == Author.MEMBER.value,
            col(MessageRow.channel) == Channel.EMAIL.value,
            col(MessageRow.external_id).contains("@"))
            .order_by(col(MessageRow.id).desc()).limit(1)).first()


MAX_LOOKUP = 20  # Message-IDs looked up for one delivery report


class SqlOutbox:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, message: OutboundMessage, at: datetime) -> None:
        self._s.add(OutboxRow(channel=message.channel.value, recipient=message.recipient,
                              message_id=message.message_id, ticket_ref=message.ticket_ref,
                              kind=message.kind, auto=message.auto, payload=encode(message),
                              created_at=at, next_attempt_at=at))

    def sent_mail(self, outbox_id: int) -> SentMail | None:
        row = self._s.get(OutboxRow, outbox_id)
        if row is None or row.id is None or row.channel != Channel.EMAIL.value:
            return None
        return SentMail(row.id, row.recipient)

    def sent_with_message_id(self, message_ids: Sequence[str]) -> Sequence[SentMail]:
        ids = [m for m in message_ids if m][:MAX_LOOKUP]
        if not ids:
            return []
        rows = self._s.exec(select(OutboxRow).where(col(OutboxRow.message_id).in_(ids),
                                                    col(OutboxRow.channel) == Channel.EMAIL.value))
        return [SentMail(row.id, row.recipient) for row in rows if row.id is not None]


def encode(message: OutboundMessage) -> str:
    return json.dumps(asdict(message), ensure_ascii=False)


class SqlCounters:
    def __init__(self, session: Session) -> None:
        self._s = session

    @staticmethod
    def _window(window: timedelta, now: datetime) -> datetime:
        seconds = int(window.total_seconds())
        return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)

    def hit(self, key: str, window: timedelta, now: datetime) -> int:
        start = self._window(window, now)
        dialect = self._s.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        upsert = insert(CounterRow).values(key=key, window_start=start, count=1)
        statement = upsert.on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": col(CounterRow.count) + 1},
        ).returning(col(CounterRow.count))
        return int(self._s.execute(statement).scalar_one())

    def peek(self, key: str, window: timedelta, now: datetime) -> int:
        start = self._window(window, now)
        count = self._s.exec(select(func.coalesce(func.sum(CounterRow.count), 0)).where(
            col(CounterRow.key) == key, col(CounterRow.window_start) == start)).one()
        return int(count or 0)


class SqlUnitOfWork:
    """`with SqlUnitOfWork(engine, blobs) as uow: ...; uow.commit()` — rolls back otherwise."""

    def __init__(self, engine: Engine, blobs: BlobStore) -> None:
        self._engine = engine
        self._blobs = blobs

    def __enter__(self) -> SqlUnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False)
        self.members = SqlMembers(self.session)
        self.agents = SqlAgents(self.session)
        self.tickets = SqlTickets(self.session, self._blobs)
        self.outbox = SqlOutbox(self.session)
        self.counters = SqlCounters(self.session)
        self.blobs = self._blobs
        self.forms = SqlForms(self.session)
        self.chats = SqlChats(self.session)
        self.links = SqlLinks(self.session)
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
