from __future__ import annotations

import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.languages import SEPARATORS, fold

from .fakes import LANGUAGES, make_languages

TABLE = make_languages()
ALL_NAMES = [(language.code, name) for language in LANGUAGES for name in language.names]
FOLDED_NAMES = {fold(name) for _, name in ALL_NAMES}


@pytest.mark.parametrize(("title", "code", "summary"), [
    ("Nederlands - Kan bestelling niet verwerken", "nl", "Kan bestelling niet verwerken"),
    ("français: Impossible de valider", "fr", "Impossible de valider"),
    ("Francais – Impossible de valider", "fr", "Impossible de valider"),
    ("FRENCH — Impossible de valider", "fr", "Impossible de valider"),
    ("Čeština - Nelze zpracovat objednávku", "cs", "Nelze zpracovat objednávku"),
    ("Cestina - Nelze zpracovat objednávku", "cs", "Nelze zpracovat objednávku"),
    ("CESKY: tiskárna", "cs", "tiskárna"),
    ("suomi: Tilausta ei voi käsitellä", "fi", "Tilausta ei voi käsitellä"),
    ("Dutch-Kan niet inloggen", "nl", "Kan niet inloggen"),
    ("  English :  Cannot log in - again  ", "en", "Cannot log in - again"),
])
def test_accepted_titles(title: str, code: str, summary: str) -> None:
    parsed = TABLE.parse_title(title)
    assert parsed is not None
    assert (parsed.code, parsed.summary) == (code, summary)


def test_the_name_is_kept_as_written() -> None:
    parsed = TABLE.parse_title("Francais – x")
    assert parsed is not None
    assert parsed.name == "Francais"


@pytest.mark.parametrize("title", [
    "Nederlands Kan bestelling niet verwerken",  # no separator
    "Klingon - nuqneH",  # unknown language
    "Nederlands",  # language only
    "Nederlands -",  # empty summary
    "Nederlands -    ",
    "Nederlandse - x",  # not a name, only a prefix of one
    "Neder - x",
    "Kan bestelling niet verwerken - Nederlands",
    "",
    " - x",
])
def test_refused_titles(title: str) -> None:
    assert TABLE.parse_title(title) is None


def test_fold() -> None:
    assert fold("Čeština") == fold("CESTINA") == fold(" cEšTiNa ") == "cestina"
    assert fold("Français") == "francais"


def test_example_and_names() -> None:
    assert TABLE.example("fr").startswith("Français - ")
    assert TABLE.example("xx") == TABLE.example("en")
    assert TABLE.names() == ["English", "Nederlands", "Dansk", "Français", "Čeština", "Suomi"]


summaries = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")


@st.composite
def case_variants(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(ch.upper() if flip else ch.lower() for ch, flip in zip(name, flips,
                                                                          strict=True))


@given(data=st.data(), pair=st.sampled_from(ALL_NAMES), separator=st.sampled_from(SEPARATORS),
       left=st.sampled_from(["", " ", "  "]), right=st.sampled_from(["", " ", "\t"]),
       summary=summaries, plain=st.booleans())
def test_any_name_any_case_any_separator(data: st.DataObject, pair: tuple[str, str],
                                         separator: str, left: str, right: str,
                                         summary: str, plain: bool) -> None:
    code, name = pair
    written = fold(name) if plain else name  # with or without diacritics
    written = data.draw(case_variants(written))
    parsed = TABLE.parse_title(f"{written}{left}{separator}{right}{summary}")
    assert parsed is not None
    assert parsed.code == code
    assert parsed.summary == summary.strip()


first_words = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=15)


@given(word=first_words, rest=st.text(max_size=40))
def test_a_title_whose_first_word_is_no_language_is_refused(word: str, rest: str) -> None:
    assume(fold(word) not in FOLDED_NAMES)
    assert TABLE.parse_title(f"{word} {rest}") is None
    assert TABLE.parse_title(f"{word} - {rest}") is None


def test_the_language_name_must_end_within_the_first_hundred_characters() -> None:
    """The separator is looked for only near the start, so a long title costs one short scan."""
    assert TABLE.parse_title("Dutch" + " " * 80 + "- x") is not None
    assert TABLE.parse_title("Dutch" + " " * 200 + "- x") is None
    assert TABLE.parse_title("Dutch - " + "x " * 20_000) is not None


def test_a_long_run_of_spaces_between_words_is_refused_quickly() -> None:
    title = "Nederlands" + " " * 20_000 + "x - y"
    started = time.process_time()
    assert TABLE.parse_title(title) is None
    assert time.process_time() - started < 0.05
