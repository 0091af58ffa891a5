"""Hard bounces: only reports proven to be about our mail count; three suspend the address."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from gateway.messages import OutboundMessage
from gateway.replykeys import return_path

from .fakes import ALICE, ANNA, DEFAULT_AGENTS, SECRET, SUPPORT, World, reply_keys

TITLE = "Nederlands - Kan bestelling niet verwerken"


def report(world: World, failed: tuple[str, ...], *, to: tuple[str, ...] = (SUPPORT,),
           quoting: tuple[str, ...] = ()) -> None:
    """A delivery report, unauthenticated, from a mailer daemon; refused like every report."""
    outcome = world.send("mailer-daemon@mx.example", "Undelivered Mail Returned to Sender",
                         "failed", automated="dsn", authenticated=False, bounced=failed,
                         report_to=to, reported_message_ids=quoting)
    assert not outcome.accepted and outcome.rule == "loop-guard"


def verp(world: World, mail: OutboundMessage) -> str:
    """The return path the worker sends `mail` with."""
    return return_path(SUPPORT, world.desk.keys.bounce_token(world.uow.outbox.id_of(mail)))


def open_ticket(world: World, n: int) -> tuple[OutboundMessage, OutboundMessage]:
    """Alice opens a ticket: (her acknowledgement, Anna's notification)."""
    world.send(ALICE.email, f"{TITLE} {n}", "De bestelling blijft hangen.")
    sent = {m.recipient: m for m in world.take()}
    return sent[ALICE.email], sent[ANNA.email]


def recipients_of_next_ticket(world: World) -> list[str]:
    world.send(ALICE.email, f"{TITLE} next", "Nog een probleem.")
    return [m.recipient for m in world.take()]


def test_forged_reports_suspend_nobody() -> None:
    world = World()
    ack, _ = open_ticket(world, 1)
    token = world.desk.keys.bounce_token(world.uow.outbox.id_of(ack))
    tampered = return_path(SUPPORT, token[:-4] + ("bbbb" if token.endswith("aaaa") else "aaaa"))
    for evidence in ({}, {"quoting": ("made-up@mx.example",)}, {"to": (tampered,)},
                     {"to": ("support+b-1.zz" + "a" * 16 + "@example.org",)}):
        for _ in range(3):
            report(world, (ALICE.email, ANNA.email, DEFAULT_AGENTS), **evidence)
    assert recipients_of_next_ticket(world) == [ALICE.email, ANNA.email]


def test_three_reports_to_the_return_paths_of_real_mail_suspend_the_member() -> None:
    world = World()
    acks = [open_ticket(world, n)[0] for n in range(3)]
    for ack in acks[:2]:  # naming Anna too: the mail was Alice's, so only she counts
        report(world, (ALICE.email, ANNA.email), to=(verp(world, ack),))
    assert ALICE.email in recipients_of_next_ticket(world)  # two bounces: still mailed
    report(world, (ALICE.email, ANNA.email), to=(verp(world, acks[2]),))
    assert recipients_of_next_ticket(world) == [ANNA.email]  # the agents still hear of it
    assert world.uow.tickets.all()[-1].ref == "TI-5"  # the ticket work goes on


def test_the_same_mail_reported_three_times_counts_once() -> None:
    world = World()
    ack, _ = open_ticket(world, 1)
    for _ in range(3):
        report(world, (ALICE.email,), to=(verp(world, ack),))
    assert ALICE.email in recipients_of_next_ticket(world)


def test_a_return_path_counts_only_for_the_recipient_of_its_mail() -> None:
    world = World()
    notes = [open_ticket(world, n)[1] for n in range(3)]
    for note in notes:  # Anna's mail, but the report names Alice
        report(world, (ALICE.email,), to=(verp(world, note),))
    assert ALICE.email in recipients_of_next_ticket(world)


def test_a_report_quoting_a_real_message_id_counts_for_that_recipient_only() -> None:
    world = World()
    for n in range(3):
        ack, note = open_ticket(world, n)
        # Quoting both mails' ids; only Alice's ack was to a failed address that matches.
        report(world, (ALICE.email, "mallory@else.example"), quoting=(ack.message_id,))
        report(world, (ALICE.email,), quoting=(note.message_id,))
    assert recipients_of_next_ticket(world) == [ANNA.email]


def test_a_return_path_signed_with_an_old_secret_still_counts() -> None:
    world = World()
    acks = [open_ticket(world, n)[0] for n in range(3)]
    world.desk = dataclasses.replace(world.desk, keys=reply_keys("new-secret", (SECRET,)))
    old = reply_keys(SECRET)
    for ack in acks:
        report(world, (ALICE.email, ANNA.email),
               to=(return_path(SUPPORT, old.bounce_token(world.uow.outbox.id_of(ack))),))
    assert recipients_of_next_ticket(world) == [ANNA.email]


def test_a_suspended_agent_is_alerted_and_the_default_address_told_instead(
        caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    notes = [open_ticket(world, n)[1] for n in range(3)]
    with caplog.at_level(logging.INFO):
        for note in notes:
            report(world, (ANNA.email,), to=(verp(world, note),))
    alerts = [r for r in caplog.records if r.getMessage() == "ALERT agent address suspended"]
    assert len(alerts) == 1 and alerts[0].levelno == logging.ERROR
    assert ANNA.email not in caplog.text and "example" in str(vars(alerts[0])["address"])
    assert recipients_of_next_ticket(world) == [ALICE.email, DEFAULT_AGENTS]


def test_a_member_reaching_the_threshold_raises_no_alert(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    acks = [open_ticket(world, n)[0] for n in range(3)]
    with caplog.at_level(logging.INFO):
        for ack in acks:
            report(world, (ALICE.email,), to=(verp(world, ack),))
    assert "ALERT" not in caplog.text
    assert "hard bounce counted" in caplog.text

