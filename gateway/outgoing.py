"""Turns Replies into OutboundMessages for one transaction: threading, keys, caps."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.bounces import suspended
from gateway.conversations import Chat
from gateway.desk import Desk
from gateway.messages import AttachmentRef, Channel, InboundMessage, OutboundMessage
from gateway.people import Agent, Member, fold_address
from gateway.ports import UnitOfWork
from gateway.replies import Kind, Rendered, Reply
from gateway.replykeys import Role, address_with_key
from gateway.tickets import Ticket

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
AUTO_KEY = "auto-reply:"
ANSWER_KEY = "bot-answer:"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+")


def one_line(text: str, limit: int = 250) -> str:
    """A header-safe line: no control, bidi or zero-width characters."""
    return " ".join(_UNSAFE.sub(" ", text).split())[:limit]


def for_channel(reply: Reply, channel: Channel) -> Reply:
    """A member's reply knows where it goes, so its wording can say "reply to this message"."""
    return dataclasses.replace(reply, data={**reply.data, "channel": channel.value})


def new_message_id(domain: str) -> str:
    return f"{uuid.uuid4().hex}@{domain}"


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
                  answering: InboundMessage | None = None, auto: bool = True,
                  buttons: Sequence[str] = ()) -> None:
        """On the ticket's channel (else the one the member wrote by), email as the fallback;
        `buttons` (rows from `gateway.buttons`) only show on Telegram."""
        channel = ticket.channel if ticket else answering.channel if answering else Channel.EMAIL
        if channel is Channel.TELEGRAM and member.telegram_user_id is not None:
            recipient = str(member.telegram_user_id)
        else:
            channel, recipient = Channel.EMAIL, member.email
        if auto and not self._under_cap(recipient):
            return
        key = self._member_key(member, ticket) if channel is Channel.EMAIL else None
        follows = self._members_last_mail(ticket) if channel is Channel.EMAIL else None
        self._add(recipient, for_channel(reply, channel), channel=channel, ticket=ticket,
                  answering=answering, key=key, auto=auto, follows=follows,
                  references=tuple(buttons) if channel is Channel.TELEGRAM else ())

    def to_address(self, address: str, reply: Reply, answering: InboundMessage) -> None:
        """An automatic reply to a sender who is not (yet) a member: capped like any other.
        On Telegram the address is the chat."""
        if answering.bot is not None:
            self.to_chat(answering.bot.chat_id, reply)
        elif self._under_cap(address):
            self._add(address, for_channel(reply, answering.channel), answering=answering)

    def to_chat(self, chat_id: int, reply: Reply, *, ticket_ref: str | None = None,
                buttons: Sequence[str] = (), answer: bool = True) -> None:
        """A message in a Telegram chat, with rows of `buttons` (`gateway.buttons`). The bot's
        answers (`answer`) are counted per chat and stop at `max_messages_per_hour` an hour; an
        agent's words in a live chat are not."""
        if answer:
            count = self._uow.counters.hit(f"{ANSWER_KEY}{chat_id}", HOUR, self._now)
            if count > self._desk.max_messages_per_hour:
                log.info("bot answer suppressed: cap reached", extra={"count": count})
                return
        self._add(str(chat_id), for_channel(reply, Channel.TELEGRAM), channel=Channel.TELEGRAM,
                  ticket_ref=ticket_ref, auto=False, references=tuple(buttons))

    def acknowledge_button(self, chat_id: int, button_id: str) -> None:
        """Telegram's answerCallbackQuery: stops the client's spinner; not a message."""
        self._uow.outbox.add(OutboundMessage(
            channel=Channel.TELEGRAM, recipient=str(chat_id), subject="", text="",
            message_id=new_message_id(self._desk.domain), in_reply_to=button_id,
            kind=Kind.TG_CALLBACK_ANSWER.value), self._now)

    def to_chat_agents(self, chat: Chat, reply: Reply, *, with_key: bool) -> None:
        """A live chat's mail to its agent (else every English agent); `with_key` signs a
        Reply-To the agent answers the chat through. Counted, never suppressed, as to_agents."""
        addresses = [chat.agent_email] if chat.agent_email else self.agent_addresses("en")
        for address in addresses:
            self._count(address)
            key = self._desk.keys.chat_key(chat.id, address, self._now) if with_key else None
            reply_to = address_with_key(self._desk.address, key) if key else None
            self._add(address, reply, references=(f"chat-{chat.id}@{self._desk.domain}",),
                      reply_to=reply_to)

    def to_agents(self, ticket: Ticket, reply: Reply,
                  attachments: Sequence[AttachmentRef] = ()) -> None:
        """Counted toward each agent's cap but never suppressed: members' mail causes them."""
        for address in self.agent_addresses(ticket.language):
            self._count(address)
            key = self._desk.keys.sign(ticket.number, Role.AGENT, address, self._now)
            # Stamped automatic, so agents' own out-of-office replies do not come back.
            self._add(address, reply, ticket=ticket, key=key, attachments=tuple(attachments))

    def to_agent(self, agent: Agent, reply: Reply, *, reason: str, ticket: Ticket | None,
                 answering: InboundMessage | None) -> None:
        """An answer to the agent's own mail: once per reason an hour, and capped. About a
        ticket it carries the agent's key, so the corrected mail can answer it.

        An autoresponder without auto-reply headers on an agent's mailbox answers each of
        these with another mail the gateway cannot act on; this is what stops that loop.
        """
        if not self.once_per(f"agent-answer:{reason}:{fold_address(agent.email)}", HOUR):
            log.info("answer to an agent suppressed: sent once this hour", extra={
                "kind": reply.kind, "reason": reason})
            return
        if self._under_cap(agent.email):
            key = (self._desk.keys.sign(ticket.number, Role.AGENT, agent.email, self._now)
                   if ticket else None)
            self._add(agent.email, reply, ticket=ticket, answering=answering, key=key)

    def to_member_by_email(self, member: Member, kind: str, rendered: Rendered, *,
                           ticket: Ticket | None, auto: bool) -> None:
        """What another channel refused (the member blocked the bot), already rendered, to the
        member's address: keyed and threaded as `to_member` does by email; counted once before."""
        self._add(member.email, Reply(Kind(kind), member.language), ticket=ticket,
                  key=self._member_key(member, ticket), auto=auto, rendered=rendered,
                  follows=self._members_last_mail(ticket))

    def agent_addresses(self, language: str) -> list[str]:
        """The language's agents whose mail is not suspended, else the default address."""
        agents = {agent.email for agent in self._uow.agents.for_language(language)}
        live = sorted(a for a in agents if not suspended(a, self._uow, self._now))
        return live or [self._desk.default_agent_address]

    def once_per(self, key: str, window: timedelta) -> bool:
        """True the first time `key` is seen in the current window."""
        return self._uow.counters.hit(key, window, self._now) == 1

    def refusal_due(self, reason: str, msg: InboundMessage) -> bool:
        """True for the first refusal for `reason` to the sender today: at most one a day each,
        however the sender spells their address. A Telegram chat is answered each time (no
        autoresponder lives there); the per-chat answer cap still holds."""
        return msg.bot is not None or self.once_per(
            f"refusal:{reason}:{fold_address(msg.sender)}", DAY)

    def _member_key(self, member: Member, ticket: Ticket | None) -> str | None:
        """The signed reply key a member's mail about a ticket carries in Reply-To."""
        if ticket is None:
            return None
        return self._desk.keys.sign(ticket.number, Role.MEMBER, member.email, self._now)

    def _members_last_mail(self, ticket: Ticket | None) -> str | None:
        """The member's latest mail on the ticket: what a mail to them about it answers."""
        return self._uow.tickets.latest_member_message_id(ticket) if ticket else None

    def _count(self, address: str) -> int:
        return self._uow.counters.hit(f"{AUTO_KEY}{fold_address(address)}", HOUR, self._now)

    def _under_cap(self, address: str) -> bool:
        count = self._count(address)
        if count > self._desk.max_auto_replies_per_hour:
            log.info("automatic reply suppressed: cap reached", extra={"count": count})
            return False
        return True

    def _add(self, recipient: str, reply: Reply, *, channel: Channel = Channel.EMAIL,
             ticket: Ticket | None = None, answering: InboundMessage | None = None,
             key: str | None = None, reply_to: str | None = None, auto: bool = True,
             attachments: tuple[AttachmentRef, ...] = (), references: tuple[str, ...] = (),
             ticket_ref: str | None = None, rendered: Rendered | None = None,
             follows: str | None = None) -> None:
        """`answering`: the inbound mail this answers; else `follows`, the Message-ID it
        answers (the member's latest mail on the ticket). Both set In-Reply-To."""
        # After 3 proven hard bounces in the window, mail to the address stops (RELIABILITY 20).
        if channel is Channel.EMAIL and suspended(recipient, self._uow, self._now):
            log.warning("mail to a hard-bouncing address suppressed", extra={"kind": reply.kind})
            return
        rendered = rendered or self._desk.renderer.render(reply)
        in_reply_to = follows
        if ticket:
            references = (thread_root(ticket, self._desk.domain), *references)
        if answering and answering.channel is Channel.EMAIL and "@" in answering.external_id:
            in_reply_to = answering.external_id
            references = (*references, *answering.references[-8:])
        if in_reply_to:
            references = (*references, in_reply_to)
        message = OutboundMessage(
            channel=channel,
            recipient=recipient,
            subject=one_line(rendered.subject),
            text=rendered.text,
            message_id=new_message_id(self._desk.domain),
            ticket_ref=ticket.ref if ticket else ticket_ref,
            in_reply_to=in_reply_to,
            references=tuple(dict.fromkeys(references)),
            reply_to=address_with_key(self._desk.address, key) if key else reply_to,
            auto=auto,
            kind=reply.kind.value,
            attachments=attachments,
        )
        self._uow.outbox.add(message, self._now)
        self.sent.append(message)
