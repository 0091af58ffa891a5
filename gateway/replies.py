"""What to say, not how: a Reply names a template and carries its data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """Every kind of message the desk sends: each names its template, a table in
    `config/locales/<lang>.toml`, and is the `kind` of its outbox row."""

    # To a member about their ticket, by email or in Telegram.
    TICKET_OPENED = "ticket_opened"
    FOLLOW_UP_OPENED = "follow_up_opened"  # a new ticket carrying on one too old to reopen
    MESSAGE_ADDED = "message_added"
    TICKET_REOPENED = "ticket_reopened"
    FEEDBACK_REQUESTED = "feedback_requested"
    AGENT_ANSWER = "agent_answer"  # an agent's words, to the member
    TICKET_CLOSED = "ticket_closed"  # asks for a rating of the help, 1 to 5
    RATING_THANKS = "rating_thanks"
    FEEDBACK_REMINDER = "feedback_reminder"
    TICKET_LIST = "ticket_list"

    # Refusals, to a member or to a stranger.
    REFUSAL_UNKNOWN_SENDER = "refusal_unknown_sender"
    REFUSAL_RANK = "refusal_rank"
    REFUSAL_TITLE_LANGUAGE = "refusal_title_language"
    REFUSAL_NOT_FOUND = "refusal_not_found"
    REFUSAL_UNREADABLE = "refusal_unreadable"

    # Mail to a member about their Telegram account.
    LINK_CODE = "link_code"
    TELEGRAM_LINKED = "telegram_linked"
    TELEGRAM_INVITE = "telegram_invite"

    # The bot, in a Telegram chat: commands, linking, the /new form, tickets.
    TG_START = "tg_start"
    TG_HELP = "tg_help"
    TG_HOURS = "tg_hours"
    TG_NOT_LINKED = "tg_not_linked"
    TG_LINK_ASK = "tg_link_ask"
    TG_LINK_SENT = "tg_link_sent"
    TG_LINK_WRONG_CODE = "tg_link_wrong_code"
    TG_LINK_FAILED = "tg_link_failed"
    TG_LINKED = "tg_linked"
    TG_LINK_TOKEN_BAD = "tg_link_token_bad"
    TG_NEW_TITLE = "tg_new_title"
    TG_NEW_TITLE_WRONG = "tg_new_title_wrong"
    TG_NEW_DESCRIPTION = "tg_new_description"
    TG_NEW_FILES = "tg_new_files"
    TG_FILE_REFUSED = "tg_file_refused"
    TG_NEW_CONFIRM = "tg_new_confirm"
    TG_CANCELLED = "tg_cancelled"
    TG_TICKETS = "tg_tickets"
    TG_TICKET = "tg_ticket"
    TG_TICKET_NOT_FOUND = "tg_ticket_not_found"
    TG_UNKNOWN = "tg_unknown"

    # The live chat, in Telegram (`tg_chat_agent`: an agent's line, relayed).
    TG_CHAT_CLOSED = "tg_chat_closed"
    TG_CHAT_ASK = "tg_chat_ask"
    TG_CHAT_BAD_EMAIL = "tg_chat_bad_email"
    TG_CHAT_ENGLISH_ONLY = "tg_chat_english_only"
    TG_CHAT_QUEUED = "tg_chat_queued"
    TG_CHAT_POSITION = "tg_chat_position"  # the queue moved: the member's new place
    TG_CHAT_AGENT = "tg_chat_agent"
    TG_CHAT_ENDED = "tg_chat_ended"
    TG_CHAT_IDLE_ENDED = "tg_chat_idle_ended"  # nobody wrote for telegram.chat_idle_minutes
    TG_CHAT_NONE = "tg_chat_none"

    # To agents, in English.
    AGENT_NEW_TICKET = "agent_new_ticket"
    AGENT_MEMBER_REPLY = "agent_member_reply"
    AGENT_TICKET_CLOSED = "agent_ticket_closed"
    AGENT_TICKET_RATED = "agent_ticket_rated"
    AGENT_COMMAND_ERROR = "agent_command_error"
    AGENT_CHAT_REQUEST = "agent_chat_request"
    AGENT_CHAT_ENDED = "agent_chat_ended"
    AGENT_CHAT_IDLE_ENDED = "agent_chat_idle_ended"
    AGENT_TELEGRAM_BLOCKED = "agent_telegram_blocked"

    # Not a message: Telegram's answer to a pressed button (stops the client's spinner).
    TG_CALLBACK_ANSWER = "tg_callback_answer"


AGENT_KINDS: frozenset[Kind] = frozenset({
    Kind.AGENT_NEW_TICKET, Kind.AGENT_MEMBER_REPLY, Kind.AGENT_TICKET_CLOSED,
    Kind.AGENT_TICKET_RATED,
    Kind.AGENT_COMMAND_ERROR, Kind.AGENT_CHAT_REQUEST, Kind.AGENT_CHAT_ENDED,
    Kind.AGENT_CHAT_IDLE_ENDED,
    Kind.AGENT_TELEGRAM_BLOCKED,
})
"""Sent to agents: written in English only (en.toml); other languages fall back to it."""

MEMBER_KINDS: frozenset[Kind] = frozenset(Kind) - AGENT_KINDS - {Kind.TG_CALLBACK_ANSWER}
"""Sent to members (or to strangers refused), in their language."""

TELEGRAM_KINDS: frozenset[Kind] = frozenset(
    kind for kind in MEMBER_KINDS | AGENT_KINDS
    if kind.startswith(("tg_", "telegram_", "agent_chat_", "agent_telegram_")))
"""The Telegram channel's own words: fewer language files translate them (the rest use English)."""


@dataclass(frozen=True)
class Reply:
    """A message to render in `language` from the template `kind`."""

    kind: Kind
    language: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
