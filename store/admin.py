"""The operator's reads and writes: members, agents, tickets (used by the CLI)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.bounces import BOUNCE_KEY, BOUNCE_WINDOW, SUSPEND_AFTER_BOUNCES
from gateway.people import fold_address
from store.tables import (
    AgentRow,
    AttachmentRow,
    InboxRow,
    MemberRow,
    MessageRow,
    OutboxRow,
    TicketRow,
)
from store.unit_of_work import SqlCounters, aware


def upsert_member(engine: Engine, *, member_id: str, name: str, email: str, rank: str,
                  language: str = "en", telegram_user_id: int | None = None) -> bool:
    """Add or update by member ID; True when added."""
    with Session(engine) as session:
        row = session.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)).first()
        added = row is None
        row = row or MemberRow(member_id=member_id, name=name, email=email, rank=rank)
        row.name, row.email, row.rank = name, fold_address(email), rank
        row.language = language or "en"
        if telegram_user_id is not None:
            row.telegram_user_id = telegram_user_id
        session.add(row)
        session.commit()
    return added


def upsert_agent(engine: Engine, *, email: str, name: str, languages: list[str]) -> bool:
    with Session(engine) as session:
        address = fold_address(email)
        row = session.exec(select(AgentRow).where(col(AgentRow.email) == address)).first()
        added = row is None
        row = row or AgentRow(email=address, name=name)
        codes = {code.strip().lower() for code in languages if code.strip()}
        row.name, row.languages = name, ",".join(sorted(codes))
        session.add(row)
        session.commit()
    return added


def suspended_agent_addresses(engine: Engine, default_address: str, now: datetime
                              ) -> tuple[int, list[str]]:
    """How many agent addresses there are (the default one included), and those whose mail is
    suspended after hard bounces (gateway.bounces)."""
    with Session(engine) as session:
        addresses = {fold_address(a) for a in session.exec(select(AgentRow.email)).all()}
        addresses.add(fold_address(default_address))
        counters = SqlCounters(session)
        return len(addresses), sorted(a for a in addresses if counters.peek(
            f"{BOUNCE_KEY}{a}", BOUNCE_WINDOW, now) >= SUSPEND_AFTER_BOUNCES)


def iso(value: datetime | None) -> str | None:
    moment = aware(value)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def ticket_summary(row: TicketRow) -> dict[str, Any]:
    return {"ref": f"TI-{row.number}", "status": row.status, "title": row.title,
            "language": row.language, "member_id": row.member_id, "channel": row.channel,
            "opened_at": iso(row.opened_at), "closed_at": iso(row.closed_at)}


def list_tickets(engine: Engine, *, status: str | None = None,
                 member_id: str | None = None) -> list[dict[str, Any]]:
    with Session(engine) as session:
        query = select(TicketRow).order_by(col(TicketRow.number))
        if status:
            query = query.where(col(TicketRow.status) == status)
        if member_id:
            query = query.where(col(TicketRow.member_id) == member_id)
        return [ticket_summary(row) for row in session.exec(query).all()]


def show_ticket(engine: Engine, number: int) -> dict[str, Any] | None:
    with Session(engine) as session:
        row = session.get(TicketRow, number)
        if row is None:
            return None
        messages = []
        for message in session.exec(select(MessageRow).where(
                col(MessageRow.ticket_number) == number).order_by(col(MessageRow.id))).all():
            files = session.exec(select(AttachmentRow).where(
                col(AttachmentRow.message_id) == message.id)).all()
            messages.append({
                "at": iso(message.created_at), "author_kind": message.author_kind,
                "author": message.author, "channel": message.channel,
                "internal": message.internal, "text": message.text,
                "attachments": [{"filename": f.filename, "content_type": f.content_type,
                                 "size": f.size, "sha256": f.digest} for f in files],
            })
        return {**ticket_summary(row), "follows": f"TI-{row.follows}" if row.follows else None,
                "satisfaction": satisfaction(row), "messages": messages}


def satisfaction(row: TicketRow) -> dict[str, Any] | None:
    """The member's rating of the help, if they gave one."""
    if row.satisfaction_score is None:
        return None
    return {"score": row.satisfaction_score, "comment": row.satisfaction_comment or "",
            "at": iso(row.satisfaction_at)}


_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def plausible_address(address: str) -> bool:
    return bool(_ADDRESS.match(address.strip()))


def member_problem(ranks: tuple[str, ...], member_id: str, email: str, rank: str,
                   language: str) -> str:
    """What is wrong with a member's fields, in one sentence, or ''."""
    if not member_id.strip():
        return "member_id is empty"
    if not plausible_address(email):
        return f"{email!r} is not an email address"
    if rank.casefold() not in {known.casefold() for known in ranks}:
        return f"rank {rank!r} is not one of: {', '.join(ranks)}"
    if language and not re.fullmatch(r"[a-z]{2}", language):
        return f"language {language!r} is not a two-letter code like nl"
    return ""


def parse_member_row(ranks: tuple[str, ...], row: dict[str, str | None]
                     ) -> tuple[str, dict[str, Any]]:
    """A CSV row as upsert_member arguments, or the problem with it."""
    values = {key: (row.get(key) or "").strip() for key in
              ("member_id", "name", "email", "rank", "language", "telegram_user_id")}
    canonical = {known.casefold(): known for known in ranks}
    problem = member_problem(ranks, values["member_id"], values["email"], values["rank"],
                             values["language"].lower())
    if not problem and not values["name"]:
        problem = "name is empty"
    telegram = values["telegram_user_id"]
    if not problem and telegram and not (telegram.isascii() and telegram.isdigit()):
        problem = f"telegram_user_id {telegram!r} is not a number"
    if problem:
        return problem, {}
    return "", {"member_id": values["member_id"], "name": values["name"],
                "email": values["email"], "rank": canonical[values["rank"].casefold()],
                "language": values["language"].lower() or "en",
                "telegram_user_id": int(telegram) if telegram else None}


def inbox_summary(row: InboxRow) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "status": row.status, "reason": row.reason,
            "ticket_ref": row.ticket_ref, "attempts": row.attempts,
            "received_at": iso(row.received_at), "processed_at": iso(row.processed_at)}


def outbox_summary(row: OutboxRow) -> dict[str, Any]:
    return {"id": row.id, "channel": row.channel, "recipient": row.recipient,
            "kind": row.kind, "ticket_ref": row.ticket_ref, "status": row.status,
            "attempts": row.attempts, "message_id": row.message_id,
            "created_at": iso(row.created_at), "sent_at": iso(row.sent_at),
            "last_error": row.last_error}
