"""What the SMTP session (and IMAP) computes before storing: the dedupe key."""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

# Where a mail's header ends: the first empty line, whatever the line endings (bare CRs too).
HEADER_END = re.compile(rb"\r?\n\r?\n|\r\r")


def dedupe_key(raw: bytes) -> str:
    """Message-ID + From + body hash: the same mail by SMTP and IMAP is one item, while a
    stranger reusing someone's Message-ID does not suppress their mail (RELIABILITY 2)."""
    split = HEADER_END.search(raw)
    head = raw[: split.start()] if split else raw
    body = raw[split.end():] if split else b""
    headers = BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n")
    message_id = str(headers.get("Message-ID", "") or "").strip().strip("<>").lower()
    if not message_id:
        return "raw:" + hashlib.sha256(raw).hexdigest()
    sender = " ".join(str(headers.get("From", "") or "").split()).lower()
    normalized = b"\n".join(line.rstrip() for line in body.splitlines()).strip()
    digest = hashlib.sha256(f"{message_id}\0{sender}\0".encode(errors="replace") + normalized)
    return "mid:" + digest.hexdigest()
