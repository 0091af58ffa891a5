"""A member's message to their closed ticket: a rating, only thanks, a reopening, or a new
ticket that follows it (CONTRACT §10). Both channels' parsing ends here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.commands import AddMessage, Command, Ignore, OpenTicket, RateTicket, ThankClosed
from gateway.messages import InboundMessage
from gateway.people import Member
from gateway.satisfaction import SCORES, parse_rating
from gateway.thanks import is_only_thanks
from gateway.tickets import Status, Ticket


@dataclass(frozen=True)
class AfterClose:
    """How long after its close a ticket takes a rating, and reopens on a reply."""

    satisfaction_days: float
    reopen_days: float


def reply_to_closed(ticket: Ticket, msg: InboundMessage, member: Member, after: AfterClose,
                    now: datetime) -> Command:
    text = msg.text.strip()
    rating = parse_rating(text) if ticket.closed_within(now, after.satisfaction_days) else None
    if rating is not None:
        return RateTicket(ticket, rating.score, rating.comment, text)
    if not msg.attachments and is_only_thanks(text, [member.name]):
        return ThankClosed(ticket, text)
    if ticket.closed_within(now, after.reopen_days):
        return AddMessage(ticket, text)
    return OpenTicket(ticket.title, text, msg.attachments, msg.rejected_attachments,
                      follows=ticket)


def rating_pressed(ticket: Ticket, value: str, after: AfterClose, now: datetime) -> Command:
    """A rating button under a closing notice: taken while the ticket is closed and in time."""
    if (value not in SCORES or ticket.status is not Status.CLOSED
            or not ticket.closed_within(now, after.satisfaction_days)):
        return Ignore("rating-too-late", accepted=True)
    return RateTicket(ticket, int(value), "", value)
