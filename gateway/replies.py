"""What to say, not how: a Reply names a template and carries its data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """A message to render in `language` from the template `kind`."""

    kind: str
    language: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
