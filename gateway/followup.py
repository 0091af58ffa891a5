"""The scheduler's decisions: one feedback reminder, then auto-close (CONTRACT §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.desk import Desk
from gateway.handlers import member_reply, ticket_data
from gateway.messages import Channel
from gateway.outgoing import Outgoing
from gateway.people import Author, Entry
from gateway.ports import UnitOfWork
from gateway.replies import Reply
from gateway.tickets import Move


def follow_up(uow: UnitOfWork, desk: Desk, now: datetime) -> int:
    """Remind or close tickets whose feedback is late; return how many changed."""
    out = Outgoing(uow, desk, now)
    changed = 0
    since = now - timedelta(days=desk.feedback_reminder_days)
    for ticket in uow.tickets.awaiting_feedback_since(since):
        member = uow.members.get(ticket.member_id)
        if ticket.feedback_overdue(now, desk.auto_close_days):
            ticket.move(Move.CLOSE, now)
            uow.tickets.add_entry(ticket, Entry(Author.SYSTEM, "scheduler", Channel.EMAIL,
                                                "closed: no feedback"), now)
            if member:
                data = {**ticket_data(ticket), "closed_by": "auto", "text": "",
                        "reopen_days": desk.reopen_days}
                out.to_member(member, member_reply(member, "ticket_closed", data,
                                                   ticket.language), ticket=ticket)
            out.to_agents(ticket, Reply("agent_ticket_closed", "en", {
                **ticket_data(ticket), "member_name": member.name if member else "",
                "member_id": ticket.member_id, "closed_by": "auto"}))
        elif ticket.reminded_at is None:
            ticket.reminded_at = now
            if member:
                close_at = (ticket.status_changed_at or now) + timedelta(days=desk.auto_close_days)
                data = {**ticket_data(ticket), "auto_close_at": close_at}
                out.to_member(member, member_reply(member, "feedback_reminder", data,
                                                   ticket.language), ticket=ticket)
        else:
            continue
        uow.tickets.save(ticket)
        changed += 1
    return changed
