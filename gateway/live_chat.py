"""The English-only live chat: a form, a queue, and a relay between Telegram and agents' email.

The member's lines are stored, then mailed to the agents in batches (at most one mail per chat
per BATCH_WINDOW, or at LINES_PER_MAIL lines); the mail tells what is verified (a linked
member's record) from what was only typed in the form. Agents answer by email to a chat mail
whose Reply-To carries a chat key (`gateway/replykeys.py`, bound to the agent's address);
`/end` on the first line ends the chat.
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
    chat = r.uow.chats.current(r.msg.user_id)
    if chat is not None:
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_QUEUED,
                                               {"position": r.uow.chats.position(chat)}))
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
                                 question, ChatStatus.WAITING, "", r.now, mailed_at=r.now))
    place = r.uow.chats.position(chat)
    first = ChatLine(0, question, r.now)
    return accepted_with(None, ev.ChatLinesDue(chat, (first,), r.member, new=True, position=place),
                         ev.Answered(Kind.TG_CHAT_QUEUED, {"position": place}))


def say(command: SayInChat, r: Request) -> Outcome:
    """Store the line first; a mail to the agents carries it now or with the next batch."""
    chat = r.uow.chats.get(command.chat.id)
    if chat is None or chat.status is ChatStatus.ENDED:  # an agent ended it a moment ago
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_NONE))
    r.uow.chats.add_line(chat, command.text.strip()[:MAX_LINE] or NO_TEXT, r.now)
    return Outcome(True, "chat-relayed", events=tuple(flush(r.uow, chat, r.now)))


def end(command: EndChat, r: Request) -> Outcome:
    current = r.uow.chats.current(r.msg.user_id)
    chat = r.uow.chats.get(current.id) if current is not None else None
    if chat is None or chat.status is ChatStatus.ENDED:
        return accepted_with(None, ev.Answered(Kind.TG_CHAT_NONE))
    return accepted_with(None, *_end(r.uow, chat, r.now, by_agent=""),
                         ev.Answered(Kind.TG_CHAT_ENDED, {"by_agent": False}))


def answer(command: AnswerChat, r: Request) -> Outcome:
    """An agent's email to a chat: relayed to the member's Telegram; `/end` ends the chat."""
    agent, chat = r.agent, r.uow.chats.get(command.chat_id)
    assert agent is not None
    if chat is None or chat.status is ChatStatus.ENDED:
        return Outcome(False, "chat-ended", "telegram-chat")
    if command.end:
        said = (ev.AgentWroteInChat(chat, agent.name, command.text),) if command.text else ()
        return Outcome(True, "chat-ended", events=(
            *said, *_end(r.uow, chat, r.now, by_agent=agent.email)))
    chat.status, chat.agent_email = ChatStatus.ACTIVE, agent.email
    events = flush(r.uow, chat, r.now, force=True)  # the answering agent sees every line
    chat.mailed_at = None  # and the member's next line goes at once (one per agent mail)
    r.uow.chats.save(chat)
    return Outcome(True, "chat-relayed",
                   events=(*events, ev.AgentWroteInChat(chat, agent.name, command.text)))


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
    """The scheduler's pass: mail the batches whose window passed with nobody writing again."""
    out = Outgoing(uow, desk, now)
    locked = (uow.chats.get(chat.id) for chat in uow.chats.overdue(now - BATCH_WINDOW, limit))
    events = [event for chat in locked if chat is not None and chat.status is not ChatStatus.ENDED
              for event in flush(uow, chat, now)]
    notify.announce(events, notify.Audience(None, None, None, out, desk, now))
    return len(events)


def _end(uow: UnitOfWork, chat: Chat, now: datetime, by_agent: str) -> list[ev.Event]:
    events = flush(uow, chat, now, force=True)  # nothing the member wrote is lost
    chat.status, chat.ended_at = ChatStatus.ENDED, now
    uow.chats.save(chat)
    member = uow.members.by_telegram(chat.telegram_user_id)
    return [*events, ev.ChatEnded(chat, member, by_agent)]
