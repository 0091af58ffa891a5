"""What a delivery status notification (RFC 3464) says, and what could prove it is ours.

The core counts a failed recipient only when the report names one of its outbox rows:
by the VERP return path the report was delivered to, or by the original's Message-ID.
Here we only gather those candidates; gateway.bounces verifies them.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser, Parser

from adapters.email.headers import address_tokens, message_ids, single_sender
from adapters.email.parts import Part

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})  # RFC 3464, 6533
_HEADER_TYPES = ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers")
_MESSAGE_TYPES = ("message/rfc822", "message/global")
_DELIVERED_TO = ("delivered-to", "x-original-to", "to")  # IMAP: no envelope, these say it
MAX_RECIPIENTS = 20
MAX_ORIGINALS = 5  # quoted originals looked at per report
MAX_QUOTED_HEADER_CHARS = 64_000


@dataclass(frozen=True)
class Report:
    failed: tuple[str, ...] = ()  # `Action: failed`, 5.x.x
    delivered_to: tuple[str, ...] = ()  # where the report came to: VERP return paths
    message_ids: tuple[str, ...] = ()  # of the original message it quotes


def read_report(walked: list[Part], headers: dict[str, list[str]],
                envelope_recipients: tuple[str, ...]) -> Report:
    """The report's failed recipients and the candidates that could prove it is about our mail."""
    failed = hard_bounced(walked)
    if not failed:
        return Report()
    return Report(failed, _delivered_to(headers, envelope_recipients), _original_ids(walked))


def _delivered_to(headers: dict[str, list[str]], envelope: tuple[str, ...]) -> tuple[str, ...]:
    values = list(envelope) or [v for name in _DELIVERED_TO for v in headers.get(name, ())]
    found = [address for value in values[:MAX_RECIPIENTS]
             for address in address_tokens(value, loose=True) or ()]
    return tuple(dict.fromkeys(found))[:MAX_RECIPIENTS]


def _original_ids(walked: list[Part]) -> tuple[str, ...]:
    found: list[str] = []
    quoted = [item for item in walked if not item.nested
              and item.content_type in (*_HEADER_TYPES, *_MESSAGE_TYPES)]
    for item in quoted[:MAX_ORIGINALS]:
        value = _quoted_message_id(item)
        found.extend(message_ids(value)[:1])
    return tuple(dict.fromkeys(found))


def _quoted_message_id(item: Part) -> str:
    """The Message-ID of a quoted original: an attached message, or its headers as text."""
    payload = item.part.get_payload()
    if item.content_type in _MESSAGE_TYPES:
        inner = payload[0] if isinstance(payload, list) and payload else None
        return str(inner.get("Message-ID", "")) if isinstance(inner, Message) else ""
    data = item.part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload or "")
    quoted = HeaderParser(policy=email.policy.compat32).parsestr(text[:MAX_QUOTED_HEADER_CHARS])
    return str(quoted.get("Message-ID", ""))


def hard_bounced(walked: list[Part]) -> tuple[str, ...]:
    """Recipients with `Action: failed` and a 5.x.x status; an odd report yields nothing."""
    found: list[str] = []
    for item in walked:
        if item.content_type in DSN_TYPES and not item.nested:
            found.extend(_failed(item.part))
    return tuple(dict.fromkeys(found))[:MAX_RECIPIENTS]


def _failed(part: Message) -> list[str]:
    blocks = part.get_payload()
    if isinstance(blocks, str):  # not split into blocks by the parser: do it ourselves
        parser = Parser(policy=email.policy.compat32)
        blocks = [parser.parsestr(text) for text in blocks.replace("\r\n", "\n").split("\n\n")]
    failed = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Message):
            continue
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        address = single_sender(recipient.partition(";")[2].strip())
        if action == "failed" and status.startswith("5") and address:
            failed.append(address)
    return failed
