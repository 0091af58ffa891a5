"""The title-language rule: `Nederlands - Kan bestelling niet verwerken`."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

SEPARATORS = "-–—:"
# The language name must end within this many characters of the title; the
# separator is looked for only there, so a long title costs one bounded scan.
MAX_NAME_CHARS = 100


@dataclass(frozen=True)
class Language:
    code: str
    names: tuple[str, ...]
    example: str = ""


@dataclass(frozen=True)
class TitleLanguage:
    code: str
    name: str
    summary: str


def fold(text: str) -> str:
    """Lower-case and drop diacritics, so `Čeština`, `cestina` and `CESTINA` compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def split_title(title: str) -> tuple[str, str] | None:
    """(name, summary) around the first separator, both stripped; None without one.

    A plain scan, not a regex: `\\s*[-:]\\s*` tried at every start of a long
    run of spaces is quadratic.
    """
    text = title.lstrip()
    head = text[: MAX_NAME_CHARS + 1]
    found = [i for i in (head.find(sep) for sep in SEPARATORS) if i >= 0]
    if not found:
        return None
    cut = min(found)
    return text[:cut].strip(), text[cut + 1 :].strip()


class LanguageTable:
    """The configured title languages, indexed by folded name."""

    def __init__(self, languages: Iterable[Language]) -> None:
        self.languages = tuple(languages)
        self.by_code = {language.code: language for language in self.languages}
        self._by_name = {fold(name): lang for lang in self.languages for name in lang.names}

    def parse_title(self, title: str) -> TitleLanguage | None:
        """The language a title declares, or None when it does not start with one."""
        parts = split_title(title)
        if parts is None:
            return None
        name, summary = parts
        language = self._by_name.get(fold(name))
        if language is None or not summary:
            return None
        return TitleLanguage(language.code, name, summary)

    def example(self, code: str) -> str:
        language = self.by_code.get(code) or self.by_code.get("en")
        return language.example if language and language.example else ""

    def names(self) -> list[str]:
        return [language.names[0] for language in self.languages]
