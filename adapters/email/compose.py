"""Turn an `OutboundMessage` into the bytes of an RFC 5322 message.

Every header is validated and folded here rather than by CPython's folder:
the folder of Python 3.11 drops the space between encoded words in long
non-ASCII subjects (PITFALLS, Mail) and predates the fix for CVE-2024-6923.
Values reach the output only after a check for CR, LF and NUL; addresses only
as a single, plain addr-spec.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime

from gateway.messages import OutboundMessage

__all__ = ["checked_address", "compose", "needs_smtputf8"]

_FORBIDDEN = re.compile(r"[\r\n\x00]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNSAFE = re.compile(r"[\x80-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")  # bidi, zero-width
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_UTEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]"  # RFC 6531: atext or any non-ASCII
_UTF8_LOCAL_PART = re.compile(rf"{_UTEXT}+(?:\.{_UTEXT}+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_MSG_ID = re.compile(r"[!-~]+")  # printable ASCII, no space; <> and friends refused below
_MSG_ID_SPECIALS = frozenset('<>"\\(),;[]')
_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}")
_PHRASE_ATOM = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")

_LINE_LIMIT = 76  # RFC 2047 section 2: lines carrying encoded words
_EW_CHUNK_BYTES = 39  # 52 base64 characters: "Subject: " + 64-char word fits in 76


def checked_address(value: str, what: str = "address", *, utf8: bool = False) -> str:
    """Return `value` if it is one plain addr-spec (`local@domain`), else raise ValueError.

    Quoted local parts, comments, display names, several addresses and CR/LF/NUL
    are refused; so are non-ASCII local parts unless `utf8` (the mail then needs
    SMTPUTF8, RFC 6531). A non-ASCII domain is IDNA-encoded.
    """
    if not isinstance(value, str) or _FORBIDDEN.search(value):
        raise ValueError(f"{what} contains a line break or NUL")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(local.encode("utf-8", "replace")) > 64:
        raise ValueError(f"{what} is not a single address")
    if not (_LOCAL_PART.fullmatch(local) or (utf8 and _utf8_local_part(local))):
        raise ValueError(f"{what} has an unsupported local part")
    domain = domain.rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"{what} has an invalid domain") from exc
    labels = domain.split(".")
    if len(domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{what} has an invalid domain")
    return f"{local}@{domain}"


def _utf8_local_part(local: str) -> bool:
    """A dot-atom of ASCII atext and printable non-ASCII characters (no spaces or controls)."""
    return local.isprintable() and not _UNSAFE.search(local) and bool(
        _UTF8_LOCAL_PART.fullmatch(local))


def needs_smtputf8(address: str) -> bool:
    return not address.isascii()


def compose(
    msg: OutboundMessage,
    *,
    from_address: str,
    from_name: str,
    load_blob: Callable[[str], bytes],
    now: datetime,
) -> bytes:
    """Build the message's bytes (CRLF line ends, 7-bit clean but for a UTF-8 recipient)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    sender = checked_address(from_address, "from_address")
    recipient = checked_address(msg.recipient, "recipient", utf8=True)
    utf8 = needs_smtputf8(recipient)  # RFC 6532: the To header carries the UTF-8 address
    out = EmailMessage(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    _put(out, "From", _fold_mailbox(from_name, sender))
    _put(out, "To", [recipient], utf8=utf8)
    _put(out, "Subject", _fold_text(sanitize_subject(msg.subject), len("Subject: ")))
    _put(out, "Date", [format_datetime(now.astimezone(UTC))])
    _put(out, "Message-ID", [_msg_id(msg.message_id, "message_id")])
    answered = _thread_ids((msg.in_reply_to,) if msg.in_reply_to else (), "in_reply_to")
    if answered:
        _put(out, "In-Reply-To", answered)
    thread = _thread_ids(msg.references, "references")
    if thread:
        _put(out, "References", _fold_words(thread, len("References: ")))
    if msg.reply_to:
        _put(out, "Reply-To", [checked_address(msg.reply_to, "reply_to")])
    if msg.auto:
        _put(out, "Auto-Submitted", ["auto-replied"])
        _put(out, "X-Auto-Response-Suppress", ["All"])
    _put(out, "X-Loop", [sender])
    if msg.ticket_ref:
        _put(out, "X-Gateway-Ticket", [_token(msg.ticket_ref, "ticket_ref")])
    text = msg.text.replace("\r\n", "\n").replace("\r", "\n")
    cte = "7bit" if text.isascii() and _short_lines(text) else "quoted-printable"
    out.set_content(text, subtype="plain", charset="utf-8", cte=cte)
    for ref in msg.attachments:
        maintype, subtype = _mime_type(ref.content_type)
        out.add_attachment(
            load_blob(ref.digest),
            maintype=maintype,
            subtype=subtype,
            filename=_filename(ref.filename),
        )
    if out.is_multipart():
        # A boundary derived from the Message-ID keeps the bytes of a resend identical.
        seed = hashlib.sha256(msg.message_id.encode("utf-8", "surrogatepass")).hexdigest()
        out.set_boundary(f"=_gw_{seed[:40]}")
    return out.as_bytes()


def sanitize_subject(subject: str) -> str:
    """Line breaks and tabs become spaces, other control characters go."""
    flat = re.sub(r"[\r\n\t]+", " ", subject)
    return _CONTROLS.sub("", flat).strip()


class _Folded:
    """A header already validated and folded; the policy writes it verbatim.

    `email.policy.EmailPolicy` treats any value with a matching `name` as a
    header object and asks it to `fold` itself.
    """

    def __init__(self, name: str, lines: list[str]) -> None:
        self.name = name
        self._lines = lines

    def fold(self, *, policy: Policy) -> str:
        sep = policy.linesep
        return f"{self.name}: " + f"{sep} ".join(self._lines) + sep

    def __str__(self) -> str:
        return " ".join(self._lines)


def _put(out: EmailMessage, name: str, lines: list[str], *, utf8: bool = False) -> None:
    for line in lines:
        if _FORBIDDEN.search(line) or not (line.isascii() or utf8):
            raise ValueError(f"{name} would carry a line break, NUL or raw 8-bit text")
    out[name] = _Folded(name, lines)


def _fold_text(text: str, first_offset: int) -> list[str]:
    """Fold unstructured text: plain words when that is safe, else UTF-8 encoded words."""
    if not text:
        return [""]
    if text.isascii() and "=?" not in text and "  " not in text:
        lines = _fold_words(text.split(" "), first_offset)
        if all(len(line) <= 998 for line in lines):
            return lines
    return _fold_words(_encoded_words(text), first_offset)


def _fold_words(words: Iterable[str], first_offset: int) -> list[str]:
    lines: list[str] = []
    current = ""
    offset = first_offset
    for word in words:
        if current and offset + len(current) + 1 + len(word) > _LINE_LIMIT:
            lines.append(current)
            current, offset = word, 1
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return lines


def _encoded_words(text: str) -> list[str]:
    """Split `text` into base64 encoded words of whole characters.

    Spaces travel inside the encoded words, so the whitespace a decoder drops
    between adjacent encoded words never removes one of ours. A word ends
    after a space when one is near, so a lenient decoder that keeps that
    whitespace does not break a word in two.
    """
    words: list[str] = []
    chunk: list[bytes] = []
    size = 0
    for char in text:
        encoded = char.encode("utf-8", "surrogatepass")
        if chunk and size + len(encoded) > _EW_CHUNK_BYTES:
            cut = _last_space(chunk)
            words.append(_ew(b"".join(chunk[:cut])))
            chunk = chunk[cut:]
            size = sum(map(len, chunk))
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        words.append(_ew(b"".join(chunk)))
    return words


def _last_space(chunk: list[bytes]) -> int:
    """Index just after the last space in `chunk` (not at its start), else its length."""
    for index in range(len(chunk) - 1, 0, -1):
        if chunk[index - 1] == b" ":
            return index
    return len(chunk)


def _ew(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def _fold_mailbox(name: str, address: str) -> list[str]:
    if _FORBIDDEN.search(name):
        raise ValueError("from_name contains a line break or NUL")
    name = _CONTROLS.sub("", name).strip()
    if not name:
        return [address]
    if name.isascii() and _PHRASE_ATOM.fullmatch(name):
        phrase = [name]
    elif name.isascii() and len(name) < 60:
        phrase = ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    else:
        phrase = _phrase_words(" ".join(name.split()))
    return _fold_words([*phrase, f"<{address}>"], len("From: "))


def _phrase_words(name: str) -> list[str]:
    """ASCII atoms stay plain, runs of other words become encoded words.

    CPython's address parser keeps the whitespace between two adjacent encoded
    words of a display name (RFC 2047 says drop it); an atom between two runs
    reads the same everywhere.
    """
    words: list[str] = []
    run: list[str] = []
    for token in name.split(" "):
        if _PHRASE_ATOM.fullmatch(token):
            if run:
                words.extend(_encoded_words(" ".join(run)))
                run = []
            words.append(token)
        else:
            run.append(token)
    if run:
        words.extend(_encoded_words(" ".join(run)))
    return words


def _thread_ids(values: Sequence[str], what: str) -> list[str]:
    """Other people's Message-IDs we thread to: a line break or NUL is an injection attempt
    (raise); an id RFC 5322 does not allow (a quote, a parenthesis) is only left out, so one
    odd id from a member's client cannot stop every mail about the ticket."""
    ids = []
    for value in values:
        if _FORBIDDEN.search(value):
            raise ValueError(f"{what} contains a line break or NUL")
        with contextlib.suppress(ValueError):
            ids.append(_msg_id(value, what))
    return ids


def _msg_id(value: str, what: str) -> str:
    if _FORBIDDEN.search(value):
        raise ValueError(f"{what} contains a line break or NUL")
    bare = value.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    if (
        not bare
        or len(bare) > 250
        or not _MSG_ID.fullmatch(bare)
        or any(c in _MSG_ID_SPECIALS for c in bare)
    ):
        raise ValueError(f"{what} is not a valid message id")
    return f"<{bare}>"


def _token(value: str, what: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(f"{what} is not a plain token")
    return value


def _mime_type(content_type: str) -> tuple[str, str]:
    if _FORBIDDEN.search(content_type):
        raise ValueError("attachment content type contains a line break or NUL")
    maintype, _, subtype = content_type.strip().lower().partition("/")
    if _MIME_TYPE.fullmatch(maintype) and _MIME_TYPE.fullmatch(subtype):
        return maintype, subtype
    return "application", "octet-stream"


def _filename(name: str) -> str:
    if _FORBIDDEN.search(name):
        raise ValueError("attachment filename contains a line break or NUL")
    cleaned = _CONTROLS.sub("", name).replace("/", "_").replace("\\", "_").strip()
    return cleaned or "attachment"


def _short_lines(text: str) -> bool:
    return all(len(line) <= 998 for line in text.split("\n"))
