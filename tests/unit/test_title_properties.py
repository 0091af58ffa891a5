"""Properties of the title-language rule, with the reply prefixes mail clients add stripped first.

parse_title itself does not strip `Re:`/`Fwd:`; gateway.parsing.strip_reply_prefixes does, so the
titles that carry a prefix are read through both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.languages import SEPARATORS, TitleLanguage, fold
from gateway.parsing import strip_reply_prefixes

from .fakes import LANGUAGES, make_languages

TABLE = make_languages()
ALL_NAMES = [(language.code, name) for language in LANGUAGES for name in language.names]
FOLDED_NAMES = {fold(name) for _, name in ALL_NAMES}
REPLY_PREFIXES = ["Re: ", "RE: ", "Fwd: ", "AW: ", ""]
CASINGS: list[Callable[[str], str]] = [str.upper, str.lower, str.title, str]
SETTINGS = settings(max_examples=200, deadline=None)

spacing = st.text(alphabet=" \t", max_size=3)
summaries = st.text(max_size=40).filter(lambda s: s.strip() != "")


def without_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def read_title(title: str) -> TitleLanguage | None:
    return TABLE.parse_title(strip_reply_prefixes(title))


@SETTINGS
@given(pair=st.sampled_from(ALL_NAMES), separator=st.sampled_from(SEPARATORS), left=spacing,
       right=spacing, prefix=st.sampled_from(REPLY_PREFIXES), casing=st.sampled_from(CASINGS),
       plain=st.booleans(), summary=summaries)
def test_every_name_separator_spacing_prefix_and_case_declares_the_language(
        pair: tuple[str, str], separator: str, left: str, right: str, prefix: str,
        casing: Callable[[str], str], plain: bool, summary: str) -> None:
    code, name = pair
    written = without_diacritics(name) if plain else name
    title = f"{prefix}{casing(written)}{left}{separator}{right}{summary}"
    parsed = read_title(title)
    assert parsed is not None
    assert parsed.code == code
    assert parsed.summary == summary.strip()
    if not prefix:
        assert TABLE.parse_title(title) == parsed


no_separator = st.text(max_size=30).filter(lambda s: not any(sep in s for sep in SEPARATORS))


@SETTINGS
@given(head=no_separator, separator=st.sampled_from(SEPARATORS), summary=summaries,
       prefix=st.sampled_from(REPLY_PREFIXES))
def test_a_title_without_a_known_language_name_is_none(
        head: str, separator: str, summary: str, prefix: str) -> None:
    title = f"{prefix}{head}{separator}{summary}"
    # `re:` typed as the head is itself a reply prefix: the name is what precedes the first
    # separator once prefixes are gone.
    stripped = strip_reply_prefixes(title)
    cut = min(i for i in (stripped.find(sep) for sep in SEPARATORS) if i >= 0) if any(
        sep in stripped for sep in SEPARATORS) else len(stripped)
    assume(fold(stripped[:cut]) not in FOLDED_NAMES)
    assert read_title(title) is None
    assert TABLE.parse_title(f"{head}{separator}{summary}") is None


@SETTINGS
@given(text=no_separator, prefix=st.sampled_from(REPLY_PREFIXES))
def test_a_title_without_a_separator_is_none(text: str, prefix: str) -> None:
    assert TABLE.parse_title(text) is None
    assert read_title(f"{prefix}{text}") is None


@SETTINGS
@given(pair=st.sampled_from(ALL_NAMES), separator=st.sampled_from(SEPARATORS), left=spacing,
       right=spacing)
def test_a_known_name_with_an_empty_summary_is_none(
        pair: tuple[str, str], separator: str, left: str, right: str) -> None:
    _, name = pair
    assert TABLE.parse_title(f"{name}{left}{separator}{right}") is None
