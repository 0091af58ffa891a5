"""Plain-text mail wrapped at 76 characters, with inserted text left as it was written.

The renderer marks each value it inserts into a template (`verbatim`); `wrap` then breaks
only the template's own words. An inserted value is never split across lines (a member's
title stays whole), and a line whose break belongs to an inserted value (a member's message,
an agent's answer, a chat line) is kept exactly as it is. `plain` removes the marks.

Only a line longer than the width is broken. A sentence the template wrapped by hand goes on
in the next line, so what a broken line leaves over is carried into that line: a paragraph is
reflowed from where it overflowed, and lines that stand alone (labels such as `Status:`, list
items, indented examples) are never joined.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 76
# Unicode noncharacters, meant for a program's own use: taken out of any value inserted.
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_MARKS = str.maketrans("", "", _OPEN + _CLOSE)
_LIST_ITEM = ("- ", "* ")
_SENTENCE_END = (".", "!", "?", ":", ")")
_CLOSING_QUOTES = "\"'»”“’"


def verbatim(value: str) -> str:
    """`value` marked as inserted: wrapping leaves it whole and as written."""
    return f"{_OPEN}{value.translate(_MARKS)}{_CLOSE}"


def plain(text: str) -> str:
    """`text` without the marks."""
    return text.translate(_MARKS)


@dataclass(frozen=True)
class _Line:
    text: str  # with its marks
    fixed: bool  # a line break of an inserted value begins or ends it: never changed


def wrap(text: str, width: int = WIDTH) -> str:
    """Every line of `text` (marked) at most `width` characters, where the template's own
    words allow it."""
    lines = _lines(text)
    out: list[str] = []
    carry: list[str] = []  # what a broken line left over, for the line that goes on with it
    for line, following in zip(lines, [*lines[1:], None], strict=True):
        if line.fixed or (not carry and _width(line.text) <= width):
            out.append(line.text)
            continue
        indent = _indent(line.text)
        hang = indent + "  " if _is_list_item(line.text) else indent
        rows = _fill([*carry, *_words(line.text)], width, indent, hang)
        carry = []
        if len(rows) > 1 and following is not None and _goes_on(line.text, following):
            carry = _words(rows.pop())
        out.extend(rows)
    return "\n".join(out)


def _lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    inside = False
    for raw in text.split("\n"):
        started_inside = inside
        opened, closed = raw.rfind(_OPEN), raw.rfind(_CLOSE)
        if opened != closed:  # -1 for both when the line has no mark
            inside = opened > closed
        lines.append(_Line(raw, fixed=started_inside or inside))
    return lines


def _words(line: str) -> list[str]:
    """The line's words: split at the template's spaces, never inside an inserted value; a
    number or a one-letter word is kept with the word after it ("14 dagen", "10 MB", the
    Czech "s názvem", which must not end a line)."""
    words = [""]
    first, *rest = line.split(_OPEN)
    pieces = [("", first)] + [piece.partition(_CLOSE)[::2] for piece in rest]
    for n, (value, own) in enumerate(pieces):
        if n:
            words[-1] += verbatim(value)
        head, *tail = own.split(" ")
        words[-1] += head
        words.extend(tail)
    kept: list[str] = []
    for word in filter(None, words):
        if kept and _holds_on(plain(kept[-1])):
            kept[-1] += " " + word
        else:
            kept.append(word)
    return kept


def _holds_on(word: str) -> bool:
    return word.isdigit() or (len(word) == 1 and word.isalpha())


def _fill(words: list[str], width: int, indent: str, hang: str) -> list[str]:
    """Greedy rows; a word too long for a row of its own stays where it is (it is inserted
    text: a long title or address is not moved away from its label)."""
    rows = [indent + words[0]]
    used = _width(rows[0])
    for word in words[1:]:
        size = _width(word)
        if used + 1 + size <= width or len(hang) + size > width:
            rows[-1] += " " + word
            used += 1 + size
        else:
            rows.append(hang + word)
            used = len(hang) + size
    return rows


def _goes_on(line: str, following: _Line) -> bool:
    """Whether `following` continues the sentence `line` breaks off: it starts with a word of
    the template in lower case, or `line` stops neither at a full stop, a colon or a bracket
    nor with an inserted value (after which a line may be anything: another chat line)."""
    nxt = following.text
    if following.fixed or not plain(nxt).strip() or _indent(line) != _indent(nxt):
        return False
    if _is_list_item(line) or _is_list_item(nxt) or _is_label(line) or _is_label(nxt):
        return False
    if nxt.lstrip(" ")[0].islower():
        return True
    end = line.rstrip()
    if end.endswith(_CLOSE):
        return False
    return not plain(end).rstrip(_CLOSING_QUOTES).endswith(_SENTENCE_END)


def _is_list_item(line: str) -> bool:
    return line.lstrip(" ").startswith(_LIST_ITEM)


def _is_label(line: str) -> bool:
    """`Status: Open`, `Statut : Ouvert`: a name and a value, a line of its own (a line that
    starts in lower case goes on with a sentence, as `it: this address ...` does)."""
    words = plain(line).split(maxsplit=2)
    if not words or words[0][0].islower():
        return False
    return words[0].endswith(":") or words[1:2] == [":"]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" "))]


def _width(text: str) -> int:
    return len(plain(text).rstrip())
