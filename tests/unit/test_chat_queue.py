"""The live chat's queue and clock (CONTRACT §10): waiting members are told their new place
whenever it changes, idle chats end with a notice to both sides, /chat out of hours says when."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.conversations import ChatStatus
from gateway.handlers import Outcome
from gateway.live_chat import tend
from gateway.messages import OutboundMessage

from .fakes import ERIC, World
from .test_bot_commands import say

FIRST, SECOND, THIRD = 7101, 7102, 7103
QUESTION = "My order page is broken"


def queue(world: World, user: int) -> OutboundMessage:
    """Open a chat for `user`; the agents' first mail about it."""
    for text in ("/chat", "Sam", "/skip", "sam@example.com", QUESTION):
        say(world, user, text)
    return next(m for m in world.take() if m.kind == "agent_chat_request")


def agent_says(world: World, request: OutboundMessage, text: str) -> Outcome:
    return world.handle(world.email(ERIC.email, "Re: chat", text, recipients=(request.reply_to,)))


def told(world: World) -> list[tuple[str, int]]:
    """The queue places told since the last take: (recipient, position)."""
    return [(m.recipient, world.reply(m).data["position"]) for m in world.take()
            if m.kind == "tg_chat_position"]


def chat_of(world: World, user: int) -> ChatStatus:
    chat = world.uow.chats.current(user)
    return chat.status if chat else ChatStatus.ENDED


def pass_(world: World) -> int:
    return tend(world.uow, world.desk, world.clock.now())


def test_an_agent_taking_the_first_chat_tells_the_others_their_new_place(world: World) -> None:
    first = queue(world, FIRST)
    queue(world, SECOND)
    queue(world, THIRD)
    assert agent_says(world, first, "Hello, how can I help?").reason == "chat-relayed"
    assert told(world) == [(str(SECOND), 1), (str(THIRD), 2)]
    assert pass_(world) == 0  # told once: the scheduler's pass has nothing to add
    assert world.take() == []


def test_a_second_answer_in_a_taken_chat_moves_nobody(world: World) -> None:
    first = queue(world, FIRST)
    queue(world, SECOND)
    agent_says(world, first, "Hello")
    world.take()
    agent_says(world, first, "Still there?")
    assert told(world) == []


def test_a_chat_joining_behind_moves_nobody_ahead(world: World) -> None:
    queue(world, FIRST)
    queue(world, SECOND)
    assert told(world) == []
    assert world.uow.chats.waiting()[1].told_position == 2  # the queued answer told it


def test_a_member_leaving_the_queue_moves_those_behind(world: World) -> None:
    queue(world, FIRST)
    queue(world, SECOND)
    say(world, FIRST, "/end")
    assert told(world) == [(str(SECOND), 1)]


def test_a_chat_another_transaction_holds_is_told_by_the_next_pass(world: World) -> None:
    first = queue(world, FIRST)
    queue(world, SECOND)
    second = world.uow.chats.current(SECOND)
    assert second is not None
    world.uow.chats.held.add(second.id)  # another worker is storing a line of this chat
    agent_says(world, first, "Hello")
    assert told(world) == []  # not waited for: no deadlock, and no place told twice
    world.uow.chats.held.clear()
    assert pass_(world) == 1
    assert told(world) == [(str(SECOND), 1)]


def test_a_chat_nobody_writes_in_ends_with_a_notice_to_both(world: World) -> None:
    queue(world, FIRST)
    world.clock.advance(minutes=14, seconds=59)
    assert pass_(world) == 0
    world.clock.advance(seconds=1)
    assert pass_(world) == 1
    sent = world.take()
    assert [(m.recipient, m.kind) for m in sent] == [
        (ERIC.email, "agent_chat_idle_ended"), (str(FIRST), "tg_chat_idle_ended")]
    assert world.reply(sent[1]).data["minutes"] == 15
    assert chat_of(world, FIRST) is ChatStatus.ENDED
    assert pass_(world) == 0


def test_each_line_from_either_side_restarts_the_idle_clock(world: World) -> None:
    request = queue(world, FIRST)
    world.clock.advance(minutes=10)
    say(world, FIRST, "Are you there?")
    world.take()
    world.clock.advance(minutes=10)
    assert pass_(world) == 0
    assert chat_of(world, FIRST) is ChatStatus.WAITING
    agent_says(world, request, "Yes, one moment.")
    world.take()
    world.clock.advance(minutes=14)
    assert pass_(world) == 0
    assert chat_of(world, FIRST) is ChatStatus.ACTIVE
    world.clock.advance(minutes=1)
    assert pass_(world) == 1
    assert chat_of(world, FIRST) is ChatStatus.ENDED


def test_chats_ended_idle_tell_the_queue_its_new_places_once(world: World) -> None:
    queue(world, FIRST)
    queue(world, SECOND)
    world.clock.advance(minutes=10)
    queue(world, THIRD)
    world.clock.advance(minutes=5)  # the first two are idle, the third is not
    pass_(world)
    assert told(world) == [(str(THIRD), 1)]  # not 2 and then 1
    assert chat_of(world, THIRD) is ChatStatus.WAITING


def test_chat_out_of_hours_names_the_next_english_window(world: World) -> None:
    world.clock.current = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # Monday, after hours
    say(world, FIRST, "/chat")
    [sent] = world.take()
    assert sent.kind == "tg_chat_closed"
    data = world.reply(sent).data
    assert (data["window_start"], data["window_end"]) == (
        datetime(2026, 12, 8, 6, 0, tzinfo=UTC), datetime(2026, 12, 8, 13, 0, tzinfo=UTC))
    assert world.uow.forms.get(FIRST) is None  # no form started
