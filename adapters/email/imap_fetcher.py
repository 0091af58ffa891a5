"""IMAP ingestion: never loses a message, never makes two tickets of one.

Per round: UIDs above the checkpoint -> RFC822.SIZE -> BODY.PEEK[] -> commit to the inbox
(dedupe key, as SMTP) -> move to `processed_folder` -> advance the checkpoint. A crash
anywhere refetches at most one batch, and the dedupe key turns refetches into no-ops.
Runs in a thread of its own (imapclient blocks): a failing mailbox only backs off itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from adapters.email.imap_auth import TokenError, TokenSource
from adapters.email.imap_session import Connection
from adapters.email.ingest import dedupe_key
from config.settings import ImapSettings
from gateway.errors import ConfigError
from store import inbox
from store.imap_state import Checkpoint, MailboxLock, load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

BACKOFF_START, BACKOFF_CAP = 1.0, 60.0
LOCK_RETRY = 2.0  # how soon a waiting process notices the holder is gone
IDLE_RENEW = 25 * 60.0  # RFC 2177: re-IDLE before the server's 30-minute timeout
IDLE_TICK = 1.0  # how often IDLE looks at the stop flag
LOCK_CHECK = 30.0  # on PostgreSQL, leave IDLE this often to check we still hold the lock


class LostLock(Exception):
    pass


def utc_now() -> datetime:
    return datetime.now(UTC)


class ImapFetcher:
    def __init__(self, settings: ImapSettings, engine: Engine, *, max_message_bytes: int,
                 on_stored: Callable[[], object] = lambda: None) -> None:
        self.settings = settings
        self.engine = engine
        self.max_bytes = settings.max_message_bytes or max_message_bytes
        self.on_stored = on_stored
        self.mailbox = f"{settings.username}@{settings.host}:{settings.port}/{settings.folder}"
        if settings.processed_folder == settings.folder:  # moving there would read it forever
            raise ConfigError("imap.processed_folder must differ from imap.folder (or be empty)")
        self.tokens = TokenSource(settings) if settings.auth == "xoauth2" else None
        self._lock = MailboxLock(engine, self.mailbox)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="imap", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Until stopped: hold the mailbox lock, keep a session, back off on failures."""
        delay = BACKOFF_START
        try:
            while not self._stop.is_set():
                if not self._wait_for_lock():
                    return
                try:
                    if self._session():
                        delay = BACKOFF_START
                    continue
                except TokenError as error:
                    log.error("IMAP %s: OAuth token refresh failed: %s; retrying in %.0f s",
                              self.mailbox, error, delay)
                except LostLock:
                    log.warning("IMAP %s: lost the mailbox lock; stopping to fetch", self.mailbox)
                    continue
                except Exception as error:
                    log.warning("IMAP %s: %s: %s; reconnecting in %.0f s", self.mailbox,
                                type(error).__name__, error, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_CAP)
        finally:
            self._lock.release()

    def _wait_for_lock(self) -> bool:
        told = False
        while not self._stop.is_set():
            try:
                if self._lock.acquire():
                    if told:
                        log.info("IMAP %s: took over the mailbox", self.mailbox)
                    return True
                if not told:
                    log.info("IMAP %s: another process fetches this mailbox; standing by",
                             self.mailbox)
                    told = True
            except Exception as error:
                log.warning("IMAP %s: mailbox lock unavailable: %s", self.mailbox, error)
            self._stop.wait(LOCK_RETRY)
        return False

    def _session(self) -> bool:
        """One connection until it fails, the token needs renewing, or we stop. Returns
        True once it completed a round (the backoff starts over)."""
        connection = Connection(self.settings, self.tokens, self.max_bytes)
        try:
            connection.ensure_folder(self.settings.processed_folder)
            uidvalidity = connection.select(self.settings.folder)
            last = self._start_from(uidvalidity)
            if self.settings.processed_folder and last:
                self._batch(connection, uidvalidity, connection.uids_upto(last), last)
            idle = self.settings.idle and connection.has("IDLE")
            log.info("IMAP %s: connected (UIDVALIDITY %d, after UID %d, %s)", self.mailbox,
                     uidvalidity, last, "IDLE" if idle else f"polling {self.settings.poll_seconds}s")
            while not self._stop.is_set():
                if not self._lock.acquire():
                    raise LostLock
                more = True
                while more and not self._stop.is_set():
                    last, more = self._round(connection, uidvalidity, last)
                if connection.renew_at is not None and time.time() >= connection.renew_at:
                    log.info("IMAP %s: renewing the session before the token expires", self.mailbox)
                    return True
                if idle:
                    self._idle(connection)
                else:
                    self._stop.wait(self.settings.poll_seconds)
            return True
        finally:
            connection.close()

    def _start_from(self, uidvalidity: int) -> int:
        checkpoint = load_checkpoint(self.engine, self.mailbox)
        if checkpoint is None:
            return 0
        if checkpoint.uidvalidity != uidvalidity:
            log.warning("IMAP %s: UIDVALIDITY changed from %d to %d: reading the mailbox again "
                        "from the start (stored messages are recognised)", self.mailbox,
                        checkpoint.uidvalidity, uidvalidity)
            return 0
        return checkpoint.last_uid

    def _round(self, connection: Connection, uidvalidity: int, last: int) -> tuple[int, bool]:
        """One batch above `last`: the new last UID, and whether more are waiting."""
        uids = connection.uids_after(last)
        batch = uids[: self.settings.batch_size]
        if not batch:
            return last, False
        self._batch(connection, uidvalidity, batch, last)
        # Only now: everything up to batch[-1] is committed (or too big, and left alone).
        save_checkpoint(self.engine, self.mailbox, Checkpoint(uidvalidity, batch[-1]), utc_now())
        return batch[-1], len(uids) > len(batch)

    def _batch(self, connection: Connection, uidvalidity: int, uids: list[int], last: int) -> None:
        """Store (commit) then move each chunk; oversized mail is logged and left in place."""
        if not uids:
            return
        sizes = connection.sizes(uids)
        wanted = []
        for uid in uids:
            size = sizes.get(uid)
            if size is not None and size > self.max_bytes:
                if uid > last:  # once per message, not at every reconnect
                    log.warning("IMAP %s: UID %d (UIDVALIDITY %d) is %d bytes, over the limit of "
                                "%d: left in place, not imported", self.mailbox, uid, uidvalidity,
                                size, self.max_bytes)
            elif size is not None:
                wanted.append(uid)
        for chunk in connection.bodies(wanted, sizes):
            items = [inbox.Item("email", dedupe_key(raw), raw, "") for _, raw in chunk]
            stored = inbox.store_many(self.engine, items, utc_now())  # committed here
            if any(stored):
                self.on_stored()
            connection.move([uid for uid, _ in chunk], self.settings.processed_folder)
            log.info("IMAP %s: %d stored, %d already stored, moved to %r", self.mailbox,
                     sum(stored), len(stored) - sum(stored), self.settings.processed_folder)

    def _idle(self, connection: Connection) -> None:
        """Wait in IDLE until the server reports something, re-IDLE time, or stop."""
        client = connection.client
        client.idle()
        started = time.monotonic()
        renew = LOCK_CHECK if self._lock.needed else IDLE_RENEW
        try:
            while not self._stop.is_set() and time.monotonic() - started < renew:
                if connection.renew_at is not None and time.time() >= connection.renew_at:
                    return
                tick = time.monotonic()
                responses = client.idle_check(timeout=IDLE_TICK)
                if any(len(r) > 1 and r[0] == b"BYE" for r in responses):
                    raise ConnectionError("the server ended the session (BYE)")
                if any(not (len(r) > 1 and r[0] == b"OK") for r in responses):
                    return  # EXISTS, EXPUNGE, FETCH...: look
                if not responses and time.monotonic() - tick < IDLE_TICK / 2:
                    return  # readable but nothing parsed: EOF? DONE will tell
        finally:
            client.idle_done()
