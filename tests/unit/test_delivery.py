from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.delivery import FIRST_RETRY, LONGEST_WAIT, GiveUp, Retry, after_failure, backoff
from gateway.errors import DeliveryError

from .fakes import NOW

DAY = timedelta(days=1)


def temporary() -> DeliveryError:
    return DeliveryError("421 try later", temporary=True)


def test_backoff_doubles_from_thirty_seconds() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]


def test_backoff_is_capped_so_an_outage_drains_within_ten_minutes() -> None:
    assert backoff(1000).total_seconds() <= 600
    assert backoff(5) == backoff(8) == LONGEST_WAIT
    assert backoff(1000) == LONGEST_WAIT
    assert all(backoff(n) <= backoff(n + 1) for n in range(0, 40))


def test_backoff_of_zero_attempts_is_the_first_retry() -> None:
    assert backoff(0) == FIRST_RETRY


def test_temporary_failure_is_retried_after_the_backoff() -> None:
    decision = after_failure(temporary(), attempts=3, created_at=NOW, now=NOW, max_age=DAY)
    assert decision == Retry(NOW + timedelta(minutes=2))


def test_permanent_failure_gives_up_at_once() -> None:
    error = DeliveryError("550 no such user", temporary=False)
    decision = after_failure(error, attempts=1, created_at=NOW, now=NOW, max_age=DAY)
    assert isinstance(decision, GiveUp)
    assert decision.reason == "550 no such user"


@pytest.mark.parametrize(("age", "gives_up"), [
    (DAY - timedelta(seconds=1), False), (DAY, True), (DAY * 3, True)])
def test_too_old_gives_up(age: timedelta, gives_up: bool) -> None:
    decision = after_failure(temporary(), attempts=9, created_at=NOW - age, now=NOW,
                             max_age=DAY)
    assert isinstance(decision, GiveUp) is gives_up
    if gives_up:
        assert "9 attempts" in decision.reason  # type: ignore[union-attr]
