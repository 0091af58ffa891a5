"""Why an agent's mail is not acted on (CONTRACT §10).

Each reason is at once the inbox row's reason, the key of the hourly cap on answers to the
agent, and one sentence in that answer (en.toml `agent_command_error`). A mail refused for
any of them changes nothing and reaches no member.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.commands import AgentAction, AgentReply
from gateway.tickets import Move


class AgentMistake(StrEnum):
    NO_KEY = "agent-key"  # not sent through a ticket's agent reply address valid for them
    NO_SUCH_TICKET = "no-such-ticket"  # the key names a ticket that does not exist
    UNKNOWN_COMMAND = "unknown-command"  # `/foo`
    COMMAND_NOT_ALONE = "command-not-alone"  # `/feedback What browser?` on one line
    COMBINED = "commands-combined"  # two moves, or a /feedback question marked /note
    NOTHING = "nothing-to-do"  # neither text nor a command
    NO_QUESTION = "feedback-without-question"
    EMPTY_NOTE = "note-without-text"
    WRONG_STATUS = "wrong-status"  # `/open` on an open ticket, `/feedback` on a closed one


@dataclass(frozen=True)
class Refusal:
    mistake: AgentMistake
    commands: tuple[str, ...] = ()  # the command words it is about, as the agent reads them
    ref: str = ""  # for NO_SUCH_TICKET: the ticket the key names


MOVES: dict[AgentAction, Move] = {AgentAction.FEEDBACK: Move.REQUEST_FEEDBACK,
                                  AgentAction.CLOSE: Move.CLOSE, AgentAction.OPEN: Move.REOPEN}
_TRAILING = ".,:;!?"  # `/close.` is /close mistyped, not an unknown command


def command_word(token: str) -> str:
    """`/Close.` -> `/close`: the command word a token reads as, or "" (`/usr/bin`, `/`)."""
    letters = token[1:].rstrip(_TRAILING)
    if token.startswith("/") and letters.isascii() and letters.isalpha():
        return "/" + letters.lower()
    return ""


def check(reply: AgentReply) -> Refusal | None:
    """What no ticket status could make right; the status itself is the handler's to check."""
    actions, text = reply.actions, reply.text
    if reply.stray:
        word = command_word(reply.stray)
        if word in set(AgentAction):
            return Refusal(AgentMistake.COMMAND_NOT_ALONE, (word,))
        return Refusal(AgentMistake.UNKNOWN_COMMAND, (reply.stray,))
    moves = {action for action in actions if action in MOVES}
    if len(moves) > 1 or {AgentAction.FEEDBACK, AgentAction.NOTE} <= actions:
        return Refusal(AgentMistake.COMBINED, tuple(action.value for action in sorted(actions)))
    if AgentAction.FEEDBACK in actions and not text:
        return Refusal(AgentMistake.NO_QUESTION, (AgentAction.FEEDBACK.value,))
    if AgentAction.NOTE in actions and not text:
        return Refusal(AgentMistake.EMPTY_NOTE, (AgentAction.NOTE.value,))
    if not actions and not text:
        return Refusal(AgentMistake.NOTHING)
    return None


def move_of(actions: frozenset[AgentAction]) -> tuple[AgentAction, Move] | None:
    """The one status change asked for (`check` refused more than one), if any."""
    return next(((action, MOVES[action]) for action in sorted(actions) if action in MOVES), None)
