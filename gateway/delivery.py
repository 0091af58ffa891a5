"""Delivery decisions: retry a temporary failure with capped backoff until a deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.errors import DeliveryError

FIRST_RETRY = timedelta(seconds=30)
# Short enough that mail held by a relay outage of any length drains within ten minutes of
# its end (RELIABILITY 49); a dead relay costs one connection attempt per row every 8 min.
LONGEST_WAIT = timedelta(minutes=8)


@dataclass(frozen=True)
class Retry:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    reason: str


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, then every 8 min."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), LONGEST_WAIT)


def after_failure(error: DeliveryError, *, attempts: int, created_at: datetime, now: datetime,
                  max_age: timedelta) -> Retry | GiveUp:
    """`attempts` counts this one. Permanent errors and too-old messages are given up."""
    if not error.temporary:
        return GiveUp(f"permanent: {error}")
    if now - created_at >= max_age:
        return GiveUp(f"gave up after {attempts} attempts: {error}")
    wait = backoff(attempts)
    if error.retry_after is not None:
        wait = max(wait, timedelta(seconds=error.retry_after))
    return Retry(now + wait)
