"""Starts the Telegram side of `gateway run`: bot client, inbox processing, delivery, poller or webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from urllib.parse import urlparse

from sqlalchemy import Engine
from telegram import Bot

from adapters.inbox_writer import InboxWriter
from adapters.render import TemplateRenderer
from adapters.telegram.bot_api import ALLOWED_UPDATES, Poller, WebhookServer, make_bot
from adapters.telegram.chat import flush_overdue_chats
from adapters.telegram.processor import TelegramProcessor
from adapters.telegram.sender import TelegramSender
from adapters.worker import Worker, utc_now
from config.settings import Settings

log = logging.getLogger(__name__)
DELIVERY_INTERVAL = 0.5
DOWNLOAD_TIMEOUT = 120.0
CHAT_FLUSH_INTERVAL = 15.0  # chat lines wait at most a minute (batch) plus this


async def download(bot: Bot, file_id: str) -> bytes:
    file = await bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


@dataclass
class TelegramRuntime:
    bot: Bot
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    webhook: WebhookServer | None = None

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
        await asyncio.gather(*self.tasks)
        with contextlib.suppress(Exception):
            await self.bot.shutdown()


async def _deliver_forever(sender: TelegramSender, wake: asyncio.Event,
                           stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        try:
            done = await sender.deliver_due()
        except Exception:  # the rows stay in the outbox; the next round takes them
            log.exception("telegram delivery round failed")
            done = 0
        if done:
            continue
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first(wake, stopping), DELIVERY_INTERVAL)


async def _flush_chats_forever(worker: Worker, stopping: asyncio.Event) -> None:
    """Mail the chat lines whose batch is due when nobody writes to push them out."""
    while not stopping.is_set():
        try:
            await asyncio.to_thread(flush_overdue_chats, worker.engine, worker.blobs, worker.desk,
                                    utc_now())
        except Exception:  # the lines stay stored; the next round takes them
            log.exception("telegram chat flush round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), CHAT_FLUSH_INTERVAL)


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def start_telegram(settings: Settings, engine: Engine, worker: Worker, secret: str, *,
                         only: frozenset[str], stopping: asyncio.Event,
                         on_stored: Callable[[], None]) -> TelegramRuntime:
    """Wire the bot into the worker and start what `only` asks for (roles delivery, telegram)."""
    config = settings.telegram
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token
    bot = make_bot(config)
    await bot.initialize()  # getMe: a wrong token or server fails the start, loudly
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def fetch(file_id: str) -> bytes:
        return asyncio.run_coroutine_threadsafe(download(bot, file_id), loop).result(DOWNLOAD_TIMEOUT)

    worker.telegram = TelegramProcessor(
        worker.engine, worker.blobs, worker.desk, worker.limits, secret, fetch,
        languages=TemplateRenderer().languages(),
        on_done=partial(loop.call_soon_threadsafe, wake.set))
    runtime = TelegramRuntime(bot)
    if "scheduler" in only:
        runtime.tasks.append(asyncio.create_task(_flush_chats_forever(worker, stopping)))
    if "delivery" in only:
        sender = TelegramSender(bot, engine, worker.blobs, worker.desk,
                                max_age=timedelta(days=settings.outbound.max_age_days), clock=utc_now)
        runtime.tasks.append(asyncio.create_task(_deliver_forever(sender, wake, stopping)))
    if "telegram" not in only:
        return runtime
    if config.mode == "webhook":
        writer = InboxWriter(engine, utc_now, on_stored=on_stored)
        path = urlparse(config.webhook_url).path or "/telegram"
        runtime.webhook = WebhookServer(config.webhook_listen, path, config.secret_token, writer.store)
        await runtime.webhook.start()
        if config.webhook_url:
            await bot.set_webhook(config.webhook_url, secret_token=config.secret_token,
                                  allowed_updates=ALLOWED_UPDATES)
    else:
        poller = Poller(bot, engine, config.poll_timeout, on_stored)
        runtime.tasks.append(asyncio.create_task(poller.run(stopping)))
    return runtime
