"""InboundMessage -> Command: reply keys, threading, [TI-n], /commands, list keywords."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from gateway.agent_mistakes import AgentMistake, command_word
from gateway.closed_tickets import AfterClose, reply_to_closed
from gateway.commands import (
    AddMessage,
    AgentAction,
    AgentReply,
    AnswerChat,
    CloseTicket,
    Command,
    Ignore,
    ListTickets,
    OpenTicket,
    Unresolved,
)
from gateway.languages import fold
from gateway.messages import InboundMessage
from gateway.people import Agent, Member
from gateway.ports import Tickets
from gateway.replykeys import ReplyKeys, Role, chat_keys_in, keys_in
from gateway.tickets import Status, Ticket, format_ref, parse_ref

LIST_KEYWORDS = frozenset(fold(word) for word in (
    "my tickets", "tickets", "status", "list",  # en
    "mijn tickets", "mijn meldingen", "overzicht",  # nl
    "mine sager", "mine tickets", "oversigt",  # da
    "mes tickets", "mes demandes", "statut", "état",  # fr
    "moje tikety", "moje požadavky", "stav", "přehled",  # cs
    "omat tiketit", "omat tukipyynnöt", "tila", "tilanne",  # fi
    "meine tickets", "meine anfragen",  # de
))
# Possessive runs: "re" + 10,000 spaces must not try every split of the spaces.
_REPLY_PREFIX = re.compile(
    r"^\s*+((re|fw|fwd|aw|sv|vs|antw|tr|odp|r)\s*+(\[\d++\])?+\s*+:\s*+)+", re.I
)


def strip_reply_prefixes(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def is_list_request(subject: str) -> bool:
    return fold(strip_reply_prefixes(subject)).strip(" .!?") in LIST_KEYWORDS


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def parse_member(msg: InboundMessage, member: Member, tickets: Tickets, keys: ReplyKeys,
                 address: str, now: datetime, after: AfterClose) -> Command:
    ticket = _member_ticket(msg, member, tickets, keys, address, now)
    if isinstance(ticket, Unresolved):
        return ticket
    if ticket is None:
        if is_list_request(msg.subject):
            return ListTickets()
        return OpenTicket(msg.subject, msg.full_text or msg.text, msg.attachments,
                          msg.rejected_attachments)
    if first_line(msg.text).lower() == "/close":
        rest = msg.text.strip().split("\n", 1)
        return CloseTicket(ticket, rest[1].strip() if len(rest) > 1 else "")
    if ticket.status is Status.CLOSED:
        return reply_to_closed(ticket, msg, member, after, now)
    return AddMessage(ticket, msg.text)


def _member_ticket(msg: InboundMessage, member: Member, tickets: Tickets, keys: ReplyKeys,
                   address: str, now: datetime) -> Ticket | Unresolved | None:
    """The member's ticket the message answers: by signed key, by thread, then by [TI-n]."""
    for key in keys_in(msg.recipients, address):
        verified = keys.verify(key, member.email, now)
        if verified and verified.role is Role.MEMBER:
            ticket = tickets.get(verified.ticket)
            if ticket and ticket.member_id == member.member_id:
                return ticket
    threaded = tickets.by_message_id(msg.references) if msg.references else None
    if threaded and threaded.member_id == member.member_id:
        return threaded
    number = parse_ref(msg.subject)
    if number is not None:
        ticket = tickets.get(number)
        if ticket and ticket.member_id == member.member_id:
            return ticket
        return Unresolved("not-found", format_ref(number))
    return None


def parse_agent(msg: InboundMessage, agent: Agent, tickets: Tickets, keys: ReplyKeys,
                address: str, default_address: str, now: datetime) -> Command:
    """An agent acts only through a valid agent key bound to them (or to the shared desk)."""
    chat_keys = chat_keys_in(msg.recipients, address)
    if chat_keys:
        chats = (keys.verify_chat(key, agent.email, now) for key in chat_keys)
        chat = next((found for found in chats if found is not None), None)
        if chat is None:
            return Ignore("chat-key", rule="telegram-chat")
        return AnswerChat(chat, *split_chat_answer(msg.text))
    missing = ""
    for key in keys_in(msg.recipients, address):
        verified = (keys.verify(key, agent.email, now)
                    or keys.verify(key, default_address, now))
        if verified and verified.role is Role.AGENT:
            ticket = tickets.get(verified.ticket)
            if ticket:
                return AgentReply(ticket, *split_agent_commands(msg.text))
            missing = format_ref(verified.ticket)
    if missing:
        return Unresolved(AgentMistake.NO_SUCH_TICKET, missing)
    return Unresolved(AgentMistake.NO_KEY)


def split_chat_answer(text: str) -> tuple[str, bool]:
    """An agent's chat answer: (the words, whether it ends the chat with `/end` on top)."""
    if first_line(text).lower() != "/end":
        return text.strip(), False
    rest = text.strip().split("\n", 1)
    return (rest[1].strip() if len(rest) > 1 else ""), True


class AgentCommands(NamedTuple):
    actions: frozenset[AgentAction]
    text: str
    stray: str = ""  # what ended the commands when it reads as one (`/foo`), as written


def split_agent_commands(text: str) -> AgentCommands:
    """Commands on lines of their own at the top; the rest is the message. A top line that
    starts like a command but is none (`/foo`, `/feedback What browser?`) is `stray`."""
    actions: set[AgentAction] = set()
    lines = text.strip().splitlines()
    while lines:
        word = lines[0].strip().lower()
        if not word:
            lines.pop(0)
            continue
        try:
            actions.add(AgentAction(word))
        except ValueError:
            break
        lines.pop(0)
    rest = "\n".join(lines).strip()
    first = rest.split(maxsplit=1)[0] if rest else ""
    return AgentCommands(frozenset(actions), rest, first[:40] if command_word(first) else "")
