"""The ingest runner: what puts items into the inbox (SMTP, IMAP, Telegram's poller or webhook),
started once the runners behind it run, and stopped first. The protocols live in
`adapters/email` and `adapters/telegram`; this only starts and stops them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from adapters.email.imap_fetcher import ImapFetcher
from adapters.email.ingest import dedupe_key
from adapters.email.smtp_server import MailStore, SmtpServer
from adapters.inbox_writer import InboxWriter
from adapters.runners.loop import Loop
from adapters.telegram.bot_api import STANDBY, Poller, WebhookServer
from store import inbox


def mail_store(writer: InboxWriter) -> MailStore:
    """What the SMTP server calls in DATA: the raw bytes and the envelope, committed."""
    async def store(raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        envelope = json.dumps({"from": mail_from, "to": list(rcpt_tos)})
        await writer.store(inbox.Item("email", dedupe_key(raw), raw, envelope))
    return store


@dataclass
class IngestRunner:
    smtp: SmtpServer | None = None
    imap: ImapFetcher | None = None  # a thread of its own: a bad mailbox only backs off itself
    poller: Poller | None = None
    webhook: WebhookServer | None = None
    # Tells Telegram where the webhook listens, once it does (setWebhook).
    announce_webhook: Callable[[], Awaitable[object]] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self, stopping: asyncio.Event) -> None:
        if self.smtp:
            await self.smtp.start()
        if self.imap:
            self.imap.start()
        if self.webhook:
            await self.webhook.start()
            if self.announce_webhook:
                await self.announce_webhook()
        if self.poller:
            self._tasks.append(asyncio.create_task(_poll(self.poller, stopping)))

    async def stop(self) -> None:
        """Stop taking items in; the poller ends its round when `stopping` is set."""
        if self.smtp:
            await self.smtp.stop()
        if self.imap:
            await asyncio.to_thread(self.imap.stop)
        if self.webhook:
            await self.webhook.stop()
        await asyncio.gather(*self._tasks)


async def _poll(poller: Poller, stopping: asyncio.Event) -> None:
    """getUpdates rounds until stopping; then the poller lock is another process's to take."""
    try:
        await Loop("telegram poller", partial(poller.poll, stopping), STANDBY).run(stopping)
    finally:
        await asyncio.to_thread(poller.release)
