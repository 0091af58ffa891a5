"""The title-language rule: `Nederlands - Kan bestelling niet verwerken`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

SEPARATORS = "-–—:"
_SPLIT = re.compile(rf"\s*[{SEPARATORS}]\s*")


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


class LanguageTable:
    """The configured title languages, indexed by folded name."""

    def __init__(self, languages: Iterable[Language]) -> None:
        self.languages = tuple(languages)
        self.by_code = {language.code: language for language in self.languages}
        self._by_name = {fold(name): lang for lang in self.languages for name in lang.names}

    def parse_title(self, title: str) -> TitleLanguage | None:
        """The language a title declares, or None when it does not start with one."""
        parts = _SPLIT.split(title.strip(), maxsplit=1)
        if len(parts) != 2 or not parts[1].strip():
            return None
        language = self._by_name.get(fold(parts[0]))
        if language is None:
            return None
        return TitleLanguage(language.code, parts[0].strip(), parts[1].strip())

    def example(self, code: str) -> str:
        language = self.by_code.get(code) or self.by_code.get("en")
        return language.example if language and language.example else ""

    def names(self) -> list[str]:
        return [language.names[0] for language in self.languages]
