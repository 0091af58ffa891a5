"""The bot's memory between messages (gateway.conversations) over the Telegram tables.

Each class works inside the unit of work's session: nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from gateway.conversations import Chat, ChatLine, ChatStatus, Flow, Form, LinkCode, LinkToken, Step
from store.tables import MemberRow
from store.tables_telegram import (
    TelegramChatLineRow,
    TelegramChatRow,
    TelegramConversationRow,
    TelegramLinkCodeRow,
    TelegramLinkTokenRow,
)
from store.times import aware


class SqlForms:
    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, user_id: int) -> Form | None:
        row = self._s.get(TelegramConversationRow, user_id)
        return Form(Flow(row.flow), Step(row.step), json.loads(row.data)) if row else None

    def save(self, user_id: int, form: Form, now: datetime) -> None:
        row = self._s.get(TelegramConversationRow, user_id) or TelegramConversationRow(
            user_id=user_id, flow="", step="", data="{}", updated_at=now)
        row.flow, row.step = form.flow.value, form.step.value
        row.data, row.updated_at = json.dumps(form.data, ensure_ascii=False), now
        self._s.add(row)

    def clear(self, user_id: int) -> None:
        row = self._s.get(TelegramConversationRow, user_id)
        if row is not None:
            self._s.delete(row)


def _chat(row: TelegramChatRow) -> Chat:
    assert row.id is not None
    return Chat(row.id, row.telegram_user_id, row.name, row.member_id, row.email, row.language,
                row.question, ChatStatus(row.status), row.agent_email, aware(row.created_at),
                aware(row.mailed_at), aware(row.ended_at), aware(row.active_at), row.told_position)


class SqlChats:
    def __init__(self, session: Session) -> None:
        self._s = session

    def current(self, user_id: int) -> Chat | None:
        row = self._s.exec(select(TelegramChatRow).where(
            col(TelegramChatRow.telegram_user_id) == user_id,
            col(TelegramChatRow.status) != ChatStatus.ENDED.value)
            .order_by(col(TelegramChatRow.id).desc())).first()
        return _chat(row) if row else None

    def get(self, chat_id: int) -> Chat | None:
        return self._locked(chat_id, skip_locked=False)

    def get_if_free(self, chat_id: int) -> Chat | None:
        return self._locked(chat_id, skip_locked=True)

    def _locked(self, chat_id: int, *, skip_locked: bool) -> Chat | None:
        # populate_existing: what another worker committed before we got the lock, not a stale copy.
        row = self._s.exec(select(TelegramChatRow).where(col(TelegramChatRow.id) == chat_id)
                           .with_for_update(skip_locked=skip_locked)
                           .execution_options(populate_existing=True)).first()
        return _chat(row) if row else None

    def open(self, chat: Chat) -> Chat:
        row = TelegramChatRow(telegram_user_id=chat.telegram_user_id, name=chat.name,
                              email=chat.email, question=chat.question, created_at=chat.created_at)
        self._copy(chat, row)
        self._s.add(row)
        self._s.flush()
        return _chat(row)

    def save(self, chat: Chat) -> None:
        row = self._s.get(TelegramChatRow, chat.id)
        assert row is not None, f"save of unknown chat {chat.id}"
        self._copy(chat, row)
        self._s.add(row)

    @staticmethod
    def _copy(chat: Chat, row: TelegramChatRow) -> None:
        row.name, row.member_id, row.email = chat.name, chat.member_id, chat.email
        row.language, row.question = chat.language, chat.question
        row.status, row.agent_email = chat.status.value, chat.agent_email
        row.mailed_at, row.ended_at = chat.mailed_at, chat.ended_at
        row.active_at, row.told_position = chat.active_at, chat.told_position

    def position(self, chat: Chat) -> int:
        ahead = self._s.exec(select(func.count()).select_from(TelegramChatRow).where(
            col(TelegramChatRow.status) == ChatStatus.WAITING.value,
            col(TelegramChatRow.id) <= chat.id)).one()
        return max(int(ahead), 1)

    def add_line(self, chat: Chat, text: str, at: datetime) -> None:
        self._s.add(TelegramChatLineRow(chat_id=chat.id, text=text, created_at=at))
        self._s.flush()

    def unmailed(self, chat: Chat) -> Sequence[ChatLine]:
        rows = self._s.exec(select(TelegramChatLineRow).where(
            col(TelegramChatLineRow.chat_id) == chat.id,
            col(TelegramChatLineRow.mailed_at).is_(None))
            .order_by(col(TelegramChatLineRow.id))).all()
        return [ChatLine(row.id, row.text, aware(row.created_at)) for row in rows
                if row.id is not None]

    def mark_mailed(self, lines: Sequence[ChatLine], at: datetime) -> None:
        if not lines:
            return
        rows = self._s.exec(select(TelegramChatLineRow).where(
            col(TelegramChatLineRow.id).in_([line.id for line in lines]))).all()
        for row in rows:
            row.mailed_at = at
            self._s.add(row)

    def overdue(self, mailed_before: datetime, limit: int) -> Sequence[Chat]:
        rows = self._s.exec(select(TelegramChatRow).where(
            col(TelegramChatRow.status) != ChatStatus.ENDED.value,
            col(TelegramChatRow.id).in_(select(TelegramChatLineRow.chat_id).where(
                col(TelegramChatLineRow.mailed_at).is_(None))),
            or_(col(TelegramChatRow.mailed_at).is_(None),
                col(TelegramChatRow.mailed_at) <= mailed_before))
            .order_by(col(TelegramChatRow.id)).limit(limit)).all()
        return [_chat(row) for row in rows]

    def waiting(self) -> Sequence[Chat]:
        # populate_existing: the places told as committed now, not as this session first read them.
        rows = self._s.exec(select(TelegramChatRow).where(
            col(TelegramChatRow.status) == ChatStatus.WAITING.value)
            .order_by(col(TelegramChatRow.id)).execution_options(populate_existing=True)).all()
        return [_chat(row) for row in rows]

    def idle(self, active_before: datetime, limit: int) -> Sequence[Chat]:
        last = func.coalesce(col(TelegramChatRow.active_at), col(TelegramChatRow.created_at))
        rows = self._s.exec(select(TelegramChatRow).where(
            col(TelegramChatRow.status) != ChatStatus.ENDED.value, last <= active_before)
            .order_by(col(TelegramChatRow.id)).limit(limit)).all()
        return [_chat(row) for row in rows]


def _code(row: TelegramLinkCodeRow) -> LinkCode:
    assert row.id is not None
    return LinkCode(row.id, row.telegram_user_id, row.member_id, row.code_hash, row.tries,
                    aware(row.expires_at), aware(row.used_at))


class SqlLinks:
    def __init__(self, session: Session) -> None:
        self._s = session

    def codes_pending(self, user_id: int) -> Sequence[LinkCode]:
        rows = self._s.exec(select(TelegramLinkCodeRow).where(
            col(TelegramLinkCodeRow.telegram_user_id) == user_id,
            col(TelegramLinkCodeRow.used_at).is_(None))
            .order_by(col(TelegramLinkCodeRow.id).desc())).all()
        return [_code(row) for row in rows]

    def add_code(self, code: LinkCode, at: datetime) -> None:
        self._s.add(TelegramLinkCodeRow(
            telegram_user_id=code.telegram_user_id, member_id=code.member_id,
            code_hash=code.code_hash, tries=code.tries, created_at=at, expires_at=code.expires_at,
            used_at=code.used_at))

    def save_code(self, code: LinkCode) -> None:
        row = self._s.get(TelegramLinkCodeRow, code.id)
        assert row is not None, f"save of unknown link code {code.id}"
        row.tries, row.used_at = code.tries, code.used_at
        self._s.add(row)

    def codes_mailed(self, member_id: str, since: datetime) -> int:
        self._s.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)
                     .with_for_update()).first()
        return int(self._s.exec(select(func.count()).select_from(TelegramLinkCodeRow).where(
            col(TelegramLinkCodeRow.member_id) == member_id,
            col(TelegramLinkCodeRow.created_at) > since)).one())

    def add_token(self, token: LinkToken) -> None:
        self._s.add(TelegramLinkTokenRow(nonce=token.nonce, member_id=token.member_id,
                                         expires_at=token.expires_at, used_at=token.used_at))

    def token(self, nonce: str) -> LinkToken | None:
        row = self._token_row(nonce, lock=True)
        return (LinkToken(row.nonce, row.member_id, aware(row.expires_at), aware(row.used_at))
                if row else None)

    def save_token(self, token: LinkToken) -> None:
        row = self._token_row(token.nonce, lock=False)
        assert row is not None, f"save of unknown link token {token.nonce}"
        row.used_at = token.used_at
        self._s.add(row)

    def _token_row(self, nonce: str, *, lock: bool) -> TelegramLinkTokenRow | None:
        query = select(TelegramLinkTokenRow).where(col(TelegramLinkTokenRow.nonce) == nonce)
        return self._s.exec(query.with_for_update() if lock else query).first()
