"""The reply kinds and the English templates are one vocabulary: each names the other."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from gateway.replies import AGENT_KINDS, MEMBER_KINDS, Kind

ENGLISH = Path(__file__).resolve().parents[2] / "config" / "locales" / "en.toml"
RESERVED_TABLES = {"strings", "statuses"}  # shared texts, not kinds


def _english() -> dict[str, Any]:
    with ENGLISH.open("rb") as handle:
        return tomllib.load(handle)


def test_every_kind_sent_has_an_english_template() -> None:
    english = _english()
    missing = sorted(kind for kind in MEMBER_KINDS | AGENT_KINDS if kind not in english)
    assert missing == []
    for kind in MEMBER_KINDS | AGENT_KINDS:
        assert {"subject", "body"} <= set(english[kind]), kind


def test_every_english_template_is_a_kind() -> None:
    unknown = sorted(set(_english()) - RESERVED_TABLES - set(Kind))
    assert unknown == []


def test_each_kind_goes_to_members_or_to_agents() -> None:
    assert not MEMBER_KINDS & AGENT_KINDS
    # What is neither is not a message: nothing to render.
    assert set(Kind) - MEMBER_KINDS - AGENT_KINDS == {Kind.TG_CALLBACK_ANSWER}
    assert Kind.TG_CALLBACK_ANSWER not in _english()
    assert Kind.AGENT_ANSWER in MEMBER_KINDS  # an agent's words, sent to the member
