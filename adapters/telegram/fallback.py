"""A member blocked the bot (403): what was for them goes by email, and the agents are told.

Only ever to a linked member's registered address: an address typed in the chat form is a claim.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from gateway.desk import Desk
from gateway.messages import Channel, OutboundMessage
from gateway.outgoing import DAY, Outgoing, one_line, thread_root
from gateway.replies import Reply
from gateway.replykeys import Role, address_with_key
from gateway.tickets import parse_ref
from store.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)


def queue_email(uow: SqlUnitOfWork, desk: Desk, message: OutboundMessage, now: datetime) -> bool:
    """Add the email copy of a ticket message or a chat answer to `uow`; False when there is none.

    Nothing is committed here: the caller commits it with the Telegram row's failure, so that a
    crash leaves both undone and the send is retried.
    """
    if not message.recipient.lstrip("-").isdigit() or not message.text.strip():
        return False
    user_id = int(message.recipient)
    member = uow.members.by_telegram(user_id)
    number = parse_ref(message.ticket_ref or "")
    ticket = uow.tickets.get(number) if number is not None else None
    if member is not None and ticket is not None and ticket.member_id == member.member_id:
        key = desk.keys.sign(ticket.number, Role.MEMBER, member.email, now)
        uow.outbox.add(OutboundMessage(
            channel=Channel.EMAIL, recipient=member.email,
            subject=message.subject or f"[{ticket.ref}] {one_line(ticket.title, 200)}",
            text=message.text, message_id=f"{uuid.uuid4().hex}@{desk.domain}",
            ticket_ref=ticket.ref, references=(thread_root(ticket, desk.domain),),
            reply_to=address_with_key(desk.address, key), auto=message.auto,
            kind=message.kind), now)
        out = Outgoing(uow, desk, now)
        if out.once_per(f"tg-blocked:{ticket.ref}", DAY):
            out.to_agents(ticket, Reply("agent_telegram_blocked", "en", {
                "ref": ticket.ref, "title": ticket.title, "member_name": member.name,
                "member_id": member.member_id, "email": member.email}))
    elif message.kind == "tg_chat_agent":
        if member is None:  # the chat form's address is only a claim: never mail it
            log.info("telegram blocked: chat answer not sent by email, account not linked",
                     extra={"kind": message.kind})
            return False
        uow.outbox.add(OutboundMessage(
            channel=Channel.EMAIL, recipient=member.email, subject="Live chat – Technical Issues",
            text=message.text, message_id=f"{uuid.uuid4().hex}@{desk.domain}",
            auto=False, kind=message.kind), now)
    else:
        return False
    return True
