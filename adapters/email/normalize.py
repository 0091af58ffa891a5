"""Turn raw email bytes into the core's `InboundMessage`.

Entry point: `parse_email`. Structural limits are checked before and while
parsing; anything beyond them raises `UnreadableMessage` (the caller
quarantines the raw bytes). Everything else is best effort: broken charsets,
headers and encodings give replacement characters, never an exception.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from typing import Any

from adapters.email import parts as mime
from adapters.email.automation import Facts, classify
from adapters.email.bounces import read_report
from adapters.email.headers import (
    address_tokens,
    decode_words,
    display_name,
    message_ids,
    single_sender,
)
from adapters.email.ingest import HEADER_END
from adapters.email.quotes import strip_reply
from adapters.text import clean_line
from gateway.messages import Channel, InboundMessage

_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I)
_DELIMITER = re.compile(rb"^--([^\r\n]{1,210})$", re.M)
_MAX_REFERENCES = 50


@dataclass(frozen=True)
class Limits:
    # Configured (policy.*): no defaults here, the composition root passes them in.
    max_attachment_bytes: int
    attachment_types: tuple[str, ...]
    # Structural: not configuration.
    max_header_bytes: int = 100_000
    max_parts: int = 500
    max_depth: int = 20
    max_text_chars: int = 200_000


class UnreadableMessage(Exception):
    """The message breaks a structural limit and must be quarantined."""


def parse_email(
    raw: bytes,
    *,
    received_at: datetime,
    limits: Limits,
    own_addresses: frozenset[str] = frozenset(),
    envelope_recipients: tuple[str, ...] = (),
) -> InboundMessage:
    """Parse one raw message; raise `UnreadableMessage` above the limits."""
    _check_structure(raw, limits)
    msg = _parse(raw.lstrip(b"\r\n\t "))
    walked = mime.walk(msg, limits.max_parts, limits.max_depth)
    if walked is None:
        raise UnreadableMessage("The message has too many or too deeply nested MIME parts.")
    headers = _header_map(msg)
    _check_single_headers(headers)
    from_raw = _first(headers, "from")
    sender = single_sender(from_raw)
    subject = clean_line(decode_words(_first(headers, "subject") or ""), 300)
    full_text = mime.body_text(walked, limits.max_text_chars)
    attachments, rejected = mime.attachments(
        walked, limits.attachment_types, limits.max_attachment_bytes
    )
    facts = Facts(
        sender=sender,
        from_raw=from_raw,
        subject=subject,
        headers=headers,
        content_types=tuple(item.content_type for item in walked),
        report_types=tuple(item.report_type for item in walked if item.report_type),
    )
    report = read_report(walked, headers, envelope_recipients)
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=_external_id(_first(headers, "message-id"), raw),
        sender=sender,
        sender_name=display_name(from_raw),
        subject=subject,
        text=strip_reply(full_text),
        full_text=full_text,
        received_at=received_at,
        recipients=_recipients(headers, envelope_recipients),
        references=_references(headers),
        attachments=attachments,
        rejected_attachments=rejected,
        automated=classify(facts, own_addresses),
        bounced=report.failed,
        report_to=report.delivered_to,
        reported_message_ids=report.message_ids,
    )


def _check_structure(raw: bytes, limits: Limits) -> None:
    """Cheap checks on the raw bytes before the stdlib parser sees them.

    The parser needs over a second for 10,000 parts and recurses once per
    multipart level, so count delimiter lines and track their nesting here.
    """
    end = HEADER_END.search(raw, 0, limits.max_header_bytes + 4)
    if end is None and len(raw) > limits.max_header_bytes:
        raise UnreadableMessage("The message headers are larger than allowed.")
    boundaries = {m.group(1) or m.group(2) for m in _BOUNDARY.finditer(raw)}
    if not boundaries:
        return
    stack: list[bytes] = []
    parts = 0
    for found in _DELIMITER.finditer(raw):
        line = found.group(1).rstrip(b" \t\r")
        closing = line.endswith(b"--") and line[:-2] in boundaries and line not in boundaries
        name = line[:-2] if closing else line
        if name not in boundaries:
            continue
        if name in stack:
            del stack[stack.index(name) + (0 if closing else 1) :]
        elif not closing:
            stack.append(name)
        parts += 0 if closing else 1
        if parts > limits.max_parts or len(stack) > limits.max_depth:
            raise UnreadableMessage("The message has too many or too deeply nested MIME parts.")


class BoundedPolicy(email.policy.EmailPolicy):
    """policy.default, but a header is parsed from at most MAX_PARSED_HEADER characters.

    The structured header parser is quadratic (CPython #136063): the fuzzer found a 380 KB
    Content-Type inside a part that took 12 s. Raw values stay whole in `raw_items()`.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        return super().header_fetch_parse(name, value[:MAX_PARSED_HEADER])


MAX_PARSED_HEADER = 16_000
BOUNDED = BoundedPolicy()


def _parse(raw: bytes) -> Message:
    """Parse with the modern policy; fall back to compat32 when it fails.

    The modern policy parses Content-Type while reading and can recurse on
    hostile values (e.g. 100 KB of "("); compat32 reads them as plain text.
    """
    try:
        return BytesParser(policy=BOUNDED).parsebytes(raw)
    except Exception:
        pass
    try:
        return BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except RecursionError as exc:  # a nesting the pre-check did not see
        raise UnreadableMessage("The message is nested too deeply to read.") from exc


def _header_map(msg: Message) -> dict[str, list[str]]:
    """Raw header values by lower-case name, never run through the header parser."""
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(str(value))
    return headers


def _check_single_headers(headers: dict[str, list[str]]) -> None:
    """Refuse a second copy of a header RFC 5322 §3.6 allows once.

    We read the first copy, DKIM verifies the last: a signed mail replayed with a new
    Subject or From on top would otherwise pass as its signer with the attacker's words.
    """
    for name in _SINGLE_HEADERS:
        count = len(headers.get(name.lower(), ()))
        if count > 1:
            raise UnreadableMessage(f"malformed: {count} {name} headers")


_SINGLE_HEADERS = ("From", "Sender", "Reply-To", "To", "Subject", "Date", "Message-ID")


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _external_id(value: str | None, raw: bytes) -> str:
    ids = message_ids(value)
    candidate = ids[0].strip() if ids else (value or "").strip().strip("<>").strip()
    if (
        candidate
        and len(candidate) <= 250
        and "@" in candidate
        and candidate.isprintable()
        and candidate.isascii()
        and " " not in candidate
    ):
        return candidate
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _recipients(headers: dict[str, list[str]], envelope: tuple[str, ...]) -> tuple[str, ...]:
    found: list[str] = []
    for name in ("to", "cc", "delivered-to"):
        for value in headers.get(name, ()):
            found.extend(address_tokens(value, loose=True) or ())
    for address in envelope:
        found.extend(address_tokens(address, loose=True) or ())
    return tuple(dict.fromkeys(found))


def _references(headers: dict[str, list[str]]) -> tuple[str, ...]:
    found: list[str] = []
    for name in ("in-reply-to", "references"):
        for value in headers.get(name, ()):
            found.extend(message_ids(value))
    return tuple(dict.fromkeys(found))[:_MAX_REFERENCES]
