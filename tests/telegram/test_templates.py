"""Every Telegram kind exists in the required languages and renders without leaks."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.render import TemplateRenderer, default_locales_dir
from gateway.replies import MEMBER_KINDS, TELEGRAM_KINDS, Reply

REQUIRED = ("en", "nl", "da", "fr", "cs", "fi")
AT = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "member_name": "Anna", "member_id": "1001", "minutes": 10, "left": 3, "example": "x - y",
    "languages": ["English", "Nederlands"], "received": ["a.jpg"], "names": ["b.exe"],
    "too_big": True, "title": "Nederlands - Test <b>", "text": "Hallo", "count": 1,
    "open": [{"ref": "TI-1", "title": "T", "opened_at": AT, "closed_at": None}],
    "awaiting_feedback": [], "closed": [{"ref": "TI-2", "title": "T", "opened_at": AT,
                                         "closed_at": AT}],
    "ref": "TI-1", "status": "open", "opened_at": AT, "closed_at": None,
    "messages": [{"at": AT, "agent": True, "text": "Hi"}], "window_start": AT,
    "window_end": AT, "en_start": AT, "en_end": AT, "all_start": AT, "all_end": AT,
    "step": "name", "position": 2, "agent_name": "Emma", "by_agent": True, "chat_id": 4,
    "name": "Bo", "email": "bo@example.net", "new": True, "agent": "emma@example.org",
    "link": "https://t.me/desk_bot?start=abc", "expires_at": AT,
    "linked": False, "claimed_name": "Bo", "claimed_member_id": "",
    "claimed_email": "bo@example.net", "lines": [{"at": "13:00:00", "text": "Hallo"}],
}


@pytest.mark.parametrize("lang", REQUIRED)
def test_each_required_language_has_every_telegram_member_kind(lang: str) -> None:
    with (default_locales_dir() / f"{lang}.toml").open("rb") as handle:
        kinds = set(tomllib.load(handle))
    assert kinds >= MEMBER_KINDS & TELEGRAM_KINDS


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


@pytest.mark.parametrize("lang", REQUIRED)
@pytest.mark.parametrize("kind", sorted(TELEGRAM_KINDS))
def test_every_telegram_kind_renders(renderer: TemplateRenderer, lang: str, kind: str) -> None:
    out = renderer.render(Reply(kind, lang, DATA))
    for leak in ("{{", "}}", "{%", "%}", "None", "Undefined"):
        assert leak not in out.text, f"{leak!r} in {lang}/{kind}"
    assert out.text.strip()
