"""The pure parts: update parsing, text splitting, deep-link tokens, chat keys, language choice."""

from __future__ import annotations

from adapters.telegram.bot_api import file_url
from adapters.telegram.normalize import parse_update
from adapters.telegram.sender import split_text, telegram_text
from gateway.messages import Channel, OutboundMessage
from tests.telegram import updates as u


def test_a_command_is_read_from_the_sender_not_from_a_forward_or_an_edit() -> None:
    update = parse_update({"update_id": 1, **u.message(7, "/ticket@desk_test_bot TI-12")})
    assert (update.user_id, update.private, update.command) == (7, True, ("ticket", "TI-12"))
    forwarded = parse_update({"update_id": 2, **u.message(7, "/close TI-1", forwarded_from=8)})
    assert forwarded.forwarded and forwarded.command is None and forwarded.user_id == 7
    edited = parse_update({"update_id": 3, **u.message(7, "/close TI-1", edited=True)})
    assert edited.kind == "edited_message" and edited.command is None
    group = parse_update({"update_id": 4, **u.message(7, "/tickets", group=True)})
    assert not group.private


def test_files_take_the_largest_photo_and_the_document() -> None:
    update = parse_update({"update_id": 5, **u.message(
        7, photo="big", photo_size=900,
        document={"file_id": "d1", "file_name": "../../etc/passwd", "mime_type": "text/plain",
                  "file_size": 30})})
    assert [f.file_id for f in update.files] == ["big", "d1"]
    assert update.files[1].filename == "../../etc/passwd"  # sanitized by the processor


def test_a_sticker_is_unsupported_and_a_callback_carries_its_data() -> None:
    sticker = parse_update({"update_id": 6, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "x"}, "sticker": {"file_id": "s"}}})
    assert sticker.unsupported == "sticker"
    query = parse_update({"update_id": 7, **u.callback(7, "t:TI-3")})
    assert (query.kind, query.callback_data, query.user_id) == ("callback_query", "t:TI-3", 7)


def test_long_texts_are_split_under_4096_on_line_breaks() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    chunks = split_text(text)
    assert all(len(chunk) <= 4096 for chunk in chunks) and len(chunks) == 5
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")
    assert all(len(c) <= 4096 for c in split_text("y" * 10_000))


def test_mail_shaped_texts_lose_the_marker_and_keep_the_subject() -> None:
    message = OutboundMessage(Channel.TELEGRAM, "7", "[TI-1] Title",
                              "##- Please type your reply above this line -##\n\nHello <b>", "m@x")
    assert telegram_text(message) == "[TI-1] Title\n\nHello <b>"


def test_the_file_url_follows_the_bot_url() -> None:
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"

