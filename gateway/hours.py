"""Support windows: when a ticket in a given language will be looked at."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    timezone: str
    languages: frozenset[str]  # "*" covers every language

    def covers(self, language: str) -> bool:
        return "*" in self.languages or language in self.languages


def parse_days(spec: str) -> frozenset[int]:
    """`Mon-Fri`, `Sat,Sun`, `Mon-Wed,Fri` -> weekday numbers."""
    days: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start = DAY_NAMES.index(first[:3])
        stop = DAY_NAMES.index(last[:3]) if last else start
        days.update(range(start, stop + 1) if start <= stop else [*range(start, 7), *range(stop + 1)])
    return frozenset(days)


def make_window(days: str, start: str, end: str, timezone: str, languages: Iterable[str]) -> Window:
    return Window(parse_days(days), time.fromisoformat(start), time.fromisoformat(end),
                  timezone, frozenset(languages))


def next_window(
    windows: Iterable[Window], language: str, now: datetime
) -> tuple[datetime, datetime] | None:
    """The current or next window covering `language`, as UTC (start, end); None if none does."""
    best: tuple[datetime, datetime] | None = None
    for window in windows:
        if not window.covers(language):
            continue
        zone = ZoneInfo(window.timezone)
        local_now = now.astimezone(zone)
        for offset in range(-1, 8):  # from yesterday: its window may run past midnight
            day = local_now.date() + timedelta(days=offset)
            if day.weekday() not in window.days:
                continue
            start = datetime.combine(day, window.start, zone).astimezone(UTC)
            end_day = day + timedelta(days=1) if window.end <= window.start else day
            end = datetime.combine(end_day, window.end, zone).astimezone(UTC)
            if end > now:
                if best is None or start < best[0]:
                    best = (start, end)
                break
    return best
