"""Telegram messages through gateway.service.handle_inbound: every rule applies to the bot too."""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import timedelta
from typing import Any

import pytest

from gateway.live_chat import flush_overdue
from gateway.messages import BotInput, Channel, InboundMessage, UpdateKind
from gateway.outgoing import Outgoing
from gateway.people import Member
from gateway.replies import Kind, Reply
from gateway.service import Outcome

from .fakes import ALICE, BOB, ERIC, World, attachment

USER = 5001  # Alice's Telegram account once linked
STRANGER = 7007
_ids = itertools.count(1)


def message(world: World, user: int, text: str = "", **bot: Any) -> InboundMessage:
    word, _, args = text.partition(" ")
    command = word[1:].lower() if word.startswith("/") else ""
    fields: dict[str, Any] = {"chat_id": user, "command": command,
                              "args": args.strip() if command else ""}
    fields.update(bot)
    msg_fields = {k: fields.pop(k) for k in ("attachments", "rejected_attachments", "references")
                  if k in fields}
    return InboundMessage(channel=Channel.TELEGRAM, external_id=f"tg:{next(_ids)}",
                          sender=str(user), subject="", text=text, full_text=text,
                          received_at=world.clock.now(), bot=BotInput(**fields), **msg_fields)


def say(world: World, user: int, text: str = "", **bot: Any) -> Outcome:
    return world.handle(message(world, user, text, **bot))


def answers(world: World, user: int) -> list[str]:
    """The kinds of the new Telegram messages to `user`, in order."""
    return [m.kind for m in world.take() if m.recipient == str(user)]


@pytest.fixture
def linked(world: World) -> World:
    world.uow.members.add(dataclasses.replace(ALICE, telegram_user_id=USER))
    return world


def test_anyone_may_ask_for_help_and_hours(world: World) -> None:
    assert say(world, STRANGER, "/help").accepted
    assert say(world, STRANGER, "/hours").accepted
    assert answers(world, STRANGER) == ["tg_help", "tg_hours"]


@pytest.mark.parametrize("text", ["/tickets", "/new", "/ticket TI-1", "/close TI-1",
                                  "hello", "/nonsense"])
def test_only_linked_members_act_on_tickets(world: World, text: str) -> None:
    outcome = say(world, STRANGER, text, locale="nl-NL")
    assert (outcome.accepted, outcome.rule, outcome.reason) == (False, "known-sender", "not-linked")
    [sent] = world.take()
    assert (sent.recipient, sent.kind) == (str(STRANGER), "tg_not_linked")
    assert world.reply(sent).language == "nl"  # the client's language, known to the desk


def test_a_flood_of_commands_meets_the_message_cap(world: World) -> None:
    outcomes = [say(world, STRANGER, "/help") for _ in range(25)]
    assert [o.accepted for o in outcomes] == [True] * 20 + [False] * 5
    assert {o.reason for o in outcomes[20:]} == {"rate-limited"}
    assert answers(world, STRANGER) == ["tg_help"] * 20


def test_bot_answers_meet_the_answer_cap_per_chat(world: World) -> None:
    out = Outgoing(world.uow, world.desk, world.clock.now())
    for _ in range(world.desk.max_messages_per_hour + 5):
        out.to_chat(STRANGER, Reply(Kind.TG_HELP, "en"))
    assert len(world.take()) == world.desk.max_messages_per_hour
    world.clock.advance(hours=1)
    Outgoing(world.uow, world.desk, world.clock.now()).to_chat(STRANGER, Reply(Kind.TG_HELP, "en"))
    assert len(world.take()) == 1


def test_linking_by_a_mailed_code(world: World) -> None:
    say(world, USER, "/link")
    assert answers(world, USER) == ["tg_link_ask"]
    say(world, USER, ALICE.email.upper())
    sent = world.take()
    assert [(m.recipient, m.kind) for m in sent] == [
        (ALICE.email, "link_code"), (str(USER), "tg_link_sent")]
    code = world.reply(sent[0]).data["code"]
    assert re.fullmatch(r"\d{6}", code)
    say(world, USER, f" {code[:3]} {code[3:]} ")
    assert [(m.recipient, m.kind) for m in world.take()] == [
        (str(USER), "tg_linked"), (ALICE.email, "telegram_linked")]
    assert world.uow.members.by_telegram(USER) == dataclasses.replace(ALICE, telegram_user_id=USER)


def test_an_unknown_identity_gets_the_same_answer_and_no_mail(world: World) -> None:
    say(world, USER, "/link")
    say(world, USER, "nobody@nowhere.example")
    assert [(m.recipient, m.kind) for m in world.take()] == [
        (str(USER), "tg_link_ask"), (str(USER), "tg_link_sent")]


def test_five_wrong_codes_end_the_attempt(world: World) -> None:
    say(world, USER, "/link")
    say(world, USER, ALICE.member_id)
    world.take()
    for _ in range(5):
        say(world, USER, "000000")
    assert answers(world, USER) == ["tg_link_wrong_code"] * 4 + ["tg_link_failed"]
    assert world.uow.members.by_telegram(USER) is None


def test_the_new_ticket_form_opens_a_ticket_through_every_rule(linked: World) -> None:
    world = linked
    say(world, USER, "/new")
    say(world, USER, "Kan bestelling niet verwerken")  # no language name: asked again
    assert answers(world, USER) == ["tg_new_title", "tg_new_title_wrong"]
    say(world, USER, "Nederlands - Kan bestelling niet verwerken")
    say(world, USER, "De kassa blijft hangen.", attachments=(attachment(),),
        rejected_attachments=("virus.exe",))
    say(world, USER, "/done")
    assert answers(world, USER) == ["tg_new_description", "tg_file_refused", "tg_new_files",
                                    "tg_new_confirm"]
    outcome = say(world, USER, "/confirm")
    assert outcome.accepted and outcome.ticket_ref == "TI-1"
    sent = world.take()
    assert [(m.recipient, m.kind) for m in sent] == [
        (str(USER), "ticket_opened"), ("anna@agents.example", "agent_new_ticket")]
    assert [a.filename for a in world.entries(1)[0].attachments] == ["screen.png"]
    assert sent[1].attachments[0].filename == "screen.png"
    assert world.uow.forms.get(USER) is None


def test_a_member_below_silver_cannot_start_the_form(world: World) -> None:
    world.uow.members.add(dataclasses.replace(BOB, telegram_user_id=USER))
    outcome = say(world, USER, "/new")
    assert (outcome.rule, outcome.reason) == ("rank", "rank-too-low")
    assert answers(world, USER) == ["refusal_rank"]
    assert world.uow.forms.get(USER) is None


def test_a_new_command_abandons_the_form(linked: World) -> None:
    say(linked, USER, "/new")
    say(linked, USER, "/help")
    say(linked, USER, "Nederlands - Kan bestelling niet verwerken")
    assert answers(linked, USER) == ["tg_new_title", "tg_help", "tg_unknown"]


def test_tickets_list_and_a_ticket_button(linked: World) -> None:
    world = linked
    world.send(ALICE.email, "Nederlands - Kan bestelling niet verwerken")
    world.take()
    say(world, USER, "/tickets")
    [listing] = world.take()
    assert listing.kind == "tg_tickets" and listing.references == ("button:t:TI-1",)
    say(world, USER, kind=UpdateKind.BUTTON, button="t:TI-1", button_id="cb-1")
    sent = world.take()
    assert [m.kind for m in sent] == [Kind.TG_CALLBACK_ANSWER, "tg_ticket"]
    assert sent[0].in_reply_to == "cb-1"
    assert world.reply(sent[1]).data["messages"][0]["text"] == "Please help."


def test_someone_elses_ticket_is_not_shown(linked: World) -> None:
    world = linked
    world.uow.members.add(Member("M009", "Zoe", "zoe@members.example", "Gold", "en"))
    world.send("zoe@members.example", "English - Order stuck")
    world.take()
    say(world, USER, "/ticket TI-1")
    [sent] = world.take()
    assert sent.kind == "tg_ticket_not_found"


def test_edits_and_groups_do_nothing(linked: World) -> None:
    edited = say(linked, USER, "changed", kind=UpdateKind.EDITED)
    group = say(linked, USER, "/tickets", private=False)
    assert (edited.reason, group.reason) == ("ignored-edited_message", "not-private")
    assert linked.take() == []


def test_a_live_chat_from_form_to_agent_and_back(world: World) -> None:
    say(world, STRANGER, "/chat")
    say(world, STRANGER, "Sam")
    say(world, STRANGER, "/skip")
    say(world, STRANGER, "not-an-address")
    say(world, STRANGER, "sam@example.com")
    assert answers(world, STRANGER) == ["tg_chat_ask"] * 3 + ["tg_chat_bad_email", "tg_chat_ask"]
    say(world, STRANGER, "My order page is broken")
    sent = world.take()
    assert [(m.recipient, m.kind) for m in sent] == [
        (ERIC.email, "agent_chat_request"), (str(STRANGER), "tg_chat_queued")]
    assert sent[0].reply_to and sent[0].reply_to.startswith("support+c")
    say(world, STRANGER, "It says error 500")  # within the batch window: stored, not mailed yet
    assert world.take() == []
    answer = world.email(ERIC.email, "Re: chat", "Try again now, please.",
                         recipients=(sent[0].reply_to,))
    assert world.handle(answer).reason == "chat-relayed"
    relayed = world.take()
    assert [(m.recipient, m.kind) for m in relayed] == [
        (ERIC.email, "agent_chat_request"), (str(STRANGER), "tg_chat_agent")]
    assert world.reply(relayed[0]).data["lines"][0]["text"] == "It says error 500"
    ending = world.email(ERIC.email, "Re: chat", "/end\nGlad it works.",
                         recipients=(sent[0].reply_to,))
    assert world.handle(ending).reason == "chat-ended"
    assert [(m.recipient, m.kind) for m in world.take()] == [
        (str(STRANGER), "tg_chat_agent"), (ERIC.email, "agent_chat_ended"),
        (str(STRANGER), "tg_chat_ended")]
    assert world.handle(ending).reason == "chat-ended"  # again: the chat is over
    assert world.take() == []


def test_a_chat_key_for_another_agent_does_nothing(world: World) -> None:
    say(world, STRANGER, "/chat")
    for text in ("Sam", "/skip", "sam@example.com", "My order page is broken"):
        say(world, STRANGER, text)
    request = next(m for m in world.take() if m.kind == "agent_chat_request")
    forged = world.email("anna@agents.example", "Re: chat", "Hello",
                         recipients=(request.reply_to,))
    outcome = world.handle(forged)
    assert (outcome.accepted, outcome.rule, outcome.reason) == (False, "telegram-chat", "chat-key")
    assert world.take() == []


def test_chat_lines_wait_for_the_batch_window(world: World) -> None:
    say(world, STRANGER, "/chat")
    for text in ("Sam", "/skip", "sam@example.com", "My order page is broken"):
        say(world, STRANGER, text)
    world.take()
    say(world, STRANGER, "one more thing")
    assert world.take() == []
    assert flush_overdue(world.uow, world.desk, world.clock.now()) == 0
    world.clock.advance(seconds=61)
    assert flush_overdue(world.uow, world.desk, world.clock.now()) == 1
    [mail] = world.take()
    assert (mail.kind, mail.recipient) == ("agent_chat_request", ERIC.email)
    assert world.reply(mail).data["lines"] == [
        {"at": (world.clock.now() - timedelta(seconds=61)).strftime("%H:%M:%S"),
         "text": "one more thing"}]


def test_the_answer_language_is_the_members_then_the_clients_then_english(world: World) -> None:
    desk = world.desk
    assert desk.language_for(ALICE, "fr") == "nl"
    assert desk.language_for(None, "fr-CA") == "fr"
    assert desk.language_for(None, "ja") == "en"
