"""Text from outside made safe to show on one line; shared by every channel."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u061c\u180e]"
)
_WHITESPACE = re.compile(r"\s+")


def clean_line(value: str, limit: int) -> str:
    """One display line: no controls, bidi or zero-width chars; NFC; capped."""
    chars = []
    for ch in value:
        cat = unicodedata.category(ch)
        if cat == "Cc" or cat == "Cs":
            chars.append(" ")
        else:
            chars.append(ch)
    text = _INVISIBLE.sub("", "".join(chars))
    text = _WHITESPACE.sub(" ", text).strip()
    return unicodedata.normalize("NFC", text)[:limit].strip()
