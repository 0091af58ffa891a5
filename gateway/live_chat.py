"""The English-only live chat: a form, a queue, and a relay between Telegram and agents' email.

The member's lines are stored, then mailed to the agents in batches (at most one mail per chat
per BATCH_WINDOW, or at LINES_PER_MAIL lines); the mail tells what is verified (a linked
member's record) from what was only typed in the form. Agents answer by email to a chat mail
whose Reply-To carries a chat key (`gateway/replykeys.py`, bound to the agent's address);
`/end` on the first line ends the chat. Waiting members are told their new place whenever the
queue moves, and a chat nobody writes in for `telegram.chat_idle_minutes` ends.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from gateway import events as ev
from gateway import notify
from gateway.commands import AnswerChat, EndChat, FillChatForm, SayInChat, StartChat
from gateway.conversations import Chat, ChatLine, ChatStatus, Flow, Form, Step
from gateway.desk import Desk
from gateway.handlers import Outcome, Request, accepted_with
from gateway.hours import next_window
from gateway.outgoing import Outgoing, one_line
from gateway.ports import UnitOfWork
from gateway.replies import Kind

LINES_PER_MAIL = 10  # a batch goes at once when this many lines wait...
BATCH_WINDOW = timedelta(seconds=60)  # ...else at most one agent mail per chat per window
MAX_LINE = 4000
MAX_FIELD = 200
NO_TEXT = "(a file, not relayed: please describe it in words)"
NEXT_STEP = {Step.NAME: Step.MEMBER_ID, Step.MEMBER_ID: Step.EMAIL, Step.EMAIL: Step.QUESTION}
# The look-ahead checks the tail once, so each dot tried below needs no rescan of it.
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?=[^@\s]*+$)[^@\s]{1,255}\.[^@\s]{2,}$")


def is_open(desk: Desk, now: datetime) -> tuple[bool, tuple[datetime, datetime] | None]:
    window = next_window(desk.windows, "en", now)
    return (window is not None and window[0] <= now < window[1]), window


def start(command: StartChat, r: Request) -> Outcome:
    current = r.uow.chats.current(r.msg.user_id)
    chat = r.uow.chats.get(current.id) if current is not None else None  # locked: it is told
    if chat is not None and chat.status is not ChatStatus.ENDED:
        place = _tell(r.uow, chat)
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_QUEUED, {"position": place}))
    open_now, window = is_open(r.desk, r.now)
    if not open_now:
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_CLOSED, {
            "window_start": window[0] if window else None,
            "window_end": window[1] if window else None}))
    r.uow.forms.save(r.msg.user_id, Form(Flow.CHAT, Step.NAME), r.now)
    return accepted_with(None, ev.Answered(Kind.TG_CHAT_ASK, {"step": Step.NAME.value}))


def fill(command: FillChatForm, r: Request) -> Outcome:
    """The form: name, member ID (optional, /skip), email, question."""
    form, text = command.form, one_line(command.text, 1000)
    if form.step is Step.QUESTION:
        return _queue(r, {**form.data, "question": command.text.strip()[:MAX_LINE]})
    if form.step is Step.EMAIL and not _EMAIL.match(text):
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_BAD_EMAIL))
    if not text and command.word != "skip":
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_ASK, {"step": form.step.value}))
    form.data[form.step.value] = "" if command.word == "skip" else text[:MAX_FIELD]
    form.step = NEXT_STEP[form.step]
    r.uow.forms.save(r.msg.user_id, form, r.now)
    return accepted_with(None, ev.Answered(Kind.TG_CHAT_ASK, {"step": form.step.value}))


def _queue(r: Request, data: dict[str, str]) -> Outcome:
    r.uow.forms.clear(r.msg.user_id)
    question = data["question"]
    detected = r.desk.detector.detect(question)
    if not question or (detected is not None and detected != "en"):
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_ENGLISH_ONLY, language=detected))
    language = r.desk.language_for(r.member, r.msg.bot.locale if r.msg.bot else "")
    chat = r.uow.chats.open(Chat(0, r.msg.user_id, data.get("name", ""),
                                 data.get("member_id", ""), data.get("email", ""), language,
                                 question, ChatStatus.WAITING, "", r.now, mailed_at=r.now,
                                 active_at=r.now))
    place = _tell(r.uow, chat)
    first = ChatLine(0, question, r.now)
    return accepted_with(None, ev.ChatLinesDue(chat, (first,), r.member, new=True, position=place),
                         ev.Answered(Kind.TG_CHAT_QUEUED, {"position": place}))


def say(command: SayInChat, r: Request) -> Outcome:
    """Store the line first; a mail to the agents carries it now or with the next batch."""
    chat = r.uow.chats.get(command.chat.id)
    if chat is None or chat.status is ChatStatus.ENDED:  # an agent ended it a moment ago
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_NONE))
    chat.active_at = r.now
    r.uow.chats.save(chat)
    r.uow.chats.add_line(chat, command.text.strip()[:MAX_LINE] or NO_TEXT, r.now)
    return Outcome(True, "chat-relayed", events=tuple(flush(r.uow, chat, r.now)))


def end(command: EndChat, r: Request) -> Outcome:
    current = r.uow.chats.current(r.msg.user_id)
    chat = r.uow.chats.get(current.id) if current is not None else None
    if chat is None or chat.status is ChatStatus.ENDED:
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_NONE))
    return accepted_with(None, *_end(r.uow, chat, r.now, by_agent=""),
                         ev.Answered(Kind.TG_CHAT_ENDED, {"by_agent": False}),
                         *tell_positions(r.uow))


def answer(command: AnswerChat, r: Request) -> Outcome:
    """An agent's email to a chat: relayed to the member's Telegram; `/end` ends the chat."""
    agent, chat = r.agent, r.uow.chats.get(command.chat_id)
    assert agent is not None
    if chat is None or chat.status is ChatStatus.ENDED:
        return Outcome(False, "chat-ended", "telegram-chat")
    if command.end:
        said = (ev.AgentWroteInChat(chat, agent.name, command.text),) if command.text else ()
        return Outcome(True, "chat-ended", events=(
            *said, *_end(r.uow, chat, r.now, by_agent=agent.email), *tell_positions(r.uow)))
    chat.status, chat.agent_email, chat.active_at = ChatStatus.ACTIVE, agent.email, r.now
    events = flush(r.uow, chat, r.now, force=True)  # the answering agent sees every line
    chat.mailed_at = None  # and the member's next line goes at once (one per agent mail)
    r.uow.chats.save(chat)
    return Outcome(True, "chat-relayed", events=(
        *events, ev.AgentWroteInChat(chat, agent.name, command.text), *tell_positions(r.uow)))


def flush(uow: UnitOfWork, chat: Chat, now: datetime, *, force: bool = False) -> list[ev.Event]:
    """The agents' mail with every line not yet mailed, in order, when the batch is due: at
    LINES_PER_MAIL lines, or BATCH_WINDOW after the chat's last agent mail, or when `force`d
    (the chat ends, an agent answers). `chat` comes from `uow.chats.get`: read under its lock,
    so two workers mail a line once and never undo each other's changes."""
    pending = tuple(uow.chats.unmailed(chat))
    last = chat.mailed_at
    due = force or len(pending) >= LINES_PER_MAIL or last is None or now - last >= BATCH_WINDOW
    if not pending or not due:
        return []
    uow.chats.mark_mailed(pending, now)
    chat.mailed_at = now
    uow.chats.save(chat)
    return [ev.ChatLinesDue(chat, pending, uow.members.by_telegram(chat.telegram_user_id))]


def flush_overdue(uow: UnitOfWork, desk: Desk, now: datetime, limit: int = 50) -> int:
    """Mail the batches whose window passed with nobody writing again."""
    return _announce(uow, desk, now, _overdue_batches(uow, now, limit))


def tend(uow: UnitOfWork, desk: Desk, now: datetime, limit: int = 50) -> int:
    """The scheduler's pass: batches left waiting mailed, idle chats ended, and every waiting
    member whose place changed told it (once, after the chats this pass ended)."""
    events = [*_overdue_batches(uow, now, limit), *end_idle(uow, desk, now, limit),
              *tell_positions(uow)]
    return _announce(uow, desk, now, events)


def end_idle(uow: UnitOfWork, desk: Desk, now: datetime, limit: int) -> list[ev.Event]:
    """End the chats nobody wrote in for `chat_idle_minutes`, with a notice to both sides. A chat
    another transaction holds is taking a line: it is not idle, and a later pass looks again."""
    before = now - timedelta(minutes=desk.chat_idle_minutes)
    events: list[ev.Event] = []
    for seen in uow.chats.idle(before, limit):
        chat = uow.chats.get_if_free(seen.id)
        if chat is None or chat.status is ChatStatus.ENDED or _last_active(chat) > before:
            continue
        events.extend(_end(uow, chat, now, idle_minutes=desk.chat_idle_minutes))
    return events


def tell_positions(uow: UnitOfWork) -> list[ev.Event]:
    """Tell each waiting member whose place in the queue is not the one they were last told.

    Called by every transaction that moves the queue and by the scheduler's pass. Each chat is
    re-read under its lock and its place counted again, so of two transactions that both see a
    change, one tells it; a chat another transaction holds is skipped, not waited for (no
    deadlock), and a place counted before another worker's change committed is put right by
    the next pass."""
    events: list[ev.Event] = []
    for place, seen in enumerate(uow.chats.waiting(), start=1):
        if seen.told_position == place:
            continue
        chat = uow.chats.get_if_free(seen.id)
        if chat is None or chat.status is not ChatStatus.WAITING:
            continue
        told = chat.told_position
        if (place := _tell(uow, chat)) != told:
            events.append(ev.ChatMoved(chat, place))
    return events


def _tell(uow: UnitOfWork, chat: Chat) -> int:
    """The chat's place in the queue, recorded as told to the member (`chat` read locked)."""
    place = uow.chats.position(chat)
    if chat.status is ChatStatus.WAITING:
        chat.told_position = place
        uow.chats.save(chat)
    return place


def _overdue_batches(uow: UnitOfWork, now: datetime, limit: int) -> list[ev.Event]:
    locked = (uow.chats.get(chat.id) for chat in uow.chats.overdue(now - BATCH_WINDOW, limit))
    return [event for chat in locked if chat is not None and chat.status is not ChatStatus.ENDED
            for event in flush(uow, chat, now)]


def _announce(uow: UnitOfWork, desk: Desk, now: datetime, events: list[ev.Event]) -> int:
    out = Outgoing(uow, desk, now)
    notify.announce(events, notify.Audience(None, None, None, out, desk, now))
    return len(events)


def _last_active(chat: Chat) -> datetime:
    return chat.active_at or chat.created_at


def _end(uow: UnitOfWork, chat: Chat, now: datetime, *, by_agent: str = "",
         idle_minutes: float = 0) -> list[ev.Event]:
    """Flush, end and announce the chat; the caller tells the queue it moved."""
    events = flush(uow, chat, now, force=True)  # nothing the member wrote is lost
    chat.status, chat.ended_at = ChatStatus.ENDED, now
    uow.chats.save(chat)
    member = uow.members.by_telegram(chat.telegram_user_id)
    ended = (ev.ChatTimedOut(chat, member, idle_minutes) if idle_minutes
             else ev.ChatEnded(chat, member, by_agent))
    return [*events, ended]
