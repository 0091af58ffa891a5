"""LanguageDetector on py3langid, restricted to the configured title languages, loaded once."""

from __future__ import annotations

from collections.abc import Iterable

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MIN_CHARS = 12  # below this a guess is noise


class LangidDetector:
    def __init__(self, codes: Iterable[str]) -> None:
        codes = set(codes)
        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        known = set(self._identifier.nb_classes)
        # py3langid says "no" for Norwegian Bokmål.
        self._alias = {"no": "nb"} if "nb" in codes else {}
        wanted = {code for code in codes if code in known} | set(self._alias)
        if wanted:
            self._identifier.set_languages(sorted(wanted))

    def detect(self, text: str) -> str | None:
        sample = " ".join(text[:8000].split())[:2000]  # bounded before it is split
        if len(sample) < MIN_CHARS:
            return None
        code, probability = self._identifier.classify(sample)
        if probability < 0.5:
            return None
        return self._alias.get(str(code), str(code))
