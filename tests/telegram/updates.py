"""Real Bot API Update JSON, as Telegram sends it."""

from __future__ import annotations

import itertools
import time
from typing import Any

_message_ids = itertools.count(1)


def user(user_id: int, language: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}",
            "username": f"user{user_id}", "language_code": language}


def message(user_id: int, text: str = "", *, language: str = "en", reply_to: int | None = None,
            group: bool = False, forwarded_from: int | None = None,
            photo: str | None = None, photo_size: int = 0, document: dict[str, Any] | None = None,
            edited: bool = False, caption: str | None = None) -> dict[str, Any]:
    chat = ({"id": -100, "type": "group", "title": "Team"} if group
            else {"id": user_id, "type": "private", "first_name": f"User{user_id}"})
    body: dict[str, Any] = {"message_id": next(_message_ids), "date": int(time.time()),
                            "chat": chat, "from": user(user_id, language)}
    if text:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0,
                                 "length": len(text.split()[0])}]
    if caption:
        body["caption"] = caption
    if reply_to is not None:
        body["reply_to_message"] = {"message_id": reply_to, "date": int(time.time()),
                                    "chat": chat, "text": "..."}
    if forwarded_from is not None:
        body["forward_origin"] = {"type": "user", "date": int(time.time()),
                                  "sender_user": user(forwarded_from)}
    if photo is not None:
        body["photo"] = [{"file_id": f"{photo}-small", "file_unique_id": "s", "width": 90,
                          "height": 90, "file_size": 10},
                         {"file_id": photo, "file_unique_id": "b", "width": 800, "height": 600,
                          "file_size": photo_size}]
    if document is not None:
        body["document"] = document
    return {"edited_message" if edited else "message": body}


def callback(user_id: int, data: str, message_id: int = 1) -> dict[str, Any]:
    return {"callback_query": {
        "id": f"cb{next(_message_ids)}", "from": user(user_id), "chat_instance": "x", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()),
                    "chat": {"id": user_id, "type": "private"}, "text": "..."}}}
