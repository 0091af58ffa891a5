"""Update JSON (as the Bot API sends it) -> the few facts the bot acts on. No IO, no PTB objects."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.messages import Attachment, BotInput, Channel, InboundMessage, UpdateKind

COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.S)
MAX_TEXT = 20_000
MAX_DEPTH = 32  # Telegram's own updates nest about 8 deep
_OUTSIDE_STRING = re.compile(rb'["\[\]{}]')
_INSIDE_STRING = re.compile(rb'["\\]')


class MalformedUpdate(ValueError):
    """An update whose JSON or shape is not what the Bot API sends; never retried."""


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
        best = max(photos, key=lambda p: (p.get("file_size") or 0, p.get("width") or 0))
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
    problem = check_update(data)
    if problem:
        raise MalformedUpdate(problem)
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
    message = (data.get(kind) or {}) if kind != "other" else {}  # an unknown kind is not read
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


def to_inbound(update: TgUpdate, *, files: tuple[Attachment, ...] = (),
               refused: tuple[str, ...] = (), too_big: bool = False, replied_to: str = "",
               now: datetime) -> InboundMessage:
    """The core's message for one update. `replied_to` is the Message-ID of the bot's message
    about a ticket this one answers, which threads it to that ticket."""
    command, args = update.command or ("", "")
    text = update.text.strip()
    return InboundMessage(
        channel=Channel.TELEGRAM, external_id=f"tg:{update.update_id}",
        sender=str(update.user_id) if update.user_id is not None else "", subject="", text=text,
        full_text=text, received_at=now, references=(replied_to,) if replied_to else (),
        attachments=files, rejected_attachments=refused,
        bot=BotInput(chat_id=update.chat_id or 0, kind=UpdateKind(update.kind),
                     private=update.private, command=command, args=args,
                     button=update.callback_data, button_id=update.callback_id,
                     locale=update.language_code, file_too_big=too_big))


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON nests deeper than `limit`: one forward scan that skips strings, before json.loads."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the common case, at C speed
    depth, position, size = 0, 0, len(raw)
    while position < size:
        found = _OUTSIDE_STRING.search(raw, position)
        if found is None:
            return False
        char, position = raw[found.start()], found.end()
        if char == 0x22:  # '"': jump over the string, escapes included
            position = _string_end(raw, position)
        elif char in (0x5B, 0x7B):  # '[' or '{'
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _string_end(raw: bytes, position: int) -> int:
    while True:
        found = _INSIDE_STRING.search(raw, position)
        if found is None:
            return len(raw)
        if raw[found.start()] == 0x22:
            return found.end()
        position = found.end() + 1  # a backslash escapes the next byte


def decode_update(raw: bytes) -> dict[str, Any]:
    """Webhook body -> update dict, or MalformedUpdate (too deep, not JSON, not an update's shape)."""
    if too_deep(raw):
        raise MalformedUpdate(f"nested deeper than {MAX_DEPTH}")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise MalformedUpdate(f"not JSON: {type(error).__name__}") from None
    problem = check_update(data)
    if problem:
        raise MalformedUpdate(problem)
    assert isinstance(data, dict)
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(data: dict[str, Any], key: str, kind: type | str) -> bool:
    """Absent, null, or of `kind` ("int" means an int that is not a bool)."""
    value = data.get(key)
    if value is None:
        return True
    return _is_int(value) if kind == "int" else isinstance(value, kind)  # type: ignore[arg-type]


def _user_problem(user: object, where: str) -> str:
    if not isinstance(user, dict) or not _is_int(user.get("id")):
        return f"{where}.from is not a user with an integer id"
    return "" if _optional(user, "language_code", str) else f"{where}.from.language_code"


def _chat_problem(message: dict[str, Any], where: str) -> str:
    chat = message.get("chat")
    if chat is None:
        return ""
    if not isinstance(chat, dict) or not _is_int(chat.get("id")) or not _optional(chat, "type", str):
        return f"{where}.chat is not a chat with an integer id"
    return ""


def _files_problem(message: dict[str, Any], where: str) -> str:
    photos = message.get("photo")
    if photos is not None and not (isinstance(photos, list) and all(
            isinstance(p, dict) and isinstance(p.get("file_id"), str)
            and _optional(p, "file_size", "int") and _optional(p, "width", "int") for p in photos)):
        return f"{where}.photo"
    document = message.get("document")
    if document is not None and not (
            isinstance(document, dict) and isinstance(document.get("file_id"), str)
            and all(_optional(document, key, str) for key in ("file_name", "mime_type"))
            and _optional(document, "file_size", "int")):
        return f"{where}.document"
    return ""


def _message_problem(message: object, where: str) -> str:
    if not isinstance(message, dict):
        return f"{where} is not an object"
    if "from" in message and message["from"] is not None:
        problem = _user_problem(message["from"], where)
        if problem:
            return problem
    if not all(_optional(message, key, str) for key in ("text", "caption")):
        return f"{where}.text is not a string"
    if not _optional(message, "message_id", "int"):
        return f"{where}.message_id is not an integer"
    reply = message.get("reply_to_message")
    if reply is not None and not (isinstance(reply, dict) and _optional(reply, "message_id", "int")):
        return f"{where}.reply_to_message"
    return _chat_problem(message, where) or _files_problem(message, where)


def _callback_problem(query: object) -> str:
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return "callback_query is not an object with a string id"
    problem = _user_problem(query.get("from"), "callback_query")
    if problem or not _optional(query, "data", str):
        return problem or "callback_query.data is not a string"
    message = query.get("message")
    if message is None:
        return ""
    if not isinstance(message, dict) or not _optional(message, "message_id", "int"):
        return "callback_query.message"
    return _chat_problem(message, "callback_query.message")


def check_update(data: object) -> str:
    """Why `data` is not an update of the shape the bot reads; "" when it is (unknown kinds pass)."""
    if not isinstance(data, dict) or not _is_int(data.get("update_id")):
        return "update_id is not an integer"
    if "callback_query" in data:
        return _callback_problem(data["callback_query"])
    for kind in ("message", "edited_message"):
        if kind in data:
            return _message_problem(data[kind], kind)
    return ""
