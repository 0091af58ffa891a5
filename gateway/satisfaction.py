"""Is a member's reply a rating of the help? `5`, `4 - quick`, `5/5`, `3.` (CONTRACT §10).

A plain scan, no regex: the first line must start with one digit 1-5 standing alone, so
`50 orders failed`, `2026 …`, `3.5 GB`, `4:30` and `1/2` are not ratings.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

SCORES = ("1", "2", "3", "4", "5")
OUT_OF_FIVE = "/5"  # `4/5`: the score out of five
# What may follow the digit: an end, a space, or punctuation that is not part of a number.
ENDS_SCORE = ".,:;!?)-–—*"
# A lone comment separator left over after the score (`4 - quick` -> `quick`).
LEADING = " \t.,:;!?)-–—*"


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str


def parse_rating(text: str) -> Rating | None:
    """The rating a reply gives on its first non-empty line, with the rest as its comment."""
    head, _, tail = text.strip().partition("\n")
    line = head.strip()
    if not line or line[0] not in SCORES:
        return None
    after = line[1:]
    if after.startswith(OUT_OF_FIVE):
        after = after[len(OUT_OF_FIVE):]
    if not _stands_alone(after):
        return None
    comment = f"{after.lstrip(LEADING).strip()}\n{tail}".strip()
    return Rating(int(line[0]), comment)


def _stands_alone(after: str) -> bool:
    """Whether the text after the digit leaves it a number of its own."""
    if not after or after[0].isspace():
        return True
    if after[0] in ENDS_SCORE:
        return not after[1:2].isdigit()  # not `3.5`, `1,000`, `4:30`, `2-3`
    return unicodedata.category(after[0]) == "So"  # a symbol or emoji: `5⭐`
