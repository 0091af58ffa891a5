"""One update being handled: who, in which language, and how to answer (into the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.telegram.normalize import TgUpdate
from gateway.desk import Desk
from gateway.messages import Attachment, Channel, OutboundMessage
from gateway.outgoing import one_line
from gateway.people import Member
from gateway.replies import Reply
from store.unit_of_work import SqlUnitOfWork

BUTTON = "button:"  # OutboundMessage.references on Telegram rows carry inline buttons
CALLBACK_ANSWER = "tg_callback_answer"


def pick_language(member: Member | None, language_code: str, known: frozenset[str]) -> str:
    """The member's record, then the Telegram client's language, then English."""
    if member is not None and member.language:
        return member.language
    code = language_code.split("-")[0].lower()
    return code if code in known else "en"


@dataclass
class Turn:
    update: TgUpdate
    uow: SqlUnitOfWork
    desk: Desk
    now: datetime
    member: Member | None
    language: str
    files: tuple[Attachment, ...] = ()
    refused_files: tuple[str, ...] = ()
    too_big: bool = False
    sent: list[OutboundMessage] = field(default_factory=list)

    @property
    def user_id(self) -> int:
        assert self.update.user_id is not None
        return self.update.user_id

    def say(self, kind: str, data: Mapping[str, Any] | None = None, *, language: str | None = None,
            ticket_ref: str | None = None, buttons: Sequence[str] = ()) -> None:
        """A message to this chat, rendered now, sent by the Telegram delivery loop."""
        context = {"member_name": self.member.name if self.member else "", **(data or {})}
        rendered = self.desk.renderer.render(Reply(kind, language or self.language, context))
        self.add(OutboundMessage(
            channel=Channel.TELEGRAM, recipient=str(self.update.chat_id), subject="",
            text=rendered.text, message_id=self.new_id(), ticket_ref=ticket_ref, auto=False,
            kind=kind, references=tuple(f"{BUTTON}{b}" for b in buttons)))

    def email(self, address: str, kind: str, data: Mapping[str, Any], language: str) -> None:
        rendered = self.desk.renderer.render(Reply(kind, language, data))
        self.add(OutboundMessage(
            channel=Channel.EMAIL, recipient=address, subject=one_line(rendered.subject),
            text=rendered.text, message_id=self.new_id(), auto=True, kind=kind))

    def answer_callback(self) -> None:
        self.add(OutboundMessage(
            channel=Channel.TELEGRAM, recipient=str(self.update.chat_id), subject="", text="",
            message_id=self.new_id(), in_reply_to=self.update.callback_id, kind=CALLBACK_ANSWER))

    def add(self, message: OutboundMessage) -> None:
        self.uow.outbox.add(message, self.now)
        self.sent.append(message)

    def new_id(self) -> str:
        return f"{uuid.uuid4().hex}@{self.desk.domain}"
