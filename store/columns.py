"""Column helpers shared by the table modules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime


def utc(nullable: bool = False, index: bool = False) -> Column[datetime]:
    """A timezone-aware timestamp column; values are always UTC."""
    return Column(DateTime(timezone=True), nullable=nullable, index=index)
