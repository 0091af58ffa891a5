"""Channel-neutral values that cross the core's boundary."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    TELEGRAM = "telegram"


@dataclass(frozen=True)
class Attachment:
    """A file that came in with a message; `filename` is already sanitized."""

    filename: str
    content_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class AttachmentRef:
    """An attachment already stored as a blob, named by its SHA-256 digest."""

    filename: str
    content_type: str
    digest: str


class UpdateKind(StrEnum):
    MESSAGE = "message"
    EDITED = "edited_message"
    BUTTON = "callback_query"
    OTHER = "other"


@dataclass(frozen=True)
class BotInput:
    """What a Telegram update adds to its message: the command, a pressed button, the chat.

    `command` is the word after the slash, lower-case, "" for plain text; `button` is the data
    of a pressed inline button; `locale` the client's language code.
    """

    chat_id: int
    kind: UpdateKind = UpdateKind.MESSAGE
    private: bool = True
    command: str = ""
    args: str = ""
    button: str = ""
    button_id: str = ""
    locale: str = ""
    file_too_big: bool = False  # a file was over what the Bot API lets a bot download


@dataclass(frozen=True)
class InboundMessage:
    """One inbound item, whatever channel it came by.

    `sender` is the bare address (lower-case) for email, the numeric user id for
    Telegram. `automated` names why a machine sent it (`auto-submitted`,
    `precedence`, `list`, `null-sender`, `dsn`, ...), or is None for a person.
    `text` has quotes and signatures stripped; `full_text` is the whole body.
    """

    channel: Channel
    external_id: str
    sender: str
    subject: str
    text: str
    received_at: datetime
    full_text: str = ""
    sender_name: str = ""
    recipients: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    automated: str | None = None
    authenticated: bool = True
    rejected_attachments: tuple[str, ...] = ()
    bounced: tuple[str, ...] = ()  # addresses a delivery report says failed for good
    # What could prove a report is about our mail (counted only then): the addresses it was
    # delivered to (SMTP envelope, else Delivered-To/X-Original-To/To: VERP return paths),
    # and the Message-IDs of the original it quotes.
    report_to: tuple[str, ...] = ()
    reported_message_ids: tuple[str, ...] = ()
    bot: BotInput | None = None  # set for Telegram updates

    @property
    def user_id(self) -> int:
        """The Telegram user id of a Telegram message's sender."""
        return int(self.sender)


@dataclass(frozen=True)
class OutboundMessage:
    """A message to send, fixed when it is written to the outbox.

    `auto` marks an automatic reply (stamped `Auto-Submitted: auto-replied`).
    `reply_to` is the signed reply address, if any.
    """

    channel: Channel
    recipient: str
    subject: str
    text: str
    message_id: str
    ticket_ref: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    auto: bool = True
    kind: str = ""  # a `gateway.replies.Kind`, kept as the text the outbox stores
    attachments: tuple[AttachmentRef, ...] = field(default=())


@dataclass(frozen=True)
class SentMail:
    """An email the gateway wrote to its outbox: which row, to whom."""

    outbox_id: int
    recipient: str
