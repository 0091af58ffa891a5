"""The English-only live chat: a form, a queue, and a relay between Telegram and agents' email.

The member's lines are stored, then mailed to the agents in batches (at most one mail per chat
per BATCH_WINDOW, or at LINES_PER_MAIL lines); the mail tells what is verified (a linked member's
record) from what was only typed in the form. Agents answer by email to a chat notification
whose Reply-To carries a chat key (`<local>+c<chat>.<expiry>.<key id><mac>@<domain>`, signed by the
desk's token signer and bound to the agent's address); `/end` on the first line ends the chat.
Chat keys minted before key ids and expiry (`c<chat>.<mac>`) are refused: chats are short-lived.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, func, select

from adapters.telegram.state import Conversation, clear_conversation, save_conversation
from adapters.telegram.turn import Turn
from gateway.desk import Desk
from gateway.handlers import Outcome
from gateway.hours import next_window
from gateway.messages import Channel, InboundMessage, OutboundMessage
from gateway.outgoing import Outgoing, one_line
from gateway.parsing import first_line
from gateway.replies import Reply
from gateway.replykeys import address_with_key, keys_in
from gateway.tokens import Signer
from store.blobs import BlobStore
from store.tables_telegram import TelegramChatLineRow, TelegramChatRow
from store.unit_of_work import SqlUnitOfWork, aware

log = logging.getLogger(__name__)
WAITING, ACTIVE, ENDED = "waiting", "active", "ended"
LINES_PER_MAIL = 10  # a batch goes at once when this many lines wait...
BATCH_WINDOW = timedelta(seconds=60)  # ...else at most one agent mail per chat per window
MAX_LINE = 4000
CHAT_KEY_DAYS = 30  # an agent may answer a chat notification for this long
_CHAT_PAYLOAD = re.compile(r"^c(\d{1,12})$")
_CHAT_LOOK = re.compile(r"^c\d{1,12}\.")  # looks like a chat key (old or new): ours to answer
# The look-ahead checks the tail once, so each dot tried below needs no rescan of it.
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?=[^@\s]*+$)[^@\s]{1,255}\.[^@\s]{2,}$")


def chat_key(signer: Signer, chat_id: int, agent: str, now: datetime) -> str:
    return signer.issue(f"c{chat_id}", agent, now, CHAT_KEY_DAYS)


def chat_of_key(signer: Signer, key: str, agent: str, now: datetime) -> int | None:
    """The chat a genuine, unexpired key for `agent` names (current or old secret); else None."""
    match = _CHAT_PAYLOAD.match(signer.payload(key, agent, now) or "")
    return int(match.group(1)) if match else None


def is_open(desk: Desk, now: datetime) -> tuple[bool, tuple[datetime, datetime] | None]:
    window = next_window(desk.windows, "en", now)
    return (window is not None and window[0] <= now < window[1]), window


def current(session: Session, user_id: int) -> TelegramChatRow | None:
    return session.exec(select(TelegramChatRow).where(
        col(TelegramChatRow.telegram_user_id) == user_id,
        col(TelegramChatRow.status) != ENDED).order_by(col(TelegramChatRow.id).desc())).first()


def position(session: Session, row: TelegramChatRow) -> int:
    ahead = session.exec(select(func.count()).select_from(TelegramChatRow).where(
        col(TelegramChatRow.status) == WAITING, col(TelegramChatRow.id) <= row.id)).one()
    return max(int(ahead), 1)


def start(turn: Turn) -> None:
    row = current(turn.uow.session, turn.user_id)
    if row is not None:
        turn.say("tg_chat_queued", {"position": position(turn.uow.session, row)})
        return
    open_now, window = is_open(turn.desk, turn.now)
    if not open_now:
        turn.say("tg_chat_closed", {"window_start": window[0] if window else None,
                                    "window_end": window[1] if window else None})
        return
    save_conversation(turn.uow.session, turn.user_id, Conversation("chat", "name"), turn.now)
    turn.say("tg_chat_ask", {"step": "name"})


def step(turn: Turn, conversation: Conversation, command: str | None) -> None:
    """The form: name, member ID (optional, /skip), email, question."""
    text, data = one_line(turn.update.text, 1000), conversation.data
    following = {"name": "member_id", "member_id": "email", "email": "question"}
    if conversation.step == "question":
        _queue(turn, {**data, "question": turn.update.text.strip()[:4000]})
        return
    if conversation.step == "email" and not _EMAIL.match(text):
        turn.say("tg_chat_bad_email")
        return
    if not text and command != "skip":
        turn.say("tg_chat_ask", {"step": conversation.step})
        return
    data[conversation.step] = "" if command == "skip" else text[:200]
    conversation.step = following[conversation.step]
    save_conversation(turn.uow.session, turn.user_id, conversation, turn.now)
    turn.say("tg_chat_ask", {"step": conversation.step})


def _queue(turn: Turn, data: dict[str, str]) -> None:
    session = turn.uow.session
    clear_conversation(session, turn.user_id)
    question = data["question"]
    detected = turn.desk.detector.detect(question)
    if not question or (detected is not None and detected != "en"):
        turn.say("tg_chat_english_only", language=detected or turn.language)
        return
    row = TelegramChatRow(telegram_user_id=turn.user_id, name=data.get("name", ""),
                          member_id=data.get("member_id", ""), email=data.get("email", ""),
                          language=turn.language, question=question, created_at=turn.now)
    session.add(row)
    session.flush()
    place = position(session, row)
    first = [{"at": turn.now.strftime("%H:%M:%S"), "text": question}]
    _to_agents(turn.uow, turn.desk, turn.now, row, first, new=True, place=place)
    turn.say("tg_chat_queued", {"position": place})


def relay_from_member(turn: Turn, row: TelegramChatRow) -> None:
    """Store the line first; a mail to the agents carries it now or with the next batch."""
    text = turn.update.text.strip()[:MAX_LINE] or "(a file, not relayed: please describe it in words)"
    assert row.id is not None
    turn.uow.session.add(TelegramChatLineRow(chat_id=row.id, text=text, created_at=turn.now))
    turn.uow.session.flush()
    flush_lines(turn.uow, turn.desk, turn.now, row)


def end_by_member(turn: Turn) -> None:
    row = current(turn.uow.session, turn.user_id)
    if row is None:
        turn.say("tg_chat_none")
        return
    _end(turn.uow, turn.desk, turn.now, row, by_agent="")
    turn.say("tg_chat_ended", {"by_agent": False})


def _agents(uow: SqlUnitOfWork, desk: Desk, now: datetime, row: TelegramChatRow) -> list[str]:
    return [row.agent_email] if row.agent_email else Outgoing(uow, desk, now).agent_addresses("en")


def _identity(uow: SqlUnitOfWork, row: TelegramChatRow) -> dict[str, object]:
    """What agents may trust (a linked member's record) apart from what was only typed in the form."""
    member = uow.members.by_telegram(row.telegram_user_id)
    return {"linked": member is not None, "member_id": member.member_id if member else "",
            "member_name": member.name if member else "", "claimed_name": row.name,
            "claimed_member_id": row.member_id, "claimed_email": row.email}


def _pending_lines(session: Session, row: TelegramChatRow) -> list[TelegramChatLineRow]:
    return list(session.exec(select(TelegramChatLineRow).where(
        col(TelegramChatLineRow.chat_id) == row.id, col(TelegramChatLineRow.mailed_at).is_(None))
        .order_by(col(TelegramChatLineRow.id))).all())


def flush_lines(uow: SqlUnitOfWork, desk: Desk, now: datetime, row: TelegramChatRow,
                *, force: bool = False) -> bool:
    """One agent mail with every line not yet mailed, in order, when the batch is due: at
    LINES_PER_MAIL lines, or BATCH_WINDOW after the chat's last agent mail, or when `force`d
    (the chat ends, an agent answers). True when a mail was composed."""
    uow.session.exec(select(TelegramChatRow).where(col(TelegramChatRow.id) == row.id)
                     .with_for_update().execution_options(populate_existing=True)).first()
    pending = _pending_lines(uow.session, row)  # read under the lock: two workers mail a line once
    last = aware(row.mailed_at)
    due = force or len(pending) >= LINES_PER_MAIL or last is None or now - last >= BATCH_WINDOW
    if not pending or not due:
        return False
    lines = [{"at": (aware(line.created_at) or now).strftime("%H:%M:%S"), "text": line.text}
             for line in pending]
    _to_agents(uow, desk, now, row, lines, new=False, place=0)
    for line in pending:
        line.mailed_at = now
        uow.session.add(line)
    return True


def flush_overdue(uow: SqlUnitOfWork, desk: Desk, now: datetime, limit: int = 50) -> int:
    """The scheduler's pass: batches whose window has passed with nobody writing again."""
    overdue = uow.session.exec(select(TelegramChatRow).where(
        col(TelegramChatRow.status) != ENDED,
        col(TelegramChatRow.id).in_(select(TelegramChatLineRow.chat_id).where(
            col(TelegramChatLineRow.mailed_at).is_(None))),
        or_(col(TelegramChatRow.mailed_at).is_(None), col(TelegramChatRow.mailed_at) <= now - BATCH_WINDOW))
        .order_by(col(TelegramChatRow.id)).limit(limit)).all()
    return sum(flush_lines(uow, desk, now, row) for row in overdue)


def flush_overdue_chats(engine: Engine, blobs: BlobStore, desk: Desk, now: datetime) -> int:
    """`flush_overdue` in a transaction of its own, for a scheduler loop."""
    with SqlUnitOfWork(engine, blobs) as uow:
        count = flush_overdue(uow, desk, now)
        uow.commit()
    if count:
        log.info("telegram chat lines mailed", extra={"chats": count})
    return count


def _to_agents(uow: SqlUnitOfWork, desk: Desk, now: datetime, row: TelegramChatRow,
               lines: list[dict[str, str]], *, new: bool, place: int) -> None:
    assert row.id is not None
    data = {"chat_id": row.id, **_identity(uow, row), "lines": lines, "new": new, "position": place}
    rendered = desk.renderer.render(Reply("agent_chat_request", "en", data))
    for address in _agents(uow, desk, now, row):
        key = chat_key(desk.keys.signer, row.id, address, now)
        uow.outbox.add(OutboundMessage(
            channel=Channel.EMAIL, recipient=address, subject=one_line(rendered.subject),
            text=rendered.text, message_id=_new_id(desk), kind="agent_chat_request",
            reply_to=address_with_key(desk.address, key), references=(f"chat-{row.id}@{desk.domain}",),
            auto=True), now)
    row.mailed_at = now
    uow.session.add(row)


def _end(uow: SqlUnitOfWork, desk: Desk, now: datetime, row: TelegramChatRow, by_agent: str) -> None:
    flush_lines(uow, desk, now, row, force=True)  # nothing the member wrote is lost
    rendered = desk.renderer.render(Reply("agent_chat_ended", "en", {
        "chat_id": row.id, **_identity(uow, row), "by_agent": bool(by_agent), "agent": by_agent}))
    for address in _agents(uow, desk, now, row):
        uow.outbox.add(OutboundMessage(
            channel=Channel.EMAIL, recipient=address, subject=one_line(rendered.subject),
            text=rendered.text, message_id=_new_id(desk), kind="agent_chat_ended",
            references=(f"chat-{row.id}@{desk.domain}",)), now)
    row.status, row.ended_at = ENDED, now
    uow.session.add(row)


def _new_id(desk: Desk) -> str:
    return f"{uuid.uuid4().hex}@{desk.domain}"


def agent_email(msg: InboundMessage, uow: SqlUnitOfWork, desk: Desk, now: datetime) -> Outcome | None:
    """An agent's email answer to a chat; None when the message carries no chat key."""
    found = [k for k in keys_in(msg.recipients, desk.address) if _CHAT_LOOK.match(k)]
    if not found or msg.channel is not Channel.EMAIL:
        return None
    agent = uow.agents.by_email(msg.sender) if msg.authenticated and not msg.automated else None
    chat_id = next((c for c in (chat_of_key(desk.keys.signer, k, agent.email, now) for k in found)
                    if c is not None), None) if agent else None
    if agent is None or chat_id is None:
        return Outcome(False, "chat-key", "telegram-chat")
    row = uow.session.get(TelegramChatRow, chat_id)
    if row is None or row.status == ENDED:
        return Outcome(False, "chat-ended", "telegram-chat")
    lines = msg.text.strip().split("\n", 1)
    if first_line(msg.text).lower() == "/end":
        if len(lines) > 1 and lines[1].strip():
            _to_member(uow, desk, now, row, "tg_chat_agent",
                       {"agent_name": agent.name, "text": lines[1].strip()})
        _end(uow, desk, now, row, by_agent=agent.email)
        _to_member(uow, desk, now, row, "tg_chat_ended", {"by_agent": True})
        return Outcome(True, "chat-ended")
    row.status, row.agent_email = ACTIVE, agent.email
    uow.session.add(row)
    flush_lines(uow, desk, now, row, force=True)  # the answering agent sees every line
    row.mailed_at = None  # and the member's answer to the agent goes at once (one per agent mail)
    uow.session.add(row)
    _to_member(uow, desk, now, row, "tg_chat_agent", {"agent_name": agent.name,
                                                      "text": msg.text.strip()})
    return Outcome(True, "chat-relayed")


def _to_member(uow: SqlUnitOfWork, desk: Desk, now: datetime, row: TelegramChatRow, kind: str,
               data: dict[str, object]) -> None:
    rendered = desk.renderer.render(Reply(kind, row.language, data))
    uow.outbox.add(OutboundMessage(
        channel=Channel.TELEGRAM, recipient=str(row.telegram_user_id), subject="",
        text=rendered.text, message_id=_new_id(desk), kind=kind, auto=False), now)
