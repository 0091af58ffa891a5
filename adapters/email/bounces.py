"""Who a delivery status notification says could not be reached for good (RFC 3464)."""

from __future__ import annotations

import email.policy
from email.message import Message
from email.parser import Parser

from adapters.email.headers import single_sender
from adapters.email.parts import Part

_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
MAX_RECIPIENTS = 20


def hard_bounced(walked: list[Part]) -> tuple[str, ...]:
    """Recipients with `Action: failed` and a 5.x.x status; an odd report yields nothing."""
    found: list[str] = []
    for item in walked:
        if item.content_type in _DSN_TYPES and not item.nested:
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
