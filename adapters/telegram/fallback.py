"""A member blocked the bot (403): what was for them goes by email, and the agents are told.

Only ever to a linked member's registered address: an address typed in the chat form is a claim.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gateway.desk import Desk
from gateway.messages import OutboundMessage
from gateway.outgoing import DAY, Outgoing
from gateway.ports import UnitOfWork
from gateway.replies import Kind, Rendered, Reply
from gateway.tickets import parse_ref

log = logging.getLogger(__name__)
CHAT_SUBJECT = "Live chat – Technical Issues"


def queue_email(uow: UnitOfWork, desk: Desk, message: OutboundMessage, now: datetime) -> bool:
    """Add the email copy of a ticket message or a chat answer to `uow`; False when there is none.

    Nothing is committed here: the caller commits it with the Telegram row's failure, so that a
    crash leaves both undone and the send is retried.
    """
    if not message.recipient.lstrip("-").isdigit() or not message.text.strip():
        return False
    member = uow.members.by_telegram(int(message.recipient))
    number = parse_ref(message.ticket_ref or "")
    ticket = uow.tickets.get(number) if number is not None else None
    out = Outgoing(uow, desk, now)
    if member is not None and ticket is not None and ticket.member_id == member.member_id:
        subject = message.subject or f"[{ticket.ref}] {ticket.title}"
        out.to_member_by_email(member, message.kind, Rendered(subject, message.text),
                               ticket=ticket, auto=message.auto)
        if out.once_per(f"tg-blocked:{ticket.ref}", DAY):
            out.to_agents(ticket, Reply(Kind.AGENT_TELEGRAM_BLOCKED, "en", {
                "ref": ticket.ref, "title": ticket.title, "member_name": member.name,
                "member_id": member.member_id, "email": member.email}))
    elif message.kind == Kind.TG_CHAT_AGENT:
        if member is None:  # the chat form's address is only a claim: never mail it
            log.info("telegram blocked: chat answer not sent by email, account not linked",
                     extra={"kind": message.kind})
            return False
        out.to_member_by_email(member, message.kind, Rendered(CHAT_SUBJECT, message.text),
                               ticket=None, auto=False)
    else:
        return False
    return True
