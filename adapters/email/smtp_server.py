"""Inbound SMTP on aiosmtpd: refuse at RCPT, store in DATA, answer 250 only after the store.

The session decodes nothing: the raw bytes go to the store. aiosmtpd (>= 1.4.6)
keeps its protections: line-length limit, SIZE/data limit, smuggling-safe
end-of-data detection, STARTTLS buffer flush.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import re
import time
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["MailStore", "SmtpServer"]

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 Message accepted"
TEMPFAIL = "451 4.3.0 Temporary failure, please retry later"
NO_SPACE = "452 4.3.1 Insufficient system storage"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, please retry later"
FOREIGN_DOMAIN = "550 5.1.2 Recipient domain not accepted here"
TOO_MANY_RCPTS = "452 4.5.3 Too many recipients"
TOO_BIG = "552 5.3.4 Message too big for system"
MAX_RECIPIENTS = 100

# aiosmtpd's own replies that lack an enhanced status code, and what we say instead.
_REWRITES = {
    "552 Error: Too much mail data": TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": TOO_BIG,
}
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"
_LOGGABLE = re.compile(r"[^A-Za-z0-9._\-\[\]:]")


class MailStore(Protocol):
    """Stores one inbound message durably.

    Returns once it is committed (a duplicate counts as stored); raises on a
    storage failure. `mail_from` is "" for the null reverse-path `<>`.
    """

    async def __call__(self, raw: bytes, mail_from: str, rcpt_tos: tuple[str, ...]) -> None: ...


class SmtpServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        accepted_domains: frozenset[str],
        max_message_bytes: int,
        store: MailStore,
        hostname: str = "gateway",
        grace_seconds: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._domains = frozenset(d.lower().rstrip(".") for d in accepted_domains)
        self._max_bytes = max_message_bytes
        self._store = store
        self._hostname = hostname
        self._grace = grace_seconds
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._storing: set[asyncio.Task[None]] = set()
        self.stopping = False

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("SMTP server already started")
        loop = asyncio.get_running_loop()
        handler = _Handler(self)
        _quiet_aiosmtpd_log()
        self.stopping = False

        def factory() -> _Session:
            return _Session(
                handler,
                self._sessions,
                data_size_limit=self._max_bytes,
                hostname=self._hostname,
                ident="ESMTP",
                loop=loop,
            )

        self._server = await loop.create_server(factory, self._host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("smtp listening host=%s port=%d", self._host, self._port)

    async def stop(self) -> None:
        """Stop listening, let stores in progress finish (bounded), then close sessions."""
        if self._server is None:
            return
        server, self._server = self._server, None
        self.stopping = True
        server.close()
        deadline = time.monotonic() + self._grace
        while self._storing and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._storing), timeout=left)
        for task in set(self._storing):
            log.warning("smtp store still running at shutdown; cancelled (no 250 was sent)")
            task.cancel()
        handlers = [s.close_for_shutdown() for s in set(self._sessions)]
        pending = [h for h in handlers if h is not None]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        await server.wait_closed()
        log.info("smtp stopped port=%d", self._port)

    def store_in_background(
        self, raw: bytes, mail_from: str, rcpts: tuple[str, ...]
    ) -> asyncio.Task[None]:
        """Run the store as its own task so a dropped client cannot cancel a commit halfway."""
        task = asyncio.ensure_future(self._store(raw, mail_from, rcpts))
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)
        return task

    def accepts(self, address: str) -> bool:
        local, at, domain = address.rpartition("@")
        return bool(at and local) and domain.lower().rstrip(".") in self._domains


class _Session(SMTP):
    """aiosmtpd's protocol, plus a registry for shutdown and enhanced codes on its replies."""

    def __init__(self, handler: _Handler, registry: set[_Session], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._registry = registry

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._registry.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._registry.discard(self)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if status in _REWRITES:
                _disposition("too_big", self.session, self.envelope, code=552)
                status = _REWRITES[status]
            elif status.startswith("500 Line too long"):
                _disposition("line_too_long", self.session, self.envelope, code=500)
        await super().push(status)

    def close_for_shutdown(self) -> asyncio.Task[None] | None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            assert isinstance(transport, asyncio.WriteTransport)
            transport.write(SHUTTING_DOWN.encode("ascii") + b"\r\n")
            transport.close()
        return self._handler_coroutine


class _Handler:
    """aiosmtpd hooks; the server object holds the state."""

    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._owner.stopping:
            return SHUTTING_DOWN
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not self._owner.accepts(address):
            _disposition("rcpt_refused", session, envelope, code=550, rcpt=address)
            return FOREIGN_DOMAIN
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY_RCPTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            content = envelope.content
            raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else b""
        mail_from = envelope.mail_from or ""
        if mail_from == "<>":
            mail_from = ""
        task = self._owner.store_in_background(raw, mail_from, tuple(envelope.rcpt_tos))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # The client went away (or we are stopping): the store goes on and the
            # client's retry is deduplicated by the store.
            _disposition("client_gone_during_store", session, envelope, raw=raw)
            task.add_done_callback(_log_orphan_outcome)
            raise
        except Exception as exc:
            status = NO_SPACE if _is_disk_full(exc) else TEMPFAIL
            log.error(
                "smtp store failed disposition=tempfail code=%s size=%d",
                status[:3],
                len(raw),
                exc_info=exc,
            )
            _disposition("tempfail", session, envelope, code=int(status[:3]), raw=raw)
            return status
        _disposition("accepted", session, envelope, code=250, raw=raw)
        return ACCEPTED

    async def handle_exception(self, error: Exception) -> str:
        status = NO_SPACE if _is_disk_full(error) else TEMPFAIL
        log.error("smtp session error; answered %s", status[:3], exc_info=error)
        return status


def _quiet_aiosmtpd_log() -> None:
    """aiosmtpd logs every command line (addresses in clear) at INFO on "mail.log".

    Unless the operator configured that logger, keep it to warnings: our own
    disposition lines say what happened, with local parts redacted.
    """
    library_log = logging.getLogger("mail.log")
    if library_log.level == logging.NOTSET:
        library_log.setLevel(logging.WARNING)


def _log_orphan_outcome(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        log.warning("smtp store cancelled after the client left; no 250 was sent")
    elif (exc := task.exception()) is not None:
        log.error("smtp store failed after the client left", exc_info=exc)
    else:
        log.info("smtp store finished after the client left; the retry is a duplicate")


def _is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` or anything it wraps says the disk (or quota) is full."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == _PG_DISK_FULL:
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError
        todo.extend([current.__cause__, current.__context__])
        if isinstance(orig, BaseException):
            todo.append(orig)
    return False


def _redact(address: str) -> str:
    if not address or address == "<>":
        return "<>"
    domain = address.rpartition("@")[2]
    return "***@" + _LOGGABLE.sub("?", domain)[:100]


def _disposition(
    what: str,
    session: Session | None,
    envelope: Envelope | None,
    *,
    code: int | None = None,
    rcpt: str | None = None,
    raw: bytes | None = None,
) -> None:
    peer = session.peer if session is not None else None
    host = peer[0] if isinstance(peer, tuple) and peer else "-"
    mail_from = envelope.mail_from if envelope is not None else None
    rcpts = [rcpt] if rcpt is not None else list(envelope.rcpt_tos if envelope else [])
    fields: dict[str, object] = {
        "disposition": what,
        "code": code if code is not None else "-",
        "peer": host,
        "from": _redact(mail_from) if mail_from is not None else "-",
        "rcpt": ",".join(_redact(r) for r in rcpts) or "-",
    }
    if raw is not None:
        fields["size"] = len(raw)
        fields["sha256"] = hashlib.sha256(raw).hexdigest()[:16]
    log.info(
        "smtp " + " ".join(f"{key}=%s" for key in fields),
        *fields.values(),
        extra={"smtp": fields},
    )
