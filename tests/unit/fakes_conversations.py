"""In-memory Blobs, Forms, Chats and Links (gateway.ports) for the unit tier.

Like the store, they hand out copies: a form or chat changed and not saved stays as it was.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
from collections.abc import Sequence
from datetime import datetime

from gateway.conversations import Chat, ChatLine, ChatStatus, Form, LinkCode, LinkToken


class FakeBlobs:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.data[digest] = data
        return digest

    def get(self, digest: str) -> bytes:
        return self.data[digest]


class FakeForms:
    def __init__(self) -> None:
        self.forms: dict[int, Form] = {}

    def get(self, user_id: int) -> Form | None:
        form = self.forms.get(user_id)
        return copy.deepcopy(form) if form else None

    def save(self, user_id: int, form: Form, now: datetime) -> None:
        self.forms[user_id] = copy.deepcopy(form)

    def clear(self, user_id: int) -> None:
        self.forms.pop(user_id, None)


@dataclasses.dataclass
class _Line:
    chat_id: int
    line: ChatLine
    mailed_at: datetime | None = None


class FakeChats:
    def __init__(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.lines: list[_Line] = []
        self.held: set[int] = set()  # chats another transaction has locked
        self._ids = itertools.count(1)

    def current(self, user_id: int) -> Chat | None:
        mine = [c for c in self.chats.values()
                if c.telegram_user_id == user_id and c.status is not ChatStatus.ENDED]
        return dataclasses.replace(max(mine, key=lambda c: c.id)) if mine else None

    def get(self, chat_id: int) -> Chat | None:
        chat = self.chats.get(chat_id)
        return dataclasses.replace(chat) if chat else None

    def get_if_free(self, chat_id: int) -> Chat | None:
        return None if chat_id in self.held else self.get(chat_id)

    def open(self, chat: Chat) -> Chat:
        stored = dataclasses.replace(chat, id=next(self._ids))
        self.chats[stored.id] = stored
        return dataclasses.replace(stored)

    def save(self, chat: Chat) -> None:
        assert chat.id in self.chats, f"save of unknown chat {chat.id}"
        self.chats[chat.id] = dataclasses.replace(chat)

    def position(self, chat: Chat) -> int:
        ahead = [c for c in self.chats.values()
                 if c.status is ChatStatus.WAITING and c.id <= chat.id]
        return max(len(ahead), 1)

    def add_line(self, chat: Chat, text: str, at: datetime) -> None:
        assert chat.id in self.chats, f"line for unknown chat {chat.id}"
        self.lines.append(_Line(chat.id, ChatLine(len(self.lines) + 1, text, at)))

    def unmailed(self, chat: Chat) -> Sequence[ChatLine]:
        return [s.line for s in self.lines if s.chat_id == chat.id and s.mailed_at is None]

    def mark_mailed(self, lines: Sequence[ChatLine], at: datetime) -> None:
        ids = {line.id for line in lines}
        for stored in self.lines:
            if stored.line.id in ids:
                stored.mailed_at = at

    def overdue(self, mailed_before: datetime, limit: int) -> Sequence[Chat]:
        waiting = {s.chat_id for s in self.lines if s.mailed_at is None}
        due = [c for c in sorted(self.chats.values(), key=lambda c: c.id)
               if c.status is not ChatStatus.ENDED and c.id in waiting
               and (c.mailed_at is None or c.mailed_at <= mailed_before)]
        return [dataclasses.replace(c) for c in due[:limit]]

    def waiting(self) -> Sequence[Chat]:
        return [dataclasses.replace(c) for c in sorted(self.chats.values(), key=lambda c: c.id)
                if c.status is ChatStatus.WAITING]

    def idle(self, active_before: datetime, limit: int) -> Sequence[Chat]:
        idle = [c for c in sorted(self.chats.values(), key=lambda c: c.id)
                if c.status is not ChatStatus.ENDED and (c.active_at or c.created_at) <= active_before]
        return [dataclasses.replace(c) for c in idle[:limit]]


class FakeLinks:
    def __init__(self) -> None:
        self.codes: list[tuple[LinkCode, datetime]] = []  # with the time each was added
        self.tokens: dict[str, LinkToken] = {}

    def codes_pending(self, user_id: int) -> Sequence[LinkCode]:
        return [dataclasses.replace(code) for code, _ in reversed(self.codes)
                if code.telegram_user_id == user_id and code.used_at is None]

    def add_code(self, code: LinkCode, at: datetime) -> None:
        self.codes.append((dataclasses.replace(code, id=len(self.codes) + 1), at))

    def save_code(self, code: LinkCode) -> None:
        assert 1 <= code.id <= len(self.codes), f"save of unknown link code {code.id}"
        self.codes[code.id - 1] = (dataclasses.replace(code), self.codes[code.id - 1][1])

    def codes_mailed(self, member_id: str, since: datetime) -> int:
        return sum(1 for code, at in self.codes if code.member_id == member_id and at > since)

    def add_token(self, token: LinkToken) -> None:
        assert token.nonce not in self.tokens, f"token {token.nonce} stored twice"
        self.tokens[token.nonce] = dataclasses.replace(token)

    def token(self, nonce: str) -> LinkToken | None:
        token = self.tokens.get(nonce)
        return dataclasses.replace(token) if token else None

    def save_token(self, token: LinkToken) -> None:
        assert token.nonce in self.tokens, f"save of unknown token {token.nonce}"
        self.tokens[token.nonce] = dataclasses.replace(token)
