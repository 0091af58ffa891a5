"""Defensive helpers for raw header values: decoding, cleaning, addresses.

Nothing here calls the stdlib's modern header parser on untrusted values:
it is quadratic or recursive on some inputs (gh-136063) and its address
parser is fooled by CVE-2023-27043 on Python 3.11.7. Addresses are found
with a linear scanner instead and must be unambiguous.
"""

from __future__ import annotations

import re
from email.header import decode_header

from adapters.text import clean_line
from gateway.people import fold_address

MAX_HEADER_VALUE = 16_000  # characters of one header value we look at
_MAX_ENCODED_WORDS = 200

_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,40}\?[QqBb]\?[^?\s]{0,1000}\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LOCAL = r"[^\s<>()\[\]\\,;:@\"]{1,64}"
_LABEL = r"[^\s<>()\[\]\\,;:@\"'.!#$%&*+/=?^`{|}~]{1,63}"
_ADDR_TOKEN = re.compile(rf"(?<![^\s<>,;:]){_LOCAL}@{_LABEL}(?:\.{_LABEL})*")
_ADDR_FULL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*")


def bytes_to_text(data: bytes) -> str:
    """UTF-8 if it is, else Windows-1252 (a superset of Latin-1) with replacements."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def unescape_raw(value: str) -> str:
    """Undo the parser's surrogateescape for raw 8-bit header bytes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return bytes_to_text(value.encode("ascii", errors="surrogateescape"))


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words; unknown charsets give replacement chars."""
    value = unescape_raw(value[:MAX_HEADER_VALUE])
    out: list[str] = []
    position = 0
    previous_word_end = -1
    for count, match in enumerate(_ENCODED_WORD.finditer(value)):
        if count >= _MAX_ENCODED_WORDS:
            break
        between = value[position : match.start()]
        if not (previous_word_end == position and not between.strip()):
            out.append(between)  # whitespace between two words is dropped
        out.append(_decode_word(match.group(0)))
        position = previous_word_end = match.end()
    out.append(value[position:])
    return "".join(out)


def _decode_word(word: str) -> str:
    try:
        chunks = decode_header(word)
    except Exception:  # the stdlib raises several kinds on broken words
        return word
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        else:
            parts.append(decode_bytes(chunk, charset))
    return "".join(parts)


_ALIASES = {
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "iso-gb2312": "gb2312",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
}


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the given label if Python knows it, else best effort."""
    label = (charset or "").strip().strip('"').lower()
    if label in ("", "none", "x-unknown", "unknown", "unknown-8bit", "us-ascii", "ascii"):
        return bytes_to_text(data)
    label = _ALIASES.get(label, label)
    if label != "utf-8" and _is_utf8(data):
        # Mislabelled UTF-8 (e.g. "Big5" on UTF-8 bytes) is far more common
        # than legacy text that happens to be valid multi-byte UTF-8.
        return data.decode("utf-8")
    try:
        text = data.decode(label)
    except LookupError:
        return bytes_to_text(data)
    except UnicodeDecodeError:
        if label in ("utf-8", "utf-8-sig"):
            return bytes_to_text(data)
        text = data.decode(label, errors="replace")
    return text




def _strip_quoted_and_comments(value: str) -> tuple[str, bool]:
    """Remove "quoted strings" and (comments); report if they were unbalanced."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            continue
        if ch == "\\" and (quoted or depth):
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == ")":
            return "", False
        elif not depth:
            out.append(ch)
    return "".join(out), not quoted and depth == 0


def address_tokens(value: str, *, loose: bool = False) -> list[str] | None:
    """Addr-specs in a raw address header, A-Z lower-cased (`fold_address`); None when ambiguous.

    With `loose`, ambiguity is tolerated and every address-like token is given.
    """
    value = unescape_raw(value[:MAX_HEADER_VALUE])
    value = _ENCODED_WORD.sub(" ", value).replace("\r\n", " ").replace("\n", " ")
    bare, balanced = _strip_quoted_and_comments(value)
    if loose:
        bare = bare if balanced else value
    elif not balanced:
        return None
    tokens = [fold_address(m.group(0)).rstrip(".") for m in _ADDR_TOKEN.finditer(bare)]
    if not loose and bare.count("@") != len(tokens):
        return None
    return tokens


def single_sender(value: str | None) -> str:
    """The one plausible addr-spec of a From value, or "" when there is none."""
    if not value or len(value) > 2000:
        return ""
    value = _FOLD.sub("", value)
    if any(ch in value for ch in "\x00\r\n"):
        return ""
    tokens = address_tokens(value)
    if not tokens or len(tokens) != 1:
        return ""
    addr = tokens[0]
    if not _ADDR_FULL.fullmatch(addr) or ".." in addr or addr.startswith("."):
        return ""
    return addr


def display_name(value: str | None) -> str:
    """The display name of a From value, decoded and cleaned ("" if none)."""
    if not value:
        return ""
    raw = unescape_raw(value[:2000]).replace("\r\n", " ").replace("\n", " ")
    name = ""
    if "<" in raw:
        name = raw[: raw.rfind("<")]
    else:
        found = re.search(r"\(([^()]{1,200})\)", raw)
        name = found.group(1) if found else ""
    name = decode_words(name.strip())
    name = name.strip().strip('"').replace('\\"', '"').strip()
    return clean_line(name, 200)


def message_ids(value: str | None) -> list[str]:
    """Message ids in a Message-ID/In-Reply-To/References value, without <>."""
    if not value:
        return []
    found = re.findall(r"<([^<>\s\x00-\x1f\x7f]{1,250})>", value[:MAX_HEADER_VALUE])
    return [m for m in found if "@" in m or len(m) > 8]
