"""Agents' mail that is not acted on (CONTRACT §10), through the running gateway: it changes
nothing, reaches no member, and the agent gets one answer threaded to their mail."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from gateway.replykeys import ReplyKeys, Role, address_with_key
from store import inbox, outbox
from tests.support.gateway_process import SUPPORT, Gateway
from tests.support.outcomes import wait_for_outcomes

ANNA, AGENT, DESK = "anna@example.net", "agent.nl@example.org", "desk@example.org"
TITLE = "Nederlands - Kan bestelling niet verwerken"
COMMANDS = ("/feedback", "/close", "/open", "/note")


def ticket_status(gw: Gateway) -> str:
    listed = subprocess.run([sys.executable, "-m", "adapters", "tickets", "list", "--json"],
                            env=gw.env, capture_output=True, text=True, check=True)
    [ticket] = json.loads(listed.stdout)
    return str(ticket["status"])


def kinds_to(gw: Gateway, recipient: str) -> list[str]:
    assert gw.engine is not None
    return sorted(row.kind for row in outbox.rows(gw.engine) if row.recipient == recipient)


def last_reason(gw: Gateway) -> tuple[str, str]:
    assert gw.engine is not None
    wait_for_outcomes(gw.engine, log=gw.log)
    row = inbox.rows(gw.engine)[0]  # the newest: "rule: reason" when refused
    return row.status, row.reason


def opened(gw: Gateway, title: str = TITLE, agent: str = AGENT) -> EmailMessage:
    """Anna's ticket TI-1; returns the agents' notification."""
    gw.send(ANNA, title, "Hallo, de knop om mijn bestelling af te ronden doet niets.",
            Message_ID="<anna-1@example.net>")
    gw.mail_to(ANNA)
    return gw.mail_to(agent)


def assert_told(answer: EmailMessage, message_id: str, *words: str) -> str:
    assert answer["In-Reply-To"] == message_id
    assert answer["References"].split()[-1] == message_id
    assert answer["Auto-Submitted"] == "auto-replied"
    body = " ".join(answer.get_content().split())  # the words, however the lines break
    assert "nothing was sent to the member" in body or "nothing was sent to any member" in body
    for word in (*COMMANDS, *words):
        assert word in body, (word, body)
    return body


@pytest.mark.parametrize(("text", "reason", "sentence"), [
    ("/foo\nProbeer het opnieuw.", "tickets: unknown-command", "/foo is not a command."),
    ("/feedback", "tickets: feedback-without-question", "/feedback needs your question"),
    ("/open\nIk kijk ernaar.", "tickets: wrong-status", "Ticket TI-1 is already open."),
])
def test_a_mistake_reaches_no_member_and_the_agent_is_told_once(
        gateway: Gateway, text: str, reason: str, sentence: str) -> None:
    note = opened(gateway)
    for n in (1, 2):  # the second time within the hour: nothing more
        gateway.send(AGENT, "Re: " + note["Subject"], text, to=note["Reply-To"],
                     Message_ID=f"<piet-{n}@example.org>")
        assert last_reason(gateway) == ("refused", reason)
    answer = gateway.mail_to(AGENT)
    assert answer["Subject"] == f"[TI-1] {TITLE}"
    assert_told(answer, "<piet-1@example.org>", sentence)
    assert kinds_to(gateway, ANNA) == ["ticket_opened"]
    assert kinds_to(gateway, AGENT) == ["agent_command_error", "agent_new_ticket"]
    assert ticket_status(gateway) == "open"


def test_a_key_for_a_ticket_that_does_not_exist(gateway: Gateway) -> None:
    key = ReplyKeys("e2e-secret", (), 180).sign(7, Role.AGENT, AGENT, datetime.now(UTC))
    gateway.send(AGENT, "Re: [TI-7] Oud", "/close", to=address_with_key(SUPPORT, key),
                 Message_ID="<piet-7@example.org>")
    assert last_reason(gateway) == ("refused", "parsing: no-such-ticket")
    answer = gateway.mail_to(AGENT)
    assert answer["Subject"] == "[TI-7] Your reply was not acted on"
    assert_told(answer, "<piet-7@example.org>", "Ticket TI-7 does not exist.")


def test_an_agent_writing_without_a_key_is_told_it_reached_no_ticket(gateway: Gateway) -> None:
    opened(gateway)
    gateway.send(AGENT, "Re: [TI-1] " + TITLE, "/close\nOpgelost.",
                 Message_ID="<piet-nokey@example.org>")
    assert last_reason(gateway) == ("refused", "parsing: agent-key")
    answer = gateway.mail_to(AGENT)
    assert answer["Subject"] == f"Your mail was not acted on: [TI-1] {TITLE}"
    body = assert_told(answer, "<piet-nokey@example.org>", "It did not reach a ticket")
    assert "about ticket was" not in body  # no empty reference, as there used to be
    assert kinds_to(gateway, ANNA) == ["ticket_opened"]
    assert ticket_status(gateway) == "open"


def test_close_alone_closes_and_the_member_is_told_once(gateway: Gateway) -> None:
    note = opened(gateway)
    gateway.send(AGENT, "Re: " + note["Subject"], "/close", to=note["Reply-To"])
    closed = gateway.mail_to(ANNA)
    assert closed["Subject"] == f"[TI-1] {TITLE}"
    assert ticket_status(gateway) == "closed"
    gateway.send(AGENT, "Re: " + note["Subject"], "/close", to=note["Reply-To"],
                 Message_ID="<piet-again@example.org>")  # closed already: only Piet hears
    assert last_reason(gateway) == ("refused", "tickets: wrong-status")
    assert_told(gateway.mail_to(AGENT), "<piet-again@example.org>", "already closed")
    assert kinds_to(gateway, ANNA) == ["ticket_closed", "ticket_opened"]


def test_the_desk_mailbox_acts_as_an_agent(gateway: Gateway) -> None:
    note = opened(gateway, "English - Cannot finish my order", agent=DESK)  # no English agent
    gateway.send(DESK, "Re: " + note["Subject"], "Please try again now.", to=note["Reply-To"])
    answer = gateway.mail_to(ANNA)
    assert "Please try again now." in answer.get_content()
    assert last_reason(gateway) == ("done", "ok")
    assert kinds_to(gateway, DESK) == ["agent_new_ticket"]  # no "not registered" refusal
