"""What the bot remembers between one message and the next: forms, live chats, link codes.

Plain values; the store keeps them (`gateway/ports.py` `Forms`, `Chats`, `Links`), so a
restart or another worker process carries a conversation on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Flow(StrEnum):
    NEW_TICKET = "new"
    LINK = "link"
    CHAT = "chat"


class Step(StrEnum):
    """Where a form is. The /new form: title, description, files, confirm. Linking: identity,
    code. The chat form: name, member ID, email, question."""

    TITLE = "title"
    DESCRIPTION = "description"
    FILES = "files"
    CONFIRM = "confirm"
    IDENTITY = "identity"
    CODE = "code"
    NAME = "name"
    MEMBER_ID = "member_id"
    EMAIL = "email"
    QUESTION = "question"


@dataclass
class Form:
    """A form in progress; `data` is JSON-safe (strings, numbers, lists, dicts)."""

    flow: Flow
    step: Step
    data: dict[str, Any] = field(default_factory=dict)


class ChatStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass
class Chat:
    """One live chat: what the form collected, who answers it, when agents were last mailed."""

    id: int
    telegram_user_id: int
    name: str
    member_id: str
    email: str
    language: str
    question: str
    status: ChatStatus
    agent_email: str
    created_at: datetime
    mailed_at: datetime | None = None  # the last mail to agents
    ended_at: datetime | None = None
    active_at: datetime | None = None  # the last line from either side
    told_position: int = 0  # the queue position the member was last told


@dataclass(frozen=True)
class ChatLine:
    id: int
    text: str
    at: datetime


@dataclass
class LinkCode:
    """A one-time code mailed to a member, for the Telegram user who asked; `member_id` is empty
    when nothing was mailed (unknown identity, or over the cap): the code then never matches."""

    id: int
    telegram_user_id: int
    member_id: str
    code_hash: str
    tries: int
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class LinkToken:
    """A deep-link token's stored half: single use, until it expires."""

    nonce: str
    member_id: str
    expires_at: datetime
    used_at: datetime | None = None
