"""Turns Replies into OutboundMessages for one transaction: threading, keys, caps."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.bounces import suspended
from gateway.desk import Desk
from gateway.messages import AttachmentRef, Channel, InboundMessage, OutboundMessage
from gateway.people import Agent, Member, fold_address
from gateway.ports import UnitOfWork
from gateway.replies import Reply
from gateway.replykeys import Role, address_with_key
from gateway.tickets import Ticket

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
AUTO_KEY = "auto-reply:"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def one_line(text: str, limit: int = 250) -> str:
    """A header-safe line: no control, bidi or zero-width characters."""
    return " ".join(_UNSAFE.sub(" ", text).split())[:limit]


def for_channel(reply: Reply, channel: Channel) -> Reply:
    """A member's reply knows where it goes, so its wording can say "reply to this message"."""
    return dataclasses.replace(reply, data={**reply.data, "channel": channel.value})


def thread_root(ticket: Ticket, domain: str) -> str:
    return f"ti-{ticket.number}.thread@{domain}"


class Outgoing:
    """Collects what one inbound message (or one scheduler pass) sends, into the outbox."""

    def __init__(self, uow: UnitOfWork, desk: Desk, now: datetime) -> None:
        self._uow = uow
        self._desk = desk
        self._now = now
        self.sent: list[OutboundMessage] = []

    def to_member(self, member: Member, reply: Reply, *, ticket: Ticket | None = None,
                  answering: InboundMessage | None = None, auto: bool = True) -> None:
        """On the ticket's channel (else the one the member wrote by), email as the fallback."""
        channel = ticket.channel if ticket else answering.channel if answering else Channel.EMAIL
        if channel is Channel.TELEGRAM and member.telegram_user_id is not None:
            recipient = str(member.telegram_user_id)
        else:
            channel, recipient = Channel.EMAIL, member.email
        if auto and not self._under_cap(recipient):
            return
        key = (self._desk.keys.sign(ticket.number, Role.MEMBER, member.email, self._now)
               if ticket and channel is Channel.EMAIL else None)
        self._add(recipient, for_channel(reply, channel), ticket, answering, key, auto, (),
                  channel)

    def to_address(self, address: str, reply: Reply, answering: InboundMessage) -> None:
        """An automatic reply to a sender who is not (yet) a member: capped like any other."""
        if self._under_cap(address):
            self._add(address, for_channel(reply, answering.channel), None, answering, None,
                      True, (), answering.channel)

    def to_agents(self, ticket: Ticket, reply: Reply,
                  attachments: Sequence[AttachmentRef] = ()) -> None:
        """Counted toward each agent's cap but never suppressed: members' mail causes them."""
        for address in self.agent_addresses(ticket.language):
            self._count(address)
            key = self._desk.keys.sign(ticket.number, Role.AGENT, address, self._now)
            # Stamped automatic, so agents' own out-of-office replies do not come back.
            self._add(address, reply, ticket, None, key, True, tuple(attachments))

    def to_agent(self, agent: Agent, reply: Reply, ticket: Ticket | None) -> None:
        """An answer to the agent's own mail: once per reason an hour, and capped.

        An autoresponder without auto-reply headers on an agent's mailbox answers each of
        these with another mail the gateway cannot act on; this is what stops that loop.
        """
        about = f"{reply.kind}|{reply.data.get('ref', '')}|{reply.data.get('error', '')}"
        reason = hashlib.sha256(about.encode())
        if not self.once_per(f"agent-answer:{reason.hexdigest()[:16]}:{agent.email}", HOUR):
            log.info("answer to an agent suppressed: sent once this hour", extra={
                "kind": reply.kind})
            return
        if self._under_cap(agent.email):
            self._add(agent.email, reply, ticket, None, None, True, ())

    def agent_addresses(self, language: str) -> list[str]:
        """The language's agents whose mail is not suspended, else the default address."""
        agents = {agent.email for agent in self._uow.agents.for_language(language)}
        live = sorted(a for a in agents if not suspended(a, self._uow, self._now))
        return live or [self._desk.default_agent_address]

    def once_per(self, key: str, window: timedelta) -> bool:
        """True the first time `key` is seen in the current window."""
        return self._uow.counters.hit(key, window, self._now) == 1

    def refusal_due(self, reason: str, sender: str) -> bool:
        """True for the first refusal for `reason` to `sender` today: at most one a day each, however
        the sender spells their address."""
        return self.once_per(f"refusal:{reason}:{fold_address(sender)}", DAY)

    def _count(self, address: str) -> int:
        return self._uow.counters.hit(f"{AUTO_KEY}{fold_address(address)}", HOUR, self._now)

    def _under_cap(self, address: str) -> bool:
        count = self._count(address)
        if count > self._desk.max_auto_replies_per_hour:
            log.info("automatic reply suppressed: cap reached", extra={"count": count})
            return False
        return True

    def _add(self, recipient: str, reply: Reply, ticket: Ticket | None,
             answering: InboundMessage | None, key: str | None, auto: bool,
             attachments: tuple[AttachmentRef, ...], channel: Channel = Channel.EMAIL) -> None:
        # After 3 proven hard bounces in the window, mail to the address stops (RELIABILITY 20).
        if channel is Channel.EMAIL and suspended(recipient, self._uow, self._now):
            log.warning("mail to a hard-bouncing address suppressed", extra={"kind": reply.kind})
            return
        rendered = self._desk.renderer.render(reply)
        references: tuple[str, ...] = ()
        in_reply_to = None
        if ticket:
            references = (thread_root(ticket, self._desk.domain),)
        if answering and answering.channel is Channel.EMAIL and "@" in answering.external_id:
            in_reply_to = answering.external_id
            references = (*references, *answering.references[-8:], in_reply_to)
        message = OutboundMessage(
            channel=channel,
            recipient=recipient,
            subject=one_line(rendered.subject),
            text=rendered.text,
            message_id=f"{uuid.uuid4().hex}@{self._desk.domain}",
            ticket_ref=ticket.ref if ticket else None,
            in_reply_to=in_reply_to,
            references=tuple(dict.fromkeys(references)),
            reply_to=address_with_key(self._desk.address, key) if key else None,
            auto=auto,
            kind=reply.kind,
            attachments=attachments,
        )
        self._uow.outbox.add(message, self._now)
        self.sent.append(message)
