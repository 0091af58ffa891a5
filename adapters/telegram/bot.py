"""Route one update: commands, then the stored conversation, then the live chat, then replies."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.telegram import chat, conversation, link, tickets
from adapters.telegram.state import clear_conversation, load_conversation
from adapters.telegram.turn import Turn
from gateway.handlers import Outcome
from gateway.hours import next_window
from store.blobs import BlobStore

MEMBERS_ONLY = frozenset({"new", "tickets", "ticket", "close"})
FLOW_COMMANDS = frozenset({"done", "confirm", "skip"})


@dataclass(frozen=True)
class BotConfig:
    secret: str
    blobs: BlobStore


def handle(turn: Turn, config: BotConfig) -> Outcome:
    outcome = _route(turn, config)
    # Chat lines left waiting past their batch window go now: any update helps the scheduler.
    chat.flush_overdue(turn.uow, turn.desk, turn.now, limit=10)
    return outcome


def _route(turn: Turn, config: BotConfig) -> Outcome:
    update = turn.update
    if update.kind == "callback_query":
        return _callback(turn)
    if update.kind != "message":
        return Outcome(False, f"ignored-{update.kind}", "telegram")  # edits never re-run anything
    if not update.private or update.user_id is None or update.chat_id is None:
        return Outcome(False, "not-private", "telegram")  # groups never act for anyone
    command = update.command
    if command is not None and command[0] not in FLOW_COMMANDS:
        return _command(turn, config, *command) or Outcome(True, f"command-{command[0]}")
    flow = load_conversation(turn.uow.session, turn.user_id)
    name = command[0] if command else None
    if flow is not None and flow.flow == "new" and turn.member is not None:
        return conversation.step(turn, flow, name, config.blobs) or Outcome(True, "new-ticket-step")
    if flow is not None and flow.flow == "link":
        if flow.step == "identity":
            link.send_code(turn, update.text, config.secret)
        else:
            link.check_code(turn, update.text, config.secret)
        return Outcome(True, "link-step")
    if flow is not None and flow.flow == "chat":
        chat.step(turn, flow, name)
        return Outcome(True, "chat-step")
    session_row = chat.current(turn.uow.session, turn.user_id)
    if session_row is not None and name is None:
        chat.relay_from_member(turn, session_row)
        return Outcome(True, "chat-relayed")
    if turn.member is not None and name is None:
        outcome = tickets.reply(turn)
        if outcome is not None:
            return outcome
    turn.say("tg_unknown" if turn.member else "tg_not_linked")
    return Outcome(False, "not-understood", "telegram")


def _command(turn: Turn, config: BotConfig, name: str, args: str) -> Outcome | None:
    session = turn.uow.session
    if name in MEMBERS_ONLY and turn.member is None:
        turn.say("tg_not_linked")
        return Outcome(False, "not-linked", "telegram")
    if name not in ("end",):
        clear_conversation(session, turn.user_id)  # a new command abandons the current form
    if name == "start" and args:
        link.redeem_token(turn, args[:200])
    elif name == "start":
        turn.say("tg_start")
    elif name == "link":
        link.start(turn)
    elif name == "new":
        conversation.start(turn)
    elif name == "tickets":
        tickets.list_tickets(turn)
    elif name == "ticket":
        tickets.show(turn, args)
    elif name == "close":
        return tickets.close(turn, args)
    elif name == "chat":
        chat.start(turn)
    elif name == "end":
        chat.end_by_member(turn)
    elif name == "hours":
        _hours(turn)
    elif name == "cancel":
        turn.say("tg_cancelled")
    elif name == "help":
        turn.say("tg_help")
    else:
        turn.say("tg_unknown" if turn.member else "tg_not_linked")
    return None


def _hours(turn: Turn) -> None:
    english = next_window(turn.desk.windows, "en", turn.now)
    other = next_window(turn.desk.windows, "xx", turn.now) or english
    turn.say("tg_hours", {"en_start": english[0] if english else None,
                          "en_end": english[1] if english else None,
                          "all_start": other[0] if other else None,
                          "all_end": other[1] if other else None})


def _callback(turn: Turn) -> Outcome:
    update = turn.update
    if update.chat_id is not None and update.user_id is not None:
        turn.answer_callback()
    if not update.private or turn.member is None:
        return Outcome(False, "callback-refused", "telegram")
    kind, _, ref = update.callback_data.partition(":")
    if kind == "t":
        tickets.show(turn, ref)  # authorized again: the ticket must be this member's
    return Outcome(True, "callback")
