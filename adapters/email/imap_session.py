"""One IMAP connection (imapclient, blocking): connect, log in, bound what the server may
make us read, find new UIDs, fetch sizes and bodies without \\Seen, move what is stored."""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

from imapclient import IMAPClient

from adapters.email.imap_auth import TokenError, TokenSource, login
from config.settings import ImapSettings

log = logging.getLogger(__name__)

TIMEOUT = 60.0  # seconds per socket operation; IDLE waits use their own timeout
# One response line (e.g. a SEARCH result) may not exceed this: 4 MB is about 500k UIDs.
imaplib._MAXLINE = 4_000_000  # type: ignore[attr-defined]
LITERAL_SLACK = 64 * 1024
CHUNK_BYTES = 32 * 1024 * 1024  # bodies fetched per FETCH command, at most (and one at least)
SEEN, DELETED = rb"\Seen", rb"\Deleted"


class Connection:
    def __init__(self, settings: ImapSettings, tokens: TokenSource | None, max_bytes: int) -> None:
        self.settings = settings
        use_tls = settings.tls is True
        context = ssl.create_default_context() if settings.tls else None
        self.client = IMAPClient(settings.host, port=settings.port, ssl=use_tls,
                                 ssl_context=context if use_tls else None, timeout=TIMEOUT)
        try:
            if settings.tls == "starttls":
                self.client.starttls(context)
            bound_literals(self.client, max_bytes + LITERAL_SLACK)
            self.renew_at = login(self.client, settings, tokens)
        except BaseException:
            self.close()
            raise

    def has(self, capability: str) -> bool:
        return bool(self.client.has_capability(capability))

    def ensure_folder(self, folder: str) -> None:
        if not folder or self.client.folder_exists(folder):
            return
        try:
            self.client.create_folder(folder)
            log.info("IMAP: created folder %r", folder)
        except IMAPClient.Error:
            if not self.client.folder_exists(folder):  # someone else may have created it
                raise

    def select(self, folder: str) -> int:
        """Select read-write; returns UIDVALIDITY."""
        info = self.client.select_folder(folder)
        return int(info[b"UIDVALIDITY"])

    def uids_after(self, last: int) -> list[int]:
        """UIDs above `last`. `last+1:*` always matches the highest UID, even when it is
        `last` itself (RFC 3501 §6.4.8): filter, or an empty mailbox repeats a message."""
        found = self.client.search(["UID", f"{last + 1}:*"])
        return sorted(uid for uid in (int(u) for u in found) if uid > last)

    def uids_upto(self, last: int) -> list[int]:
        if last <= 0:
            return []
        return sorted(int(u) for u in self.client.search(["UID", f"1:{last}"]) if int(u) <= last)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        answer = self.client.fetch(list(uids), ["RFC822.SIZE"])
        return {int(uid): int(data[b"RFC822.SIZE"]) for uid, data in answer.items()
                if b"RFC822.SIZE" in data}

    def bodies(self, uids: Sequence[int], sizes: dict[int, int]) -> Iterator[list[tuple[int, bytes]]]:
        """Chunks of (uid, raw) in UID order; BODY.PEEK[] leaves \\Seen as it was."""
        for chunk in chunk_by_bytes(uids, sizes, CHUNK_BYTES):
            answer = self.client.fetch(chunk, ["BODY.PEEK[]"])
            yield [(uid, bytes(answer[uid][b"BODY[]"])) for uid in chunk
                   if uid in answer and answer[uid].get(b"BODY[]") is not None]

    def move(self, uids: Sequence[int], target: str) -> None:
        """MOVE when offered (atomic); else COPY, \\Deleted, and UID EXPUNGE (or EXPUNGE)."""
        if not uids:
            return
        if not target:  # no processed folder: mark, leave in place
            self.client.add_flags(list(uids), [SEEN])
            return
        if self.has("MOVE"):
            self.client.move(list(uids), target)
            return
        self.client.copy(list(uids), target)
        self.client.add_flags(list(uids), [DELETED])
        if self.has("UIDPLUS"):
            self.client.uid_expunge(list(uids))
        else:
            self.client.expunge()

    def close(self) -> None:
        try:
            self.client.logout()
        except Exception:
            try:
                self.client.shutdown()
            except Exception:
                log.debug("IMAP: closing the connection failed", exc_info=True)


def bound_literals(client: IMAPClient, limit: int) -> None:
    """imaplib reads whatever literal size the server announces (gh-119511): refuse above
    `limit`, which we only fetch after checking RFC822.SIZE, and drop the connection."""
    imap: Any = client._imap
    original = imap.read

    def read(size: int) -> bytes:
        if size > limit:
            raise imaplib.IMAP4.abort(f"server announced a {size}-byte literal (bound {limit})")
        return bytes(original(size))

    imap.read = read


def chunk_by_bytes(uids: Sequence[int], sizes: dict[int, int], budget: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if chunk and total + size > budget:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def check(settings: ImapSettings, max_bytes: int) -> str:
    """`doctor`: token, login, folder; says what it found."""
    tokens = TokenSource(settings) if settings.auth == "xoauth2" else None
    if tokens is not None:
        try:
            tokens.get()
        except TokenError as error:
            raise TokenError(f"OAuth token refresh failed: {error}") from None
    connection = Connection(settings, tokens, max_bytes)
    try:
        if not connection.client.folder_exists(settings.folder):
            raise ValueError(f"imap.folder {settings.folder!r} does not exist on {settings.host}")
        idle = "IDLE" if connection.has("IDLE") and settings.idle else "polling"
        move = "MOVE" if connection.has("MOVE") else "COPY+EXPUNGE"
        processed = settings.processed_folder
        exists = not processed or connection.client.folder_exists(processed)
    finally:
        connection.close()
    where = f"{settings.username}@{settings.host}:{settings.port}/{settings.folder}"
    note = "" if exists else f", {processed!r} will be created"
    return f"{where}: logged in ({settings.auth}), {idle}, {move}{note}"
