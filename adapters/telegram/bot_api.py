"""Updates into the inbox, durably, before Telegram is told they were received.

PTB's Updater confirms an update as soon as it is in memory, so it is not used: the poller
calls getUpdates itself, commits the updates to the inbox (key `tg:<update_id>`), then stores
the next offset, and only then asks for more (which is what confirms them to Telegram).
The webhook answers 200 only after the commit; 403 without the right secret token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from telegram import Bot
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from adapters.telegram.normalize import MalformedUpdate, check_update, decode_update
from adapters.telegram.processor import ENVELOPE
from config.settings import TelegramSettings
from gateway.errors import ConfigError
from store import inbox
from store.locks import AdvisoryLock
from store.telegram_state import load_offset, save_offset

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
LOCK_KEY = 0x5447_7067  # "TGpg": one poller per database
MAX_BODY = 1_000_000
DRAIN_LIMIT = 8 * MAX_BODY
DOWNLOAD_TIMEOUT = 120.0
STANDBY = 2.0  # seconds before a poller without the lock, or after a failed round, tries again


def file_url(base_url: str) -> str:
    head, found, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if found else base_url


def make_bot(settings: TelegramSettings) -> Bot:
    if not settings.token:
        raise ConfigError("telegram is enabled but telegram.token is empty (GATEWAY_TELEGRAM__TOKEN).")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the bot token
    base = settings.base_url or "https://api.telegram.org/bot"
    return Bot(settings.token, base_url=base, base_file_url=settings.base_file_url or file_url(base),
               request=HTTPXRequest(connection_pool_size=8),
               get_updates_request=HTTPXRequest(read_timeout=settings.poll_timeout + 10.0))


def file_fetcher(bot: Bot, loop: asyncio.AbstractEventLoop) -> Callable[[str], bytes]:
    """Downloads for the worker's thread, run on the bot's event loop."""
    async def download(file_id: str) -> bytes:
        file = await bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    def fetch(file_id: str) -> bytes:
        return asyncio.run_coroutine_threadsafe(download(file_id), loop).result(DOWNLOAD_TIMEOUT)
    return fetch


def item(update: dict[str, Any]) -> inbox.Item:
    raw = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
    return inbox.Item("telegram", f"tg:{int(update['update_id'])}", raw, ENVELOPE)


def wellformed(found: object) -> tuple[list[dict[str, Any]], int | None]:
    """getUpdates' result checked one by one: the well-formed updates, and the highest update_id
    of all (a malformed one is logged and left out, but the offset still moves past it)."""
    kept: list[dict[str, Any]] = []
    highest: int | None = None
    for update in found if isinstance(found, list) else ():
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            highest = update_id if highest is None else max(highest, update_id)
        problem = check_update(update)
        if problem:
            log.warning("telegram update malformed, skipped",
                        extra={"update_id": update_id, "reason": problem})
        else:
            kept.append(update)
    return kept, highest


class Poller:
    """getUpdates, one round at a time (the ingest runner loops over them); on PostgreSQL only
    the holder of an advisory lock polls."""

    def __init__(self, bot: Bot, engine: Engine, timeout: int,
                 on_stored: Callable[[], None]) -> None:
        self.bot, self.engine, self.timeout, self.on_stored = bot, engine, timeout, on_stored
        self._lock = AdvisoryLock(engine, LOCK_KEY, "telegram poller")
        self._offset: int | None = None
        self._polling = False

    async def poll(self, stopping: asyncio.Event) -> int:
        """One round if we hold the lock, re-checked every time: 1 when Telegram answered (poll
        again at once), 0 when we stand by or the round failed (wait STANDBY seconds)."""
        if not await asyncio.to_thread(self._holds_lock):
            self._polling = False
            return 0
        if not self._polling:  # (again) ours: another poller may have moved the offset meanwhile
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._offset = await asyncio.to_thread(load_offset, self.engine)
            self._polling = True
        return await self._round(stopping)

    def release(self) -> None:
        self._lock.release()

    def _holds_lock(self) -> bool:
        try:
            return self._lock.acquire()
        except Exception as error:  # database down: nobody can be sure to hold it
            log.warning("telegram poller lock unavailable: %s", error)
            return False

    async def _round(self, stopping: asyncio.Event) -> int:
        try:  # get_updates minus its parsing into objects: one malformed update must not fail all
            found: Any = await _unless_stopped(stopping, self.bot._post(
                "getUpdates", {"offset": self._offset, "timeout": self.timeout,
                               "allowed_updates": list(ALLOWED_UPDATES)},
                read_timeout=self.timeout + 10.0))
        except (TelegramError, OSError, RecursionError) as error:
            log.warning("getUpdates failed: %s", error)
            return 0
        updates, highest = wellformed(found)
        if highest is None:
            return 1
        try:
            if updates:
                await asyncio.to_thread(inbox.store_many, self.engine, [item(u) for u in updates],
                                        datetime.now(UTC))
            await asyncio.to_thread(save_offset, self.engine, highest + 1)
        except Exception as error:  # database down: ask again for the same updates later
            log.warning("telegram updates not stored, will ask again: %s", error)
            return 0
        self._offset = highest + 1
        self.on_stored()
        return 1


async def _unless_stopped(stopping: asyncio.Event, call: Awaitable[Any]) -> Any:
    task = asyncio.ensure_future(call)
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not task.done():
        task.cancel()
        return ()
    return task.result()


Store = Callable[[inbox.Item], Awaitable[bool]]


class WebhookServer:
    """A small HTTP/1.1 endpoint: POST <path> with the secret header -> inbox -> 200."""

    def __init__(self, listen: str, path: str, secret: str, store: Store) -> None:
        if not secret:
            raise ConfigError("telegram.mode is webhook but telegram.secret_token is empty "
                              "(GATEWAY_TELEGRAM__SECRET_TOKEN).")
        host, _, port = listen.rpartition(":")
        self.host, self.port, self.path = host or "127.0.0.1", int(port), path or "/"
        self._secret, self._store = secret.encode(), store
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status = await asyncio.wait_for(self._request(reader), 30)
        except (ValueError, asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
            status = 400
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  413: "Payload Too Large", 503: "Service Unavailable"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                     .encode())
        with contextlib.suppress(OSError):
            await writer.drain()
            writer.close()

    async def _request(self, reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > 65536:
            return 400
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:] if line)}
        given = headers.get("x-telegram-bot-api-secret-token", "").encode("latin-1")
        if not hmac.compare_digest(given, self._secret):  # constant time, checked first
            return 403
        if method != "POST" or target.split("?")[0] != self.path:
            return 404
        length = int(headers.get("content-length", "0"))
        if length < 0:
            return _refused(400, "negative content-length")
        if length > MAX_BODY:
            await _drain(reader, length)  # else the client, still sending, never reads the answer
            return _refused(413, f"body of {length} bytes")
        try:  # a thread: a hostile body costs a scan of at most MAX_BODY bytes, off the loop
            update = await asyncio.to_thread(decode_update, await reader.readexactly(length))
        except MalformedUpdate as error:
            return _refused(400, str(error))
        try:
            await self._store(item(update))
        except Exception as error:  # the database is down: Telegram will deliver it again
            log.warning("telegram webhook update not stored: %s", error)
            return 503
        return 200


def _refused(status: int, reason: str) -> int:
    log.warning("telegram webhook update refused", extra={"status": status, "reason": reason})
    return status


async def _drain(reader: asyncio.StreamReader, length: int) -> None:
    """Read and drop a refused body, up to DRAIN_LIMIT bytes (past that the connection just closes)."""
    left = min(length, DRAIN_LIMIT)
    while left > 0:
        chunk = await reader.read(min(left, 65536))
        if not chunk:
            return
        left -= len(chunk)
