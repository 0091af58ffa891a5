"""The scheduler's decisions: one feedback reminder, then auto-close (CONTRACT §2).

The reminder always comes first. However late a pass runs (a short `auto_close_days`, the
gateway down over both dates), a ticket not yet reminded is reminded, and closed no sooner
than `auto_close_days - feedback_reminder_days` after the reminder: the member always gets
the time the reminder promised.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway import events as ev
from gateway import notify
from gateway.desk import Desk
from gateway.messages import Channel
from gateway.outgoing import Outgoing
from gateway.people import Author, Entry
from gateway.ports import UnitOfWork
from gateway.tickets import Move, Ticket


def closes_at(ticket: Ticket, desk: Desk, reminded_at: datetime) -> datetime:
    """When a ticket reminded at `reminded_at` closes if the member stays silent."""
    asked = ticket.status_changed_at or ticket.opened_at
    gap = max(desk.auto_close_days - desk.feedback_reminder_days, 0)
    return max(asked + timedelta(days=desk.auto_close_days), reminded_at + timedelta(days=gap))


def follow_up(uow: UnitOfWork, desk: Desk, now: datetime) -> int:
    """Remind or close tickets whose feedback is late; return how many changed."""
    out = Outgoing(uow, desk, now)
    changed = 0
    since = now - timedelta(days=desk.feedback_reminder_days)
    for ticket in uow.tickets.awaiting_feedback_since(since):
        event: ev.Event
        if ticket.reminded_at is None:
            ticket.reminded_at = now
            event = ev.FeedbackReminded(ticket, closes_at(ticket, desk, now))
        elif now >= closes_at(ticket, desk, ticket.reminded_at):
            ticket.move(Move.CLOSE, now)
            uow.tickets.add_entry(ticket, Entry(Author.SYSTEM, "scheduler", Channel.EMAIL,
                                                "closed: no feedback"), now)
            event = ev.TicketClosed(ticket, ev.ClosedBy.AUTO)
        else:
            continue
        uow.tickets.save(ticket)
        member = uow.members.get(ticket.member_id)
        notify.announce([event], notify.Audience(member, None, None, out, desk, now))
        changed += 1
    return changed
