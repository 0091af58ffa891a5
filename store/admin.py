"""The operator's reads and writes: members, agents, tickets (used by the CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from store.tables import AgentRow, AttachmentRow, MemberRow, MessageRow, TicketRow
from store.unit_of_work import aware


def upsert_member(engine: Engine, *, member_id: str, name: str, email: str, rank: str,
                  language: str = "en", telegram_user_id: int | None = None) -> bool:
    """Add or update by member ID; True when added."""
    with Session(engine) as session:
        row = session.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)).first()
        added = row is None
        row = row or MemberRow(member_id=member_id, name=name, email=email, rank=rank)
        row.name, row.email, row.rank = name, email.lower(), rank
        row.language = language or "en"
        if telegram_user_id is not None:
            row.telegram_user_id = telegram_user_id
        session.add(row)
        session.commit()
    return added


def upsert_agent(engine: Engine, *, email: str, name: str, languages: list[str]) -> bool:
    with Session(engine) as session:
        row = session.exec(select(AgentRow).where(col(AgentRow.email) == email.lower())).first()
        added = row is None
        row = row or AgentRow(email=email.lower(), name=name)
        row.name, row.languages = name, ",".join(sorted({code.strip().lower() for code in languages if code.strip()}))
        session.add(row)
        session.commit()
    return added


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
        return {**ticket_summary(row), "messages": messages}
