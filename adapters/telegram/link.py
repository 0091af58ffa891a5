"""Linking a Telegram account to a member (CONTRACT §6): mailed one-time codes and deep links.

Nothing here tells whether an address or member ID exists: the answer to `/link <x>` is the
same either way, and a code for nobody simply never matches. The bot never asks for a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from adapters.telegram.state import Conversation, clear_conversation, save_conversation
from adapters.telegram.turn import Turn
from gateway.outgoing import HOUR
from gateway.people import Member, fold_address
from gateway.tokens import Signer
from store.tables import MemberRow
from store.tables_telegram import TelegramLinkCodeRow, TelegramLinkTokenRow
from store.unit_of_work import aware, to_member

CODE_MINUTES = 10
MAX_TRIES = 5
CODES_PER_HOUR = 5  # per Telegram account
CODES_PER_MEMBER_PER_HOUR = 3  # per member, whichever accounts ask
_NONCE = 16
# The nonce, then the signer's seal (key id, MAC). Tokens of the 38-character form that had no
# key id are refused.
_TOKEN = re.compile(rf"^[A-Za-z0-9_-]{{{_NONCE}}}[0-9a-f]{{2}}[a-z2-7]{{26}}$")


def _digest(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def _token_body(nonce: str, member_id: str, expires: datetime) -> str:
    return f"tg-link|{nonce}|{member_id}|{int(expires.timestamp())}"


def start(turn: Turn) -> None:
    save_conversation(turn.uow.session, turn.user_id, Conversation("link", "identity"), turn.now)
    turn.say("tg_link_ask")


def find_member(session: Session, text: str) -> Member | None:
    value = text.strip()
    where = (col(MemberRow.email) == fold_address(value)) if "@" in value else (
        col(MemberRow.member_id) == value)
    row = session.exec(select(MemberRow).where(where)).first()
    return to_member(row) if row else None


def _codes_mailed(session: Session, member_id: str, now: datetime) -> int:
    """Codes mailed to the member in the last hour (a sliding hour), with the member row locked
    so that two workers cannot both see room for one more."""
    session.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)
                 .with_for_update()).first()
    return int(session.exec(select(func.count()).select_from(TelegramLinkCodeRow).where(
        col(TelegramLinkCodeRow.member_id) == member_id,
        col(TelegramLinkCodeRow.created_at) > now - HOUR)).one())


def send_code(turn: Turn, text: str, secret: str) -> None:
    """Step 1: mail a code if `text` names a member; say the same thing in every case."""
    session, uid = turn.uow.session, turn.user_id
    for old in session.exec(select(TelegramLinkCodeRow).where(
            col(TelegramLinkCodeRow.telegram_user_id) == uid,
            col(TelegramLinkCodeRow.used_at).is_(None))):
        old.used_at = turn.now
        session.add(old)
    member = find_member(session, text) if len(text) <= 320 else None
    code = f"{secrets.randbelow(10**6):06d}"
    under_cap = turn.uow.counters.hit(f"tg-link-code:{uid}", HOUR, turn.now) <= CODES_PER_HOUR
    if member is not None and under_cap:
        under_cap = _codes_mailed(session, member.member_id, turn.now) < CODES_PER_MEMBER_PER_HOUR
    member_id = member.member_id if member and under_cap else ""
    session.add(TelegramLinkCodeRow(
        telegram_user_id=uid, member_id=member_id, code_hash=_digest(secret, f"{uid}|{code}"),
        created_at=turn.now, expires_at=turn.now + timedelta(minutes=CODE_MINUTES)))
    if member is not None and member_id:
        turn.email(member.email, "link_code", {"code": code, "minutes": CODE_MINUTES,
                                               "member_name": member.name}, member.language)
    save_conversation(session, uid, Conversation("link", "code"), turn.now)
    turn.say("tg_link_sent", {"minutes": CODE_MINUTES})


def check_code(turn: Turn, text: str, secret: str) -> None:
    """Step 2: the right code, for this Telegram user, in time, within 5 tries, once."""
    session, uid = turn.uow.session, turn.user_id
    row = session.exec(select(TelegramLinkCodeRow).where(
        col(TelegramLinkCodeRow.telegram_user_id) == uid, col(TelegramLinkCodeRow.used_at).is_(None))
        .order_by(col(TelegramLinkCodeRow.id).desc())).first()
    expires = aware(row.expires_at) if row else None
    if row is None or expires is None or expires <= turn.now or row.tries >= MAX_TRIES:
        clear_conversation(session, uid)
        turn.say("tg_link_failed")
        return
    row.tries += 1
    code = re.sub(r"\s", "", text)
    right = hmac.compare_digest(row.code_hash, _digest(secret, f"{uid}|{code}"))
    if right and row.member_id:
        row.used_at = turn.now
        session.add(row)
        clear_conversation(session, uid)
        link(turn, row.member_id)
        return
    if row.tries >= MAX_TRIES:
        row.used_at = turn.now
        clear_conversation(session, uid)
        turn.say("tg_link_failed")
    else:
        turn.say("tg_link_wrong_code", {"left": MAX_TRIES - row.tries})
    session.add(row)


def issue_token(engine: Engine, secret: str, member_id: str, now: datetime, hours: float) -> str:
    """A deep-link token for `https://t.me/<bot>?start=<token>` (44 characters), signed with the
    current `secret`; it is stored, so it works once and until it expires."""
    nonce = secrets.token_urlsafe(12)[:_NONCE]
    expires = (now + timedelta(hours=hours)).replace(microsecond=0)
    with Session(engine) as session:
        session.add(TelegramLinkTokenRow(nonce=nonce, member_id=member_id, expires_at=expires))
        session.commit()
    return nonce + Signer(secret).seal(_token_body(nonce, member_id, expires))


def redeem_token(turn: Turn, token: str) -> None:
    """Link the member a genuine (current or old secret), unexpired, unused token names."""
    session = turn.uow.session
    row = None
    if _TOKEN.match(token):
        row = session.exec(select(TelegramLinkTokenRow).where(
            col(TelegramLinkTokenRow.nonce) == token[:_NONCE]).with_for_update()).first()
    expires = aware(row.expires_at) if row else None
    valid = (row is not None and expires is not None and row.used_at is None
             and expires > turn.now and turn.desk.keys.signer.opens(
                 _token_body(row.nonce, row.member_id, expires), token[_NONCE:]))
    if not valid or row is None:
        turn.say("tg_link_token_bad")
        return
    row.used_at = turn.now
    session.add(row)
    link(turn, row.member_id)


def link(turn: Turn, member_id: str) -> None:
    """Bind this Telegram user to the member (and to nobody else); confirm here and by email."""
    session, uid = turn.uow.session, turn.user_id
    for other in session.exec(select(MemberRow).where(col(MemberRow.telegram_user_id) == uid)):
        if other.member_id != member_id:
            other.telegram_user_id = None
            session.add(other)
    session.flush()
    row = session.exec(select(MemberRow).where(col(MemberRow.member_id) == member_id)).first()
    if row is None:
        turn.say("tg_link_token_bad")
        return
    row.telegram_user_id = uid
    session.add(row)
    session.flush()
    member = to_member(row)
    turn.member, turn.language = member, member.language
    turn.say("tg_linked", {"member_name": member.name, "member_id": member.member_id})
    turn.email(member.email, "telegram_linked", {"member_name": member.name}, member.language)
