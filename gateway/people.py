"""Who writes to the desk: members (with a rank) and agents (with languages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gateway.messages import Attachment, Channel


@dataclass(frozen=True)
class Member:
    member_id: str
    name: str
    email: str
    rank: str
    language: str = "en"
    telegram_user_id: int | None = None


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    languages: frozenset[str] = frozenset()


class Author(StrEnum):
    MEMBER = "member"
    AGENT = "agent"
    SYSTEM = "system"


@dataclass(frozen=True)
class Entry:
    """One message on a ticket's timeline."""

    author_kind: Author
    author: str
    channel: Channel
    text: str
    external_id: str = ""
    internal: bool = False
    attachments: tuple[Attachment, ...] = field(default=())
