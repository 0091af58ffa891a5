"""Outbound mail: through one SMTP relay, or into `.eml` files when none is configured.

Both senders take the envelope explicitly and validate it (one plain
addr-spec, no CR/LF: GHSA-v3q9-hj7j-63hq). A non-ASCII local part goes by
SMTPUTF8 when the relay offers it; when it does not, that is a permanent failure.
Failures are `DeliveryError`s: `temporary=True` for 4xx replies and network or
TLS trouble, `False` for 5xx.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import ssl
import tempfile
from datetime import UTC
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from pathlib import Path

import aiosmtplib

from adapters.email.compose import checked_address, needs_smtputf8
from gateway.errors import DeliveryError

__all__ = ["FileSender", "SmtpSender"]

log = logging.getLogger(__name__)

_SECURITY = ("none", "starttls", "tls")
_NO_DATE = "00000000T000000Z"  # time part for a message without a usable Date: stays stable
_LOCAL_HOSTNAME = "gateway.invalid"  # EHLO name; avoids a slow getfqdn() on every connect


class SmtpSender:
    """One relay; keeps one connection open between sends and reuses it."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str = _LOCAL_HOSTNAME,
    ) -> None:
        if security not in _SECURITY:
            raise ValueError(f"outbound security must be one of {', '.join(_SECURITY)}")
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def send(self, *, sender: str, recipient: str, message: bytes) -> None:
        mail_from, rcpt = _checked_envelope(sender, recipient)
        utf8 = needs_smtputf8(mail_from + rcpt)
        async with self._lock:
            try:
                client = await self._connection()
                await client.sendmail(mail_from, [rcpt], message,
                                      mail_options=await self._utf8_options(client, utf8))
            except DeliveryError:
                raise
            except Exception as exc:
                self._drop()
                raise self._delivery_error(exc, "send") from exc
            except BaseException:  # cancelled mid-transaction: the connection state is unknown
                self._drop()
                raise

    async def _utf8_options(self, client: aiosmtplib.SMTP, utf8: bool) -> list[str]:
        """["SMTPUTF8"] for a non-ASCII address when the relay offers it (RFC 6531).

        When it does not, the mail cannot go: a permanent failure, not the relay's fault.
        """
        if not utf8:
            return []
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if client.supports_extension("smtputf8"):
            return ["SMTPUTF8"]
        raise DeliveryError(f"The relay {self._host}:{self._port} does not offer SMTPUTF8, "
                            "needed for a non-ASCII address.", temporary=False)

    async def check(self) -> None:
        """Connect (with STARTTLS/TLS and login as configured) and say QUIT."""
        client = self._new_client()
        try:
            await client.connect()
            await client.quit()
        except Exception as exc:
            raise self._delivery_error(exc, "check") from exc
        finally:
            client.close()

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is None or not client.is_connected:
                return
            try:
                await client.quit()
            except Exception:  # the relay may already have hung up; we only tidy
                log.debug("smtp relay QUIT failed while closing", exc_info=True)
            finally:
                client.close()

    async def _connection(self) -> aiosmtplib.SMTP:
        client = self._client
        if client is not None and client.is_connected:
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError):
                log.info("smtp relay connection went stale; reconnecting")
                self._drop()
        client = self._new_client()
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def _new_client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username or None,
            password=self._password if self._username else None,
            local_hostname=self._local_hostname,
            timeout=self._timeout,
            use_tls=self._security == "tls",
            start_tls=self._security == "starttls",
            tls_context=self._tls_context,
        )

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _delivery_error(self, exc: Exception, action: str) -> DeliveryError:
        temporary, detail = _classify(exc)
        where = f"{self._host}:{self._port}"
        text = _scrub(f"SMTP {action} via {where} failed: {detail.rstrip('.')}.", self._password)
        log.warning(
            "smtp relay %s failed temporary=%s: %s",
            action,
            temporary,
            text,
            exc_info=detail.startswith("unexpected"),
        )
        return DeliveryError(text, temporary=temporary)


def _classify(exc: Exception) -> tuple[bool, str]:
    """(temporary, one-line detail) for an exception raised while talking to a relay."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return first.code < 500, f"recipient refused with {first.code} {_line(first.message)}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # The relay refuses our login: a setup error for every message, not this one's fault.
        # Retry until the operator fixes it (doctor names it) rather than fail the whole queue.
        return True, f"login refused {exc.code} {_line(exc.message)}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code < 500, f"reply {exc.code} {_line(exc.message)}"
    if isinstance(exc, ssl.SSLError):
        return True, f"TLS error: {_line(str(exc))}"
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # The relay lacks what the settings ask for (STARTTLS, AUTH): fix the relay or settings.
        return True, f"not supported by the relay: {_line(str(exc))}"
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return True, "timed out"
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLError):
            return True, f"TLS error: {_line(str(cause))}"
        return True, f"connection problem: {_line(str(exc)) or type(exc).__name__}"
    return True, f"unexpected {type(exc).__name__}"


def _line(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat[:300]


def _scrub(text: str, password: str) -> str:
    if not password:
        return text
    for secret in {password, base64.b64encode(password.encode()).decode()}:
        text = text.replace(secret, "***")
    return text


def _checked_envelope(sender: str, recipient: str) -> tuple[str, str]:
    try:
        mail_from = "" if sender == "" else checked_address(sender, "sender")
        return mail_from, checked_address(recipient, "recipient", utf8=True)
    except ValueError as exc:
        raise DeliveryError(f"Refusing to send: {exc}.", temporary=False) from None


class FileSender:
    """No relay configured: each message becomes `<UTC time>-<sha1>.eml`, written atomically."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, *, sender: str, recipient: str, message: bytes) -> None:
        _checked_envelope(sender, recipient)
        try:
            await asyncio.to_thread(self._write, message)
        except OSError as exc:
            raise DeliveryError(
                f"Writing the message under {self._directory} failed: {exc.strerror or exc}.",
                temporary=True,
            ) from None

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self._check)
        except OSError as exc:
            raise DeliveryError(
                f"The outbox directory {self._directory} is not writable: {exc.strerror or exc}.",
                temporary=True,
            ) from None

    async def close(self) -> None:
        return None

    def file_name(self, message: bytes) -> str:
        """`<UTC Date header>-<sha1 of Message-ID, or of the bytes>.eml`."""
        headers = BytesHeaderParser(policy=compat32).parsebytes(message)
        message_id = str(headers.get("Message-ID", "") or "").strip()
        digest = hashlib.sha1(
            message_id.encode("utf-8", "surrogateescape") if message_id else message,
            usedforsecurity=False,
        ).hexdigest()
        return f"{_timestamp(str(headers.get('Date', '') or ''))}-{digest}.eml"

    def _write(self, message: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        final = self._directory / self.file_name(message)
        if final.exists():
            return
        fd, tmp_name = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".eml.tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_directory(self._directory)

    def _check(self) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._directory, prefix=".check-", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp_name)


def _timestamp(date_header: str) -> str:
    """The message's Date in UTC, stable across retries; a marker when it has none."""
    try:
        when = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        return _NO_DATE
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
