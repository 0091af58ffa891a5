"""Inbox rows of channel `telegram` -> the core, one transaction each.

What is Telegram stays here: the update's JSON, downloading and typing its files (before the
transaction: it holds SQLite's write lock), and finding which bot message it replies to.
Everything the bot decides and answers is the core's (`gateway.service.handle_inbound`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from telegram.error import TelegramError, TimedOut

from adapters import filetypes
from adapters.filetypes import AttachmentLimits
from adapters.telegram.normalize import FileRef, TgUpdate, parse_update, to_inbound
from gateway import live_chat
from gateway.desk import Desk
from gateway.messages import Attachment, Channel
from gateway.service import handle_inbound
from store import inbox, telegram_state
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)
ENVELOPE = json.dumps({"channel": "telegram"})
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile serves nothing larger
CHATS_FLUSHED_PER_UPDATE = 10

Fetch = Callable[[str], bytes]


@dataclass(frozen=True)
class Downloaded:
    files: tuple[Attachment, ...] = ()
    refused: tuple[str, ...] = ()
    too_big: bool = False


@dataclass
class TelegramProcessor:
    engine: Engine
    blobs: BlobStore
    desk: Desk
    limits: AttachmentLimits
    fetch: Fetch
    on_done: Callable[[], object] = lambda: None  # wakes the delivery loop

    def takes(self, item: inbox.Claimed) -> bool:
        return item.channel == Channel.TELEGRAM

    def process_one(self, item: inbox.Claimed, now: datetime) -> None:
        try:
            update: TgUpdate | None = parse_update(json.loads(item.raw))
        except (ValueError, KeyError, TypeError):
            update = None
        downloaded = self._download(update) if update is not None else Downloaded()
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            row = inbox.take(uow.session, item.id)
            if row is None:
                return
            if update is None:
                inbox.finish(uow.session, row, status=inbox.InboxStatus.QUARANTINED,
                             reason="unreadable update", ticket_ref="", now=now)
                uow.commit()
                return
            replied = (telegram_state.sent_ticket_message(
                uow.session, update.chat_id, update.reply_to_message_id)
                if update.chat_id is not None and update.reply_to_message_id is not None else None)
            msg = to_inbound(update, files=downloaded.files, refused=downloaded.refused,
                             too_big=downloaded.too_big, replied_to=replied or "", now=now)
            outcome = handle_inbound(msg, uow, self.desk, now)
            # Chat lines left waiting past their batch window go now: any update helps the scheduler.
            live_chat.flush_overdue(uow, self.desk, now, limit=CHATS_FLUSHED_PER_UPDATE)
            status = inbox.InboxStatus.DONE if outcome.accepted else inbox.InboxStatus.REFUSED
            reason = outcome.reason if not outcome.rule else f"{outcome.rule}: {outcome.reason}"
            inbox.finish(uow.session, row, status=status, reason=reason,
                         ticket_ref=outcome.ticket_ref, now=now)
            uow.commit()
        self.on_done()
        log.info("telegram update %s", status, extra={"inbox_id": item.id, "reason": reason,
                                                      "ticket": outcome.ticket_ref})

    def _download(self, update: TgUpdate) -> Downloaded:
        """Fetch a linked member's files before the transaction (it holds SQLite's write lock)."""
        if not update.files or not update.private or update.kind != "message":
            return Downloaded()
        with SqlUnitOfWork(self.engine, self.blobs) as uow:
            if update.user_id is None or uow.members.by_telegram(update.user_id) is None:
                return Downloaded()
        kept, refused, too_big = [], [], False
        allowed = self.limits.attachment_types
        for index, ref in enumerate(update.files, start=1):
            name = filetypes.sanitize_filename(ref.filename, index, ref.content_type)
            if ref.size > BOT_API_DOWNLOAD_LIMIT:
                too_big = True
            if filetypes.refused_by_name(ref.filename, allowed) or ref.size > min(
                    self.limits.max_attachment_bytes, BOT_API_DOWNLOAD_LIMIT):
                refused.append(name)
                continue
            data = self._fetch(ref)
            if data is None or len(data) > self.limits.max_attachment_bytes:
                refused.append(name)
                continue
            verdict = filetypes.decide(ref.filename, ref.content_type.lower(), data, allowed)
            if isinstance(verdict, filetypes.Refused):
                log.info("telegram file refused", extra={"attachment": name, "reason": verdict.reason,
                                                         "declared": ref.content_type})
                refused.append(name)
                continue
            kept.append(Attachment(filetypes.stored_name(name, verdict), verdict.content_type, data))
        return Downloaded(tuple(kept), tuple(refused), too_big)

    def _fetch(self, ref: FileRef) -> bytes | None:
        try:
            return self.fetch(ref.file_id)
        except (TimedOut, OSError, TimeoutError):
            raise  # network trouble: the row is retried, then quarantined
        except TelegramError as error:  # too big, gone: refused, and the member is told
            log.warning("telegram file not downloaded: %s", error)
            return None
