"""Inline buttons under a bot message, and what a pressed one asks.

A Telegram outbox row carries each row of buttons as one reference: `button:` and the
buttons' callback data, space-separated. A button's label is the last field of its data:
`t:TI-3` (shows ticket TI-3) reads `TI-3`, `r:TI-3:5` (rates it 5) reads `5`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.satisfaction import SCORES

BUTTON = "button:"
TICKET = "t"
RATING = "r"


@dataclass(frozen=True)
class Pressed:
    """A pressed button's data: what it asks (`t`, `r`), about which ticket, with what value."""

    kind: str
    ref: str
    value: str = ""


def ticket_button(ref: str) -> str:
    """A row of one button that shows the ticket."""
    return f"{BUTTON}{TICKET}:{ref}"


def rating_buttons(ref: str) -> str:
    """A row of five buttons, 1 (poor) to 5 (excellent), that rate the ticket's help."""
    return BUTTON + " ".join(f"{RATING}:{ref}:{score}" for score in SCORES)


def keyboard(references: Iterable[str]) -> list[list[tuple[str, str]]]:
    """The rows of (label, callback data) a message's references carry."""
    return [[(data.rpartition(":")[2], data) for data in reference[len(BUTTON):].split()]
            for reference in references if reference.startswith(BUTTON)]


def pressed(data: str) -> Pressed:
    kind, _, rest = data.partition(":")
    ref, _, value = rest.partition(":")
    return Pressed(kind, ref, value)
