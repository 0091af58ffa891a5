"""The one composition root: settings -> engine -> adapters -> run. The CLI wires through here."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import secrets
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from adapters.email.imap_fetcher import ImapFetcher
from adapters.email.ingest import dedupe_key
from adapters.email.normalize import Limits
from adapters.email.sender_auth import SenderCheck
from adapters.email.smtp_sender import FileSender, SmtpSender
from adapters.email.smtp_server import SmtpServer
from adapters.inbox_writer import InboxWriter
from adapters.language import LangidDetector
from adapters.parse_budget import ParseBudget
from adapters.render import TemplateRenderer
from adapters.telegram.service import start_telegram
from adapters.worker import MailSender, Worker, utc_now
from config.settings import Settings
from gateway.desk import Desk
from gateway.errors import ConfigError
from gateway.hours import make_window
from gateway.languages import Language, LanguageTable
from gateway.people import fold_address
from gateway.replykeys import ReplyKeys
from store import inbox, outbox
from store.blobs import BlobStore
from store.engine import check_durability, make_engine
from store.migrate import upgrade

log = logging.getLogger(__name__)
ROLES = ("smtp", "worker", "delivery", "scheduler", "imap", "telegram")


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
    )


def make_mail_sender(settings: Settings) -> MailSender:
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


def make_worker(settings: Settings, engine: Engine) -> Worker:
    policy = settings.policy
    return Worker(
        engine=engine, blobs=BlobStore(settings.data_dir / "blobs"), desk=make_desk(settings),
        limits=Limits(max_attachment_bytes=policy.max_attachment_bytes,
                      attachment_types=policy.attachment_types),
        sender_check=SenderCheck(settings.security.sender_auth, settings.security.authserv_id),
        mail=make_mail_sender(settings), from_name=settings.email.name,
        max_age=timedelta(days=settings.outbound.max_age_days),
        # The child process starts with the first message; `serve` stops it.
        parse_budget=ParseBudget(settings.worker.parse_cpu_seconds),
        max_attempts=settings.worker.max_attempts,
    )


@dataclass
class Loop:
    """Runs `step` until stopped; sleeps `interval` (or until woken) when there was nothing."""

    name: str
    step: Callable[[], Awaitable[int]]
    interval: float
    wake: asyncio.Event

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                done = await self.step()
            except Exception:  # a broken round must not stop the loop; the rows stay in the ledger
                log.exception("%s round failed", self.name)
                done = 0
            if done:
                continue
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()),
                       asyncio.ensure_future(stopping.wait())]
            await asyncio.wait(waiters, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()


async def serve(settings: Settings, only: frozenset[str] = frozenset(ROLES)) -> None:
    """`gateway run`: start what is enabled, print `ready`, stop cleanly on SIGTERM."""
    check_exposure(settings)
    engine = await asyncio.to_thread(open_database, settings)
    await asyncio.to_thread(inbox.release_leases, engine)
    if engine.dialect.name == "sqlite":
        await asyncio.to_thread(outbox.release_leases, engine)
    worker = make_worker(settings, engine)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    inbox_wake, outbox_wake = asyncio.Event(), asyncio.Event()

    async def process_inbox() -> int:
        count = await asyncio.to_thread(worker.process_inbox)
        if count:
            outbox_wake.set()
        return count

    writer = InboxWriter(engine, utc_now, on_stored=inbox_wake.set)

    async def store(raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None:
        envelope = json.dumps({"from": mail_from, "to": list(rcpt_tos)})
        await writer.store(inbox.Item("email", dedupe_key(raw), raw, envelope))

    loops = []
    if "worker" in only:
        loops.append(Loop("inbox", process_inbox, 1.0, inbox_wake))
    if "delivery" in only:
        loops.append(Loop("delivery", worker.deliver_due, 2.0, outbox_wake))
    if "scheduler" in only:
        loops.append(Loop("scheduler", partial(asyncio.to_thread, worker.follow_up), 60.0,
                          asyncio.Event()))
    smtp = None
    if settings.smtp.enabled and "smtp" in only:
        smtp = SmtpServer(host=settings.smtp.host, port=settings.smtp.port,
                          accepted_domains=frozenset({settings.email.domain}),
                          max_message_bytes=settings.smtp.max_message_bytes, store=store)
        await smtp.start()
    imap = None
    if settings.imap.enabled and "imap" in only:  # its own thread: a bad mailbox only backs off
        imap = ImapFetcher(settings.imap, engine, max_message_bytes=settings.smtp.max_message_bytes,
                           on_stored=partial(loop.call_soon_threadsafe, inbox_wake.set))
        imap.start()
    telegram = None
    if settings.telegram.enabled:  # the worker takes its rows; delivery and polling per `only`
        telegram = await start_telegram(settings, engine, worker, ensure_secret(settings),
                                        only=only, stopping=stopping, on_stored=inbox_wake.set)
    tasks = [asyncio.create_task(item.run(stopping)) for item in loops]
    print(ready_line(settings, smtp.port if smtp else None), flush=True)
    await stopping.wait()
    log.info("stopping: no new work is taken")
    if worker.parse_budget:  # a message being parsed is left for the next start, uncounted
        worker.parse_budget.close()
    if smtp:
        await smtp.stop()
    if imap:
        await asyncio.to_thread(imap.stop)
    if telegram:
        await telegram.stop()
    await asyncio.gather(*tasks)
    await worker.mail.close()
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
