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
    """`attempts` counts this one. Permanent errors (in their own words) and too-old messages
    are given up. (A server's own `retry_after` pauses the whole channel instead: the
    outgoing runner.)"""
    if not error.temporary:
        return GiveUp(str(error))
    if now - created_at >= max_age:
        return GiveUp(f"gave up after {attempts} attempts: {error}")
    return Retry(now + backoff(attempts))
