"""Update JSON (as the Bot API sends it) -> the few facts the bot acts on. No IO, no PTB objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.S)
MAX_TEXT = 20_000


@dataclass(frozen=True)
class FileRef:
    """A photo or document the user sent; `size` is what Telegram says (0 when unknown)."""

    file_id: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class TgUpdate:
    """One update, reduced. `user_id` is `from.id`: the only identity the bot trusts."""

    update_id: int
    kind: str  # message | edited_message | callback_query | other
    user_id: int | None
    chat_id: int | None
    private: bool
    forwarded: bool
    text: str
    language_code: str = ""
    message_id: int | None = None
    reply_to_message_id: int | None = None
    files: tuple[FileRef, ...] = ()
    callback_id: str = ""
    callback_data: str = ""
    unsupported: str = ""  # sticker, poll, ...: something the bot cannot take

    @property
    def command(self) -> tuple[str, str] | None:
        """`/name args` -> ("name", "args"), unless forwarded (it is then someone else's)."""
        if self.forwarded or self.kind != "message":
            return None
        match = COMMAND.match(self.text.strip())
        if not match:
            return None
        return match.group(1).lower(), (match.group(2) or "").strip()


def _files(message: dict[str, Any]) -> tuple[FileRef, ...]:
    found: list[FileRef] = []
    photos = message.get("photo") or []
    if photos:  # several sizes of one picture: keep the largest
        best = max(photos, key=lambda p: (p.get("file_size") or 0, p.get("width", 0)))
        found.append(FileRef(str(best["file_id"]), f"photo-{message.get('message_id', 0)}.jpg",
                             "image/jpeg", int(best.get("file_size") or 0)))
    document = message.get("document")
    if document:
        found.append(FileRef(str(document["file_id"]), str(document.get("file_name") or ""),
                             str(document.get("mime_type") or "application/octet-stream"),
                             int(document.get("file_size") or 0)))
    return tuple(found)


_UNSUPPORTED = ("sticker", "poll", "voice", "video", "video_note", "audio", "animation",
                "location", "contact", "dice", "game", "venue")


def parse_update(data: dict[str, Any]) -> TgUpdate:
    update_id = int(data["update_id"])
    if "callback_query" in data:
        query = data["callback_query"]
        message = query.get("message") or {}
        chat = message.get("chat") or {}
        return TgUpdate(update_id, "callback_query", int(query["from"]["id"]),
                        chat.get("id"), chat.get("type") == "private", False, "",
                        language_code=str(query["from"].get("language_code") or ""),
                        message_id=message.get("message_id"), callback_id=str(query["id"]),
                        callback_data=str(query.get("data") or "")[:64])
    kind = next((k for k in ("message", "edited_message") if k in data), "other")
    message = data.get(kind) or {}
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    reply = message.get("reply_to_message") or {}
    text = str(message.get("text") or message.get("caption") or "")[:MAX_TEXT]
    unsupported = next((k for k in _UNSUPPORTED if k in message), "")
    return TgUpdate(
        update_id=update_id, kind=kind,
        user_id=int(sender["id"]) if "id" in sender else None,
        chat_id=int(chat["id"]) if "id" in chat else None,
        private=chat.get("type") == "private",
        forwarded=bool(message.get("forward_origin") or message.get("forward_from")
                       or message.get("forward_date")),
        text=text, language_code=str(sender.get("language_code") or ""),
        message_id=message.get("message_id"),
        reply_to_message_id=reply.get("message_id"),
        files=_files(message), unsupported=unsupported,
    )
