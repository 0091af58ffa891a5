"""The one composition root: settings -> engine -> channels, senders and runners -> run.

The CLI wires through here; every channel is wired here, Telegram included.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import signal
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from urllib.parse import urlparse

from sqlalchemy import Engine
from telegram import Bot

from adapters.clock import UtcClock
from adapters.email.imap_fetcher import ImapFetcher
from adapters.email.normalize import Limits
from adapters.email.sender import EmailSender, MailTransport
from adapters.email.sender_auth import SenderCheck
from adapters.email.smtp_sender import FileSender, SmtpSender
from adapters.email.smtp_server import SmtpServer
from adapters.inbox_writer import InboxWriter
from adapters.language import LangidDetector
from adapters.parse_budget import ParseBudget
from adapters.render import TemplateRenderer
from adapters.runners.incoming import IncomingRunner
from adapters.runners.ingest import IngestRunner, mail_store
from adapters.runners.loop import Loop
from adapters.runners.outgoing import OutgoingRunner
from adapters.runners.scheduler import SchedulerRunner
from adapters.telegram.bot_api import (
    ALLOWED_UPDATES,
    Poller,
    WebhookServer,
    file_fetcher,
    make_bot,
)
from adapters.telegram.processor import TelegramProcessor
from adapters.telegram.sender import TelegramSender
from config.settings import Settings
from gateway.desk import Desk
from gateway.errors import ConfigError
from gateway.hours import make_window
from gateway.languages import Language, LanguageTable
from gateway.messages import Channel
from gateway.people import fold_address
from gateway.ports import Clock, Sender
from gateway.replykeys import ReplyKeys
from store import inbox, outbox
from store.blobs import BlobStore
from store.engine import check_durability, make_engine
from store.migrate import upgrade

log = logging.getLogger(__name__)
ROLES = ("smtp", "worker", "delivery", "scheduler", "imap", "telegram")
# Seconds between rounds when nothing woke a runner: what another process committed (several
# processes share a database) or what became due by time is found within this.
INBOX_INTERVAL = 1.0
DELIVERY_INTERVAL = {Channel.EMAIL: 2.0, Channel.TELEGRAM: 0.5}
FOLLOW_UP_INTERVAL = 60.0
# Chat lines wait at most a minute (their batch) plus this; an idle chat ends this late at most,
# and a place in the queue another worker's change left untold is told within it.
CHAT_PASS_INTERVAL = 15.0


def ensure_secret(settings: Settings) -> str:
    """The configured secret, else one generated once into data_dir/secret (mode 0600)."""
    if settings.security.secret:
        return settings.security.secret
    path = settings.data_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")
    return value


def make_desk(settings: Settings) -> Desk:
    policy = settings.policy
    languages = LanguageTable(Language(item.code, item.names, item.example)
                              for item in policy.languages)
    windows = tuple(make_window(w.days, w.start, w.end, w.timezone, w.languages)
                    for w in settings.hours.windows)
    return Desk(
        address=fold_address(settings.email.address),
        default_agent_address=fold_address(settings.agents.default_address),
        keys=ReplyKeys(ensure_secret(settings), settings.security.old_secrets,
                       settings.security.reply_key_days),
        renderer=TemplateRenderer(),
        detector=LangidDetector(language.code for language in languages.languages),
        languages=languages, windows=windows, ranks=policy.ranks, min_rank=policy.min_rank,
        reopen_days=policy.reopen_days, feedback_reminder_days=policy.feedback_reminder_days,
        auto_close_days=policy.auto_close_days,
        max_auto_replies_per_hour=policy.max_auto_replies_per_hour,
        max_messages_per_hour=policy.max_messages_per_hour,
        satisfaction_days=policy.satisfaction_days,
        chat_idle_minutes=settings.telegram.chat_idle_minutes,
    )


def make_limits(settings: Settings) -> Limits:
    return Limits(max_attachment_bytes=settings.policy.max_attachment_bytes,
                  attachment_types=settings.policy.attachment_types)


def make_mail_transport(settings: Settings) -> MailTransport:
    out = settings.outbound
    if not out.host:
        return FileSender(settings.data_dir / "outbox")
    return SmtpSender(host=out.host, port=out.port, security=out.security,
                      username=out.username, password=out.password)


def open_database(settings: Settings, *, migrate: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    check_durability(engine)
    return engine


def check_exposure(settings: Settings) -> None:
    """Unauthenticated senders are only acceptable on a loopback listener (CONTRACT §9)."""
    if settings.security.sender_auth != "off" or settings.security.allow_unauthenticated:
        return
    try:
        loopback = ipaddress.ip_address(settings.smtp.host).is_loopback
    except ValueError:
        loopback = settings.smtp.host == "localhost"
    if settings.smtp.enabled and not loopback:
        raise ConfigError("security.sender_auth is off while SMTP listens on "
                          f"{settings.smtp.host}: set sender_auth, or allow_unauthenticated = true.")


def make_incoming(settings: Settings, engine: Engine, desk: Desk, clock: Clock) -> IncomingRunner:
    return IncomingRunner(
        engine=engine, blobs=BlobStore(settings.data_dir / "blobs"), desk=desk,
        limits=make_limits(settings),
        sender_check=SenderCheck(settings.security.sender_auth, settings.security.authserv_id),
        clock=clock,
        # The child process starts with the first message; `serve` stops it.
        parse_budget=ParseBudget(settings.worker.parse_cpu_seconds),
        max_attempts=settings.worker.max_attempts,
    )


@dataclass
class Telegram:
    """The bot and what `serve` wires to it."""

    bot: Bot
    processor: TelegramProcessor
    sender: TelegramSender


async def start_telegram(settings: Settings, incoming: IncomingRunner, clock: Clock,
                         on_done: asyncio.Event) -> Telegram:
    """The bot client (getMe: a wrong token or server fails the start, loudly), the processor
    the worker hands Telegram's inbox rows to, and the sender for its outbox rows."""
    bot = make_bot(settings.telegram)
    await bot.initialize()
    loop = asyncio.get_running_loop()
    processor = TelegramProcessor(
        incoming.engine, incoming.blobs, incoming.desk, incoming.limits, file_fetcher(bot, loop),
        on_done=partial(loop.call_soon_threadsafe, on_done.set))
    return Telegram(bot, processor, TelegramSender(bot, incoming.engine, incoming.desk, clock))


def make_ingest(settings: Settings, engine: Engine, clock: Clock, telegram: Telegram | None,
                only: frozenset[str], wake: asyncio.Event) -> IngestRunner:
    """The listeners `only` asks for, each committing to the inbox and waking the worker."""
    writer = InboxWriter(engine, clock, on_stored=wake.set)
    ingest = IngestRunner()
    if settings.smtp.enabled and "smtp" in only:
        ingest.smtp = SmtpServer(host=settings.smtp.host, port=settings.smtp.port,
                                 accepted_domains=frozenset({settings.email.domain}),
                                 max_message_bytes=settings.smtp.max_message_bytes,
                                 store=mail_store(writer))
    if settings.imap.enabled and "imap" in only:
        loop = asyncio.get_running_loop()
        ingest.imap = ImapFetcher(settings.imap, engine,
                                  max_message_bytes=settings.smtp.max_message_bytes,
                                  on_stored=partial(loop.call_soon_threadsafe, wake.set))
    if telegram is None or "telegram" not in only:
        return ingest
    config = settings.telegram
    if config.mode == "webhook":
        path = urlparse(config.webhook_url).path or "/telegram"
        ingest.webhook = WebhookServer(config.webhook_listen, path, config.secret_token,
                                       writer.store)
        if config.webhook_url:
            ingest.announce_webhook = partial(telegram.bot.set_webhook, config.webhook_url,
                                              secret_token=config.secret_token,
                                              allowed_updates=ALLOWED_UPDATES)
    else:
        ingest.poller = Poller(telegram.bot, engine, config.poll_timeout, wake.set)
    return ingest


@dataclass(frozen=True)
class Wakes:
    """Set when a commit leaves work for a runner, so it does not wait out its interval."""

    inbox: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: dict[Channel, asyncio.Event] = field(
        default_factory=lambda: {channel: asyncio.Event() for channel in Channel})


def make_loops(only: frozenset[str], incoming: IncomingRunner, outgoing: OutgoingRunner,
               scheduler: SchedulerRunner, wakes: Wakes, telegram: bool) -> list[Loop]:
    """One loop per runner (per channel for delivery) that `only` asks for."""
    async def process_inbox() -> int:
        count = await asyncio.to_thread(incoming.process_inbox)
        if count:
            for wake in wakes.outbox.values():
                wake.set()
        return count

    loops = []
    if "worker" in only:
        loops.append(Loop("inbox", process_inbox, INBOX_INTERVAL, wakes.inbox))
    if "delivery" in only:
        loops.extend(Loop(f"{channel} delivery", partial(outgoing.deliver_due, channel),
                          DELIVERY_INTERVAL[channel], wakes.outbox[channel])
                     for channel in outgoing.senders)
    if "scheduler" in only:
        loops.append(Loop("follow-up", partial(asyncio.to_thread, scheduler.follow_up),
                          FOLLOW_UP_INTERVAL))
        if telegram:
            loops.append(Loop("live chats", partial(asyncio.to_thread, scheduler.tend_chats),
                              CHAT_PASS_INTERVAL))
    return loops


async def serve(settings: Settings, only: frozenset[str] = frozenset(ROLES)) -> None:
    """`gateway run`: start what is enabled, print `ready`, stop cleanly on SIGTERM."""
    check_exposure(settings)
    engine = await asyncio.to_thread(open_database, settings)
    await asyncio.to_thread(inbox.release_leases, engine)
    if engine.dialect.name == "sqlite":
        await asyncio.to_thread(outbox.release_leases, engine)
    stopping, wakes, clock = asyncio.Event(), Wakes(), UtcClock()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    desk = make_desk(settings)
    incoming = make_incoming(settings, engine, desk, clock)
    transport = make_mail_transport(settings)
    senders: dict[Channel, Sender] = {
        Channel.EMAIL: EmailSender(transport, desk, settings.email.name, incoming.blobs.get)}
    telegram = None
    if settings.telegram.enabled:  # the worker takes its rows; delivery and polling per `only`
        telegram = await start_telegram(settings, incoming, clock, wakes.outbox[Channel.TELEGRAM])
        incoming.telegram, senders[Channel.TELEGRAM] = telegram.processor, telegram.sender
    outgoing = OutgoingRunner(engine, incoming.blobs, senders, clock,
                              timedelta(days=settings.outbound.max_age_days),
                              desk.default_agent_address)
    scheduler = SchedulerRunner(engine, incoming.blobs, desk, clock)
    loops = make_loops(only, incoming, outgoing, scheduler, wakes, telegram is not None)
    ingest = make_ingest(settings, engine, clock, telegram, only, wakes.inbox)
    tasks = [asyncio.create_task(loop.run(stopping)) for loop in loops]
    await ingest.start(stopping)
    print(ready_line(settings, ingest.smtp.port if ingest.smtp else None), flush=True)
    await stopping.wait()
    log.info("stopping: no new work is taken")
    if incoming.parse_budget:  # a message being parsed is left for the next start, uncounted
        incoming.parse_budget.close()
    await ingest.stop()
    await asyncio.gather(*tasks)
    await transport.close()
    if telegram:
        with contextlib.suppress(Exception):
            await telegram.bot.shutdown()
    engine.dispose()


def ready_line(settings: Settings, smtp_port: int | None) -> str:
    parts = ["ready"]
    parts.append(f"smtp={settings.smtp.host}:{smtp_port}" if smtp_port else "smtp=off")
    parts.append(f"imap={settings.imap.host}:{settings.imap.port}" if settings.imap.enabled
                 else "imap=off")
    parts.append(f"telegram={settings.telegram.mode}" if settings.telegram.enabled
                 else "telegram=off")
    out = settings.outbound
    parts.append(f"outbound={out.host}:{out.port}" if out.host
                 else f"outbound=files:{settings.data_dir / 'outbox'}")
    parts.append(f"database={settings.database_url.split('://')[0]}")
    return " ".join(parts)
