"""The real time, for whatever needs the core's `Clock` port; tests pass a fixed one."""

from __future__ import annotations

from datetime import UTC, datetime


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
