from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.commands import AddMessage, ListTickets, OpenTicket
from gateway.messages import Channel, InboundMessage
from gateway.people import Member
from gateway.policy import chain, known_sender, loop_guard, rank, rate_limit, title_language
from gateway.policy.verdict import PolicyContext, Verdict
from gateway.tickets import Status, Ticket

from .fakes import ALICE, ANNA, BOB, NOW, FakeCounters, FakeDetector, make_desk

DESK = make_desk()
GOOD_TITLE = "Nederlands - Kan bestelling niet verwerken"
AUTOMATED = ["auto-submitted", "precedence", "list", "null-sender", "dsn", "mailer-daemon"]


def message(sender: str = ALICE.email, subject: str = GOOD_TITLE, text: str = "Help.",
            **fields: Any) -> InboundMessage:
    return InboundMessage(Channel.EMAIL, "<x@members.example>", sender, subject, text, NOW,
                          **fields)


def context(msg: InboundMessage | None = None, member: Member | None = ALICE,
            command: Any = None, agent: Any = None, desk: Any = DESK,
            counters: FakeCounters | None = None) -> PolicyContext:
    msg = msg or message()
    if command is None:
        command = OpenTicket(msg.subject, msg.text)
    return PolicyContext(msg, member, agent, command, desk, counters or FakeCounters(), NOW)


def existing_ticket() -> Ticket:
    return Ticket(1, GOOD_TITLE, "nl", ALICE.member_id, Channel.EMAIL, Status.OPEN, NOW)


# loop-guard

@pytest.mark.parametrize("automated", AUTOMATED)
def test_loop_guard_refuses_each_automated_kind(automated: str) -> None:
    verdict = loop_guard.check(context(message(automated=automated)))
    assert verdict == Verdict("loop-guard", automated)


@pytest.mark.parametrize("sender", ["support@example.org", "support+m1.abc.00xyz@example.org",
                                    "support+x@example.org"])
def test_loop_guard_refuses_our_own_address(sender: str) -> None:
    verdict = loop_guard.check(context(message(sender=sender), member=None))
    assert verdict == Verdict("loop-guard", "self", None)


@pytest.mark.parametrize("sender", ["alice@members.example", "support@elsewhere.example",
                                    "supporter@example.org", "12345"])
def test_loop_guard_lets_people_through(sender: str) -> None:
    assert loop_guard.check(context(message(sender=sender))) is None


# known-sender

def test_unknown_sender_gets_an_explanation_in_the_detected_language() -> None:
    msg = message(sender="stranger@else.example", subject="Ma commande",
                  text="Je ne peux pas valider ma commande")
    verdict = known_sender.check(context(msg, member=None))
    assert verdict is not None
    assert (verdict.rule, verdict.reason) == ("known-sender", "unknown-sender")
    assert verdict.reply is not None
    assert verdict.reply.kind == "refusal_unknown_sender"
    assert verdict.reply.language == "fr"
    assert verdict.reply.data["address"] == "stranger@else.example"


def test_unknown_sender_defaults_to_english() -> None:
    verdict = known_sender.check(context(message(sender="s@else.example", subject="?",
                                                 text="?"), member=None))
    assert verdict is not None and verdict.reply is not None
    assert verdict.reply.language == "en"


def test_null_unknown_sender_gets_no_reply() -> None:
    verdict = known_sender.check(context(message(sender=""), member=None))
    assert verdict == Verdict("known-sender", "unknown-sender", None)


def test_unauthenticated_sender_gets_no_reply() -> None:
    verdict = known_sender.check(context(message(authenticated=False)))
    assert verdict == Verdict("known-sender", "unauthenticated", None)


def test_members_and_agents_are_known() -> None:
    assert known_sender.check(context()) is None
    assert known_sender.check(context(message(sender=ANNA.email), member=None,
                                      agent=ANNA)) is None


# rate-limit

def test_rate_limit_beyond_max_messages_per_hour() -> None:
    desk = make_desk(max_messages_per_hour=3)
    counters = FakeCounters()
    verdicts = [rate_limit.check(context(desk=desk, counters=counters)) for _ in range(4)]
    assert verdicts[:3] == [None, None, None]
    assert verdicts[3] == Verdict("rate-limit", "rate-limited", None)


def test_rate_limit_is_per_sender_and_per_hour() -> None:
    desk = make_desk(max_messages_per_hour=1)
    counters = FakeCounters()
    assert rate_limit.check(context(desk=desk, counters=counters)) is None
    assert rate_limit.check(context(message(sender=BOB.email), member=BOB, desk=desk,
                                    counters=counters)) is None
    assert rate_limit.check(context(desk=desk, counters=counters)) is not None
    later = PolicyContext(message(), ALICE, None, None, desk, counters, NOW + timedelta(hours=1))
    assert rate_limit.check(later) is None


# rank

@pytest.mark.parametrize(("member_rank", "allowed"), [
    ("Wellness Advocate", False), ("Premier", False), ("Silver", True), ("silver ", True),
    ("Gold", True), ("Presidential Diamond", True), ("Emperor", False), ("", False)])
def test_rank(member_rank: str, allowed: bool) -> None:
    member = Member("M9", "Max", "max@members.example", member_rank, "da")
    verdict = rank.check(context(message(sender=member.email), member=member))
    if allowed:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.rule, verdict.reason) == ("rank", "rank-too-low")
        assert verdict.reply is not None
        assert verdict.reply.kind == "refusal_rank"
        assert verdict.reply.language == "da"
        assert verdict.reply.data["min_rank"] == "Silver"
        assert verdict.reply.data["rank"] == member_rank


def test_min_rank_is_configurable() -> None:
    member = Member("M9", "Max", "max@members.example", "Silver", "en")
    verdict = rank.check(context(message(sender=member.email), member=member,
                                 desk=make_desk(min_rank="Gold")))
    assert verdict is not None and verdict.reason == "rank-too-low"


@pytest.mark.parametrize("command", [ListTickets(), AddMessage(existing_ticket(), "more")])
def test_rank_applies_only_to_opening(command: Any) -> None:
    assert rank.check(context(message(sender=BOB.email), member=BOB, command=command)) is None


# title-language

def test_a_good_title_passes() -> None:
    assert title_language.check(context()) is None


def test_title_without_language_is_refused_with_an_example_in_the_detected_language() -> None:
    msg = message(subject="Impossible de valider", text="Je ne peux pas valider ma commande")
    verdict = title_language.check(context(msg))
    assert verdict is not None
    assert (verdict.rule, verdict.reason) == ("title-language", "title-language")
    assert verdict.reply is not None
    assert verdict.reply.kind == "refusal_title_language"
    assert verdict.reply.language == "fr"
    assert verdict.reply.data["example"] == "Français - Impossible de valider ma commande"
    assert verdict.reply.data["title"] == "Impossible de valider"
    assert "Nederlands" in verdict.reply.data["languages"]
    assert verdict.reply.data["member_name"] == ALICE.name  # greeted by name


def test_title_refusal_falls_back_to_the_members_language() -> None:
    verdict = title_language.check(context(message(subject="Help", text="???")))
    assert verdict is not None and verdict.reply is not None
    assert verdict.reply.language == ALICE.language
    assert verdict.reply.data["example"].startswith("Nederlands - ")


def test_title_rule_applies_only_to_opening() -> None:
    msg = message(subject="Re: whatever")
    assert title_language.check(context(msg, command=AddMessage(existing_ticket(), "x"))) is None
    assert title_language.check(context(msg, command=ListTickets())) is None


# the chain

def test_rule_order() -> None:
    assert [name for name, _ in chain.RULES] == [
        "loop-guard", "known-sender", "rate-limit", "rank", "title-language"]


def test_loop_guard_wins_over_unknown_sender() -> None:
    verdict = chain.run(context(message(sender="bounce@else.example", automated="dsn"),
                                member=None))
    assert verdict == Verdict("loop-guard", "dsn")


def test_unknown_sender_wins_over_rate_limit() -> None:
    counters = FakeCounters()
    desk = make_desk(max_messages_per_hour=0)
    verdict = chain.run(context(message(sender="s@else.example"), member=None, desk=desk,
                                counters=counters))
    assert verdict is not None and verdict.rule == "known-sender"


def test_rate_limit_wins_over_rank() -> None:
    desk = make_desk(max_messages_per_hour=0)
    verdict = chain.run(context(message(sender=BOB.email, subject="no language"), member=BOB,
                                desk=desk))
    assert verdict is not None and verdict.rule == "rate-limit"


def test_rank_wins_over_title_language() -> None:
    verdict = chain.run(context(message(sender=BOB.email, subject="no language"), member=BOB))
    assert verdict is not None and verdict.rule == "rank"


def test_title_language_last() -> None:
    verdict = chain.run(context(message(subject="no language")))
    assert verdict is not None and verdict.rule == "title-language"


def test_everything_passes() -> None:
    assert chain.run(context()) is None


def test_detector_is_consulted_for_the_refusal_language() -> None:
    desk = make_desk(detector=FakeDetector({"Hei\nApua": "fi"}))
    verdict = title_language.check(context(message(subject="Hei", text="Apua"), desk=desk))
    assert verdict is not None and verdict.reply is not None
    assert verdict.reply.language == "fi"
    assert verdict.reply.data["example"].startswith("Suomi - ")
