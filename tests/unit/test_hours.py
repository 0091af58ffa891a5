from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from gateway.hours import make_window, next_window, parse_days

from .fakes import WINDOWS


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# December 2026: Mon 7, Fri 11, Sat 12, Sun 13, Mon 14.
@pytest.mark.parametrize(("language", "now", "start", "end"), [
    # Monday before 06:00: English gets the morning window, Dutch the afternoon one.
    ("en", utc(7, 5, 30), utc(7, 6), utc(7, 13)),
    ("nl", utc(7, 5, 30), utc(7, 13), utc(7, 21)),
    # During the English window: the current window is returned.
    ("en", utc(7, 10), utc(7, 6), utc(7, 13)),
    ("nl", utc(7, 10), utc(7, 13), utc(7, 21)),
    # At 13:00 English moves on to the "*" window, which covers it too.
    ("en", utc(7, 13), utc(7, 13), utc(7, 21)),
    ("nl", utc(7, 20, 59), utc(7, 13), utc(7, 21)),
    # Monday after 21:00 -> Tuesday.
    ("en", utc(7, 21), utc(8, 6), utc(8, 13)),
    ("nl", utc(7, 22), utc(8, 13), utc(8, 21)),
    # Friday after 21:00 -> Monday.
    ("en", utc(11, 21, 30), utc(14, 6), utc(14, 13)),
    ("nl", utc(11, 21, 30), utc(14, 13), utc(14, 21)),
    # Saturday and Sunday -> Monday.
    ("en", utc(12, 12), utc(14, 6), utc(14, 13)),
    ("fi", utc(13, 23), utc(14, 13), utc(14, 21)),
])
def test_next_window(language: str, now: datetime, start: datetime, end: datetime) -> None:
    assert next_window(WINDOWS, language, now) == (start, end)


def test_no_window_covers_the_language() -> None:
    only_english = (make_window("Mon-Fri", "06:00", "13:00", "UTC", ["en"]),)
    assert next_window(only_english, "nl", utc(7, 10)) is None
    assert next_window((), "en", utc(7, 10)) is None


def test_window_in_local_time_across_the_spring_dst_change() -> None:
    # Europe/Amsterdam: CET (UTC+1) until Sunday 29 March 2026, CEST (UTC+2) after.
    window = make_window("Mon-Fri", "09:00", "17:00", "Europe/Amsterdam", ["nl"])
    friday_before = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)
    assert next_window([window], "nl", friday_before) == (
        datetime(2026, 3, 27, 8, 0, tzinfo=UTC), datetime(2026, 3, 27, 16, 0, tzinfo=UTC))
    friday_evening = datetime(2026, 3, 27, 18, 0, tzinfo=UTC)
    assert next_window([window], "nl", friday_evening) == (
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC), datetime(2026, 3, 30, 15, 0, tzinfo=UTC))


def test_window_in_local_time_across_the_autumn_dst_change() -> None:
    # CEST -> CET on Sunday 25 October 2026.
    window = make_window("Sat,Sun", "10:00", "12:00", "Europe/Amsterdam", ["*"])
    saturday = datetime(2026, 10, 24, 13, 0, tzinfo=UTC)
    assert next_window([window], "da", saturday) == (
        datetime(2026, 10, 25, 9, 0, tzinfo=UTC), datetime(2026, 10, 25, 11, 0, tzinfo=UTC))


def test_local_day_decides_the_weekday() -> None:
    # 23:30 UTC on Sunday is already Monday 00:30 in Amsterdam (winter).
    window = make_window("Mon", "00:00", "02:00", "Europe/Amsterdam", ["*"])
    sunday_late = datetime(2026, 12, 13, 23, 30, tzinfo=UTC)
    assert next_window([window], "en", sunday_late) == (
        datetime(2026, 12, 13, 23, 0, tzinfo=UTC), datetime(2026, 12, 14, 1, 0, tzinfo=UTC))


def test_the_earliest_window_wins() -> None:
    late = make_window("Mon-Fri", "15:00", "16:00", "UTC", ["en"])
    early = make_window("Mon-Fri", "08:00", "09:00", "UTC", ["*"])
    assert next_window([late, early], "en", utc(7, 7)) == (utc(7, 8), utc(7, 9))
    assert next_window([late, early], "en", utc(7, 10)) == (utc(7, 15), utc(7, 16))


@pytest.mark.parametrize(("spec", "days"), [
    ("Mon-Fri", {0, 1, 2, 3, 4}),
    ("Sat,Sun", {5, 6}),
    ("Fri-Mon", {4, 5, 6, 0}),
    ("Mon-Wed,Fri", {0, 1, 2, 4}),
    ("monday - friday", {0, 1, 2, 3, 4}),
    ("SUN", {6}),
])
def test_parse_days(spec: str, days: set[int]) -> None:
    assert parse_days(spec) == frozenset(days)


def test_parse_days_refuses_nonsense() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the core raises a bare ValueError
        parse_days("Funday")


def test_make_window() -> None:
    window = make_window("Sat,Sun", "08:30", "12:00", "Europe/Amsterdam", ["nl", "da"])
    assert window.start == time(8, 30)
    assert window.end == time(12, 0)
    assert window.covers("nl")
    assert not window.covers("en")
    assert make_window("Mon", "01:00", "02:00", "UTC", ["*"]).covers("xx")


def test_window_past_midnight() -> None:
    night = make_window("Mon-Fri", "22:00", "02:00", "UTC", ["*"])
    # Monday 23:00 is inside Monday's night window, which ends Tuesday 02:00.
    assert next_window([night], "en", utc(7, 23)) == (utc(7, 22), utc(8, 2))
