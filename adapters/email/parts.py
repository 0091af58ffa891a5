"""MIME parts: an iterative walk, the readable body and the attachments.

Parameters (content type, charset, filename) are read through the modern
policy when the raw header is short, and through a compat32 view of the same
raw values when the modern parser fails (it can raise or recurse on hostile
input).
"""

from __future__ import annotations

import email.policy
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import TypeVar

from inscriptis import get_text

from adapters import filetypes
from adapters.email.headers import bytes_to_text, decode_bytes, decode_words
from gateway.messages import Attachment

T = TypeVar("T")
log = logging.getLogger(__name__)
_PARAM_HEADERS = ("content-type", "content-disposition", "content-transfer-encoding")
_MAX_PARAM_HEADER = 4000
_MAX_HTML_CHARS = 2_000_000
_TAGS = re.compile(r"<[^<>]{0,2000}+>")  # stops at the next "<": linear


@dataclass(frozen=True)
class Part:
    """One MIME part as the walk saw it."""

    part: Message
    content_type: str
    depth: int
    nested: bool  # inside an attached message/rfc822
    report_type: str = ""

    @property
    def is_leaf(self) -> bool:
        return not self.part.is_multipart()


def _compat_view(part: Message) -> Message:
    view = Message(policy=email.policy.compat32)
    for name, value in part.raw_items():
        if str(name).lower() in _PARAM_HEADERS:
            view[name] = str(value)[:_MAX_PARAM_HEADER]
    return view


def _read(part: Message, access: Callable[[Message], T], default: T) -> T:
    short = all(len(str(v)) <= _MAX_PARAM_HEADER for _, v in part.raw_items())
    if short:
        try:
            return access(part)
        except Exception:
            pass
    try:
        return access(_compat_view(part))
    except Exception:
        return default


def content_type(part: Message) -> str:
    return _read(part, lambda p: p.get_content_type(), "text/plain").lower()


def walk(msg: Message, max_parts: int, max_depth: int) -> list[Part] | None:
    """All parts in document order, or None when a limit is exceeded."""
    found: list[Part] = []
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    while stack:
        part, depth, nested = stack.pop()
        if depth > max_depth or len(found) >= max_parts:
            return None
        ctype = content_type(part)
        if ctype.startswith("multipart/") and not part.is_multipart():
            ctype = "text/plain"  # a multipart without boundaries: read it as text
        report = ""
        if ctype == "multipart/report":
            report = _read(part, lambda p: str(p.get_param("report-type") or ""), "").lower()
        found.append(Part(part, ctype, depth, nested, report))
        children = part.get_payload() if part.is_multipart() else None
        if not isinstance(children, list) or not _descends(ctype):
            continue
        inner = nested or ctype in ("message/rfc822", "message/global")
        for child in reversed(children):
            if isinstance(child, Message):
                stack.append((child, depth + 1, inner))
    return found


def _descends(ctype: str) -> bool:
    return ctype.startswith("multipart/") or ctype in ("message/rfc822", "message/global")


def _payload(part: Message) -> bytes:
    if part.is_multipart():
        try:
            inner = part.get_payload(0)
        except Exception:
            return b""
        if not isinstance(inner, Message):
            return b""
        try:
            return inner.as_bytes(policy=email.policy.compat32)
        except Exception:
            return b""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _filename(part: Message) -> str:
    name: object = _read(part, lambda p: p.get_filename(), None)
    if not name:
        name = _read(part, lambda p: p.get_param("name"), None)
    if isinstance(name, tuple):  # an RFC 2231 triple that was not collapsed
        name = bytes_to_text(str(name[2]).encode("latin-1", "replace"))
    return decode_words(str(name)) if name else ""


def _disposition(part: Message) -> str:
    return str(_read(part, lambda p: p.get_content_disposition(), None) or "").lower()


def _is_attachment(item: Part) -> bool:
    if item.content_type.startswith("multipart/"):
        return False
    named = bool(_filename(item.part)) or _disposition(item.part) == "attachment"
    if not item.is_leaf:  # an attached message/rfc822 counts only when named
        return named and item.content_type in ("message/rfc822", "message/global")
    if named:
        return True
    main = item.content_type.partition("/")[0]
    return main not in ("text", "message")


def _text_of(item: Part) -> str:
    data = _payload(item.part)
    charset = _read(item.part, lambda p: p.get_content_charset(), None)
    text = decode_bytes(data, charset)
    if item.content_type == "text/html":
        text = html_to_text(text)
    return text


def html_to_text(html: str) -> str:
    """Readable text from HTML (scripts and styles dropped); never raises."""
    html = html[:_MAX_HTML_CHARS]
    if not html.strip():
        return ""
    try:
        return str(get_text(html))
    except Exception:  # lxml gives up on some inputs: fall back to tag stripping
        return _TAGS.sub(" ", html)


def body_text(walked: list[Part], max_chars: int) -> str:
    """The readable body: text/plain parts, else HTML turned into text."""
    for nested in (False, True):
        for kind in ("text/plain", "text/html"):
            chosen = [
                item
                for item in walked
                if item.nested == nested
                and item.content_type == kind
                and item.is_leaf
                and not _is_attachment(item)
            ]
            texts = [_text_of(item) for item in chosen]
            joined = "\n\n".join(t for t in texts if t.strip())
            if joined:
                return normalize_text(joined, max_chars)
    return ""


def normalize_text(text: str, max_chars: int) -> str:
    """\\n line ends, no control chars, no trailing spaces or blank edges, NFC."""
    text = text[: max_chars * 2].replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines).strip("\n")
    return unicodedata.normalize("NFC", text)[:max_chars].rstrip()




def attachments(
    walked: list[Part], allowed: tuple[str, ...], max_bytes: int
) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    """Kept attachments (typed by their content) and the sanitized names of the refused ones."""
    kept: list[Attachment] = []
    refused: list[str] = []
    for index, item in enumerate((i for i in walked if _is_attachment(i)), start=1):
        original = _filename(item.part)
        data = _payload(item.part)
        verdict = (filetypes.decide(original, item.content_type, data, allowed)
                   if len(data) <= max_bytes else filetypes.Refused("too big"))
        if isinstance(verdict, filetypes.Accepted):
            name = filetypes.sanitize_filename(original, index, verdict.content_type)
            kept.append(Attachment(filetypes.stored_name(name, verdict), verdict.content_type, data))
        else:
            refused.append(filetypes.sanitize_filename(original, index, item.content_type))
            log.info("attachment refused", extra={"attachment": refused[-1], "reason": verdict.reason,
                                                  "declared": item.content_type, "bytes": len(data)})
    return tuple(kept), tuple(refused)
