"""Wrapping mail at 76 characters: the template's words are broken, inserted text never."""

from __future__ import annotations

from adapters.wrapping import plain, verbatim, wrap

PROSE = ("If you still need help with this, reply to this email within 14 days and the ticket "
         "will be")


def _wrapped(text: str) -> list[str]:
    return plain(wrap(text)).split("\n")


def test_a_long_line_is_broken_and_the_rest_goes_on_in_the_next_line() -> None:
    lines = _wrapped(f"{PROSE}\nreopened. After that, please open a new ticket.\n\nKind regards,")
    assert lines == [
        "If you still need help with this, reply to this email within 14 days and the",
        "ticket will be reopened. After that, please open a new ticket.",
        "",
        "Kind regards,",
    ]


def test_lines_that_stand_alone_are_never_joined() -> None:
    title = verbatim("Nederlands - Kan bestelling niet verwerken, ook niet na het legen van de cache")
    text = (f"Title: {title}\nStatus: Open\n"
            f"- [TI-3] {verbatim('English - Old issue')} (opened 4 March 2024, closed 6 March 2024)\n"
            "- none\n"
            "The title must start with the language, then a dash, then a short summary of it.\n"
            "    English - Cannot process order")
    assert _wrapped(text) == [
        "Title: Nederlands - Kan bestelling niet verwerken, ook niet na het legen van de cache",
        "Status: Open",
        "- [TI-3] English - Old issue (opened 4 March 2024, closed 6 March 2024)",
        "- none",
        "The title must start with the language, then a dash, then a short summary of",
        "it.",
        "    English - Cannot process order",
    ]


def test_a_list_item_hangs_under_its_text() -> None:
    text = (f"- [TI-7] {verbatim('Nederlands - Kan bestelling niet verwerken')} "
            "(opened 4 March 2024, closed 6 March 2024)")
    assert _wrapped(text) == [
        "- [TI-7] Nederlands - Kan bestelling niet verwerken (opened 4 March 2024,",
        "  closed 6 March 2024)",
    ]


def test_an_inserted_value_is_moved_whole_never_split() -> None:
    window = verbatim("Monday 4 March 13:00–21:00 GMT")
    lines = _wrapped(f"Our technical support team will look at it in the next window: {window}.")
    assert lines == ["Our technical support team will look at it in the next window:",
                     "Monday 4 March 13:00–21:00 GMT."]


def test_what_people_wrote_is_kept_exactly() -> None:
    answer = ("Goedemorgen,\n\n   Foutcode:   E-4021\n" + "Een lange regel. " * 10 + "\nAnna")
    chat = "Een regel van het lid die veel langer is dan zesenzeventig tekens, zonder einde"
    text = (f"Our team has replied:\n\n{verbatim(answer)}\n\n"
            f"[13:00:00 GMT] {verbatim(chat)}\n[13:00:05 GMT] {verbatim('en nog een')}")
    wrapped = plain(wrap(text))
    assert f"\n\n{answer}\n\n" in wrapped
    assert wrapped.endswith(f"\n[13:00:00 GMT] {chat}\n[13:00:05 GMT] en nog een")


def test_inserted_text_cannot_forge_the_marks() -> None:
    forged = "\ufdd1" + "word " * 30 + "\ufdd0"
    marked = verbatim(forged)
    assert plain(marked) == "word " * 30
    # kept whole by its label (too long for a line anyway), not broken at its spaces
    assert _wrapped(f"Text: {marked} end") == [f"Text: {'word ' * 30}", "end"]


def test_a_number_or_a_one_letter_word_stays_with_the_next_word() -> None:
    czech = "které se ho týkají. Nový lístek založíte tak, že pošlete nový e-mail hned"
    assert _wrapped(f"{czech} s názvem, například:") == [czech, "s názvem, například:"]
    start = "Heb je hierover nog hulp nodig? Beantwoord deze e-mail dan ruim binnen de"
    days = f"{verbatim('14')} {verbatim('dagen')}"
    assert len(f"{start} 14") == 76  # "14" would fit, "14 dagen" does not
    assert _wrapped(f"{start} {days}; dan wordt het ticket heropend.") == [
        start, "14 dagen; dan wordt het ticket heropend."]
