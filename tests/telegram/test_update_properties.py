"""Properties of adapters.telegram.normalize: hostile JSON is MalformedUpdate, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.telegram.normalize import (
    MAX_TEXT,
    MalformedUpdate,
    TgUpdate,
    check_update,
    decode_update,
    parse_update,
)

KEYS = ["update_id", "message", "edited_message", "callback_query", "from", "chat", "text", "caption",
        "id", "type", "data", "language_code", "message_id", "reply_to_message", "forward_origin",
        "forward_date", "photo", "document", "file_id", "file_name", "mime_type", "file_size",
        "sticker", "channel_post"]
SETTINGS = settings(max_examples=200, deadline=None)

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=10))
# "width" and "other" found two crashes: a photo size with `"width": null` beside an int
# (TypeError), and an unknown kind literally named "other" read as the message
# (`{"update_id": 0, "other": {"from": [null]}}`, AttributeError).
keys = st.sampled_from([*KEYS, "width", "other"]) | st.text(max_size=5)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=20)


@st.composite
def update_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """An object with an integer update_id and a kind whose insides are anything: deep in the checks."""
    kind = draw(st.sampled_from(["message", "edited_message", "callback_query", "channel_post"]))
    inside = draw(st.dictionaries(keys, json_values, max_size=8))
    if draw(st.booleans()):
        inside["from"] = draw(st.dictionaries(keys, json_values, max_size=3) | st.fixed_dictionaries(
            {"id": st.integers()}, optional={"language_code": scalars}))
    if draw(st.booleans()):
        inside["chat"] = draw(json_values | st.fixed_dictionaries(
            {"id": st.integers()}, optional={"type": scalars}))
    return {"update_id": draw(st.integers()), kind: inside}


anything = json_values | update_shaped()


def parses_or_is_malformed(data: Any) -> TgUpdate | None:
    try:
        return parse_update(data)
    except MalformedUpdate:
        return None


@SETTINGS
@given(data=anything)
def test_parse_update_parses_exactly_what_check_update_passes(data: Any) -> None:
    reason = check_update(data)
    assert isinstance(reason, str)
    parsed = parses_or_is_malformed(data)
    assert (parsed is not None) == (reason == "")
    if parsed is not None:
        assert parsed.update_id == data["update_id"]
        assert len(parsed.text) <= MAX_TEXT


@SETTINGS
@given(data=anything)
def test_decode_update_returns_the_update_or_raises_malformed(data: Any) -> None:
    raw = json.dumps(data).encode()
    try:
        decoded = decode_update(raw)
    except MalformedUpdate:
        assert check_update(data) != ""
    else:
        assert decoded == data
        assert check_update(data) == ""


@SETTINGS
@given(raw=st.binary(max_size=200) | st.text(alphabet='{}[]":,0123456789 \\nulltrue', max_size=200)
       .map(str.encode))
def test_decode_update_on_any_bytes_raises_only_malformed(raw: bytes) -> None:
    try:
        decoded = decode_update(raw)
    except MalformedUpdate:
        return
    assert check_update(decoded) == ""


@SETTINGS
@given(depth=st.integers(min_value=33, max_value=5_000), opener=st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_malformed(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = ('{"update_id": 1, "message": ' + opener * depth + "1" + closer * depth + "}").encode()
    with pytest.raises(MalformedUpdate, match="deeper"):
        decode_update(raw)


@SETTINGS
@given(update_id=st.integers(min_value=0, max_value=2**53), user_id=st.integers(min_value=1, max_value=2**52),
       chat_id=st.integers(min_value=-(2**52), max_value=2**52), text=st.text(max_size=300),
       kind=st.sampled_from(["message", "edited_message"]), message_id=st.integers(1, 2**31),
       language=st.sampled_from(["", "en", "nl", "fr"]), private=st.booleans())
def test_a_well_formed_message_keeps_its_user_and_text(
        update_id: int, user_id: int, chat_id: int, text: str, kind: str, message_id: int,
        language: str, private: bool) -> None:
    update = {"update_id": update_id, kind: {
        "message_id": message_id, "text": text,
        "from": {"id": user_id, "is_bot": False, "first_name": "Anna", "language_code": language},
        "chat": {"id": chat_id, "type": "private" if private else "group"},
    }}
    parsed = parse_update(decode_update(json.dumps(update).encode()))
    assert (parsed.update_id, parsed.kind, parsed.user_id, parsed.chat_id) == (
        update_id, kind, user_id, chat_id)
    assert (parsed.text, parsed.message_id, parsed.language_code) == (text, message_id, language)
    assert parsed.private is private
    assert not parsed.forwarded


@pytest.mark.parametrize("update", [
    {"update_id": 1, "message": {"photo": [{"file_id": "a", "width": None},
                                           {"file_id": "b", "width": 3}]}},
    {"update_id": 0, "other": {"from": [None]}},
    {"update_id": 0, "other": "x"},
])
def test_the_shapes_hypothesis_found_parse_or_are_malformed(update: dict[str, Any]) -> None:
    if check_update(update):
        with pytest.raises(MalformedUpdate):
            parse_update(update)
    else:
        assert isinstance(parse_update(update), TgUpdate)
