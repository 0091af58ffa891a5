"""What a rating is (CONTRACT §10 "Satisfaction"), and the buttons that give one on Telegram."""

from __future__ import annotations

import pytest

from gateway.buttons import Pressed, keyboard, pressed, rating_buttons, ticket_button
from gateway.satisfaction import Rating, parse_rating

RATINGS = [
    ("5", Rating(5, "")),
    ("4 - quick", Rating(4, "quick")),
    ("5/5", Rating(5, "")),
    ("4/5 good, but slow", Rating(4, "good, but slow")),
    ("3.", Rating(3, "")),
    ("  2  \n\nThe fix broke the printer.", Rating(2, "The fix broke the printer.")),
    ("1: nobody answered", Rating(1, "nobody answered")),
    ("5!!! Great", Rating(5, "Great")),
    ("5 – snel en duidelijk", Rating(5, "snel en duidelijk")),
    ("4, merci", Rating(4, "merci")),
    ("3\tok", Rating(3, "ok")),
    ("5⭐", Rating(5, "⭐")),
    ("2)\nslow\nbut friendly", Rating(2, "slow\nbut friendly")),
    ("5\r\nThanks!", Rating(5, "Thanks!")),
]

NOT_RATINGS = [
    "50 orders failed",
    "2026 was a good year",
    "3.5 GB are missing",
    "1,000 orders are stuck",
    "4:30 the server went down",
    "2-3 users cannot log in",
    "1/2 of the shop is down",
    "5/10",
    "10/10",
    "0",
    "6 - great",
    "5% of orders fail",
    "5x faster now",
    "5€ too much",
    "5/50",
    "5/",
    "-5",
    "#5",
    "Rating: 5",
    "thanks, 5 stars",
    "⭐⭐⭐⭐⭐",
    "",
    "   \n  ",
]


@pytest.mark.parametrize(("text", "rating"), RATINGS)
def test_a_digit_standing_alone_on_the_first_line_is_a_rating(text: str, rating: Rating) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", NOT_RATINGS)
def test_numbers_that_are_part_of_the_text_are_not_ratings(text: str) -> None:
    assert parse_rating(text) is None


def test_a_long_text_is_read_once() -> None:
    assert parse_rating("5 " + "x" * 1_000_000) == Rating(5, "x" * 1_000_000)
    assert parse_rating("5" * 1_000_000) is None


def test_rating_buttons_are_one_row_of_five_labelled_by_score() -> None:
    [row] = keyboard([rating_buttons("TI-3")])
    assert row == [(str(n), f"r:TI-3:{n}") for n in range(1, 6)]
    assert all(len(data.encode()) <= 64 for _, data in row)  # Telegram's callback data limit
    assert pressed("r:TI-3:4") == Pressed("r", "TI-3", "4")


def test_ticket_buttons_are_a_row_each_labelled_by_ref() -> None:
    rows = keyboard(["ti-1.thread@example.org", ticket_button("TI-1"), ticket_button("TI-2")])
    assert rows == [[("TI-1", "t:TI-1")], [("TI-2", "t:TI-2")]]
    assert pressed("t:TI-2") == Pressed("t", "TI-2")
    assert pressed("junk") == Pressed("junk", "")
