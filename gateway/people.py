"""Who writes to the desk: members (with a rank) and agents (with languages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gateway.messages import Attachment, Channel

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_address(address: str) -> str:
    """The form addresses are compared in: A-Z lower-cased, every other character exact.

    `str.lower()` would fold look-alikes such as the Kelvin sign (U+212A) into `k`, so
    "\u212aate@x" would act as "kate@x".
    """
    return address.translate(_ASCII_LOWER)


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
    at: datetime | None = None  # set when read back from the store
