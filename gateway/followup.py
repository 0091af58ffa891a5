"""The scheduler's decisions: one feedback reminder, then auto-close (CONTRACT §2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway import events as ev
from gateway import notify
from gateway.desk import Desk
from gateway.messages import Channel
from gateway.outgoing import Outgoing
from gateway.people import Author, Entry
from gateway.ports import UnitOfWork
from gateway.tickets import Move


def follow_up(uow: UnitOfWork, desk: Desk, now: datetime) -> int:
    """Remind or close tickets whose feedback is late; return how many changed."""
    out = Outgoing(uow, desk, now)
    changed = 0
    since = now - timedelta(days=desk.feedback_reminder_days)
    for ticket in uow.tickets.awaiting_feedback_since(since):
        event: ev.Event
        if ticket.feedback_overdue(now, desk.auto_close_days):
            ticket.move(Move.CLOSE, now)
            uow.tickets.add_entry(ticket, Entry(Author.SYSTEM, "scheduler", Channel.EMAIL,
                                                "closed: no feedback"), now)
            event = ev.TicketClosed(ticket, ev.ClosedBy.AUTO)
        elif ticket.reminded_at is None:
            ticket.reminded_at = now
            event = ev.FeedbackReminded(ticket)
        else:
            continue
        uow.tickets.save(ticket)
        member = uow.members.get(ticket.member_id)
        notify.announce([event], notify.Audience(member, None, None, out, desk, now))
        changed += 1
    return changed
