"""The email desk end to end: a member, an agent and a stranger talk to the running gateway."""

from __future__ import annotations

import json
import signal
import smtplib
import subprocess
import sys

import pytest

from tests.support.gateway_process import Gateway

ANNA, AGENT = "anna@example.net", "agent.nl@example.org"


def tickets(gw: Gateway) -> list[dict[str, str]]:
    listed = subprocess.run([sys.executable, "-m", "adapters", "tickets", "list", "--json"],
                            env=gw.env, capture_output=True, text=True, check=True)
    return list(json.loads(listed.stdout))


def test_a_ticket_lives_through_feedback_and_closing(gateway: Gateway) -> None:
    gateway.send(ANNA, "Nederlands - Kan bestelling niet verwerken",
                 "Hallo, de knop om mijn bestelling af te ronden doet niets.",
                 Message_ID="<first@example.net>")

    ack = gateway.mail_to(ANNA)
    assert ack["Subject"] == "[TI-1] Nederlands - Kan bestelling niet verwerken"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<first@example.net>"
    assert ack["Reply-To"].startswith("support+m1.")
    body = ack.get_content()
    assert "TI-1" in body and "accountmanager" in body  # reference and the scope notice
    notice = gateway.mail_to(AGENT)
    assert "Anna de Vries" in notice.get_content() and "1001" in notice.get_content()

    gateway.send(AGENT, "Re: " + notice["Subject"], "/feedback\nWelke browser gebruik je?",
                 to=notice["Reply-To"])
    question = gateway.mail_to(ANNA)
    assert "Welke browser gebruik je?" in question.get_content()
    assert "Auto-Submitted" not in question  # a person's words, not an automatic reply
    assert tickets(gateway)[0]["status"] == "awaiting_feedback"

    gateway.send(ANNA, "Re: " + question["Subject"],
                 "Ik gebruik Firefox.\n\nOp maandag schreef IT Support:\n> Welke browser?",
                 to=question["Reply-To"], In_Reply_To=question["Message-ID"])
    forwarded = gateway.mail_to(AGENT)
    assert "Ik gebruik Firefox." in forwarded.get_content()
    assert "> Welke browser?" not in forwarded.get_content()
    assert tickets(gateway)[0]["status"] == "open"
    assert gateway.mail_to(ANNA)["Subject"] == ack["Subject"]  # the addition is acknowledged

    gateway.send(AGENT, "Re: x", "/close\nOpgelost in de nieuwe versie.", to=forwarded["Reply-To"])
    closed = gateway.mail_to(ANNA)
    assert "Opgelost in de nieuwe versie." in closed.get_content()
    [ticket] = tickets(gateway)
    assert ticket["status"] == "closed" and ticket["closed_at"]


def test_strangers_and_low_ranks_are_told_what_to_do(gateway: Gateway) -> None:
    gateway.send("stranger@example.com", "English - Printer broken", "My printer is broken.")
    refusal = gateway.mail_to("stranger@example.com")
    assert refusal["Auto-Submitted"] == "auto-replied"
    gateway.send("bo@example.net", "Dansk - Kan ikke logge ind", "Jeg kan ikke logge ind.")
    rank = gateway.mail_to("bo@example.net")
    assert "Silver" in rank.get_content()
    gateway.send(ANNA, "Kan bestelling niet verwerken", "De knop doet niets meer sinds gisteren.")
    title = gateway.mail_to(ANNA)
    assert "Nederlands - Kan bestelling niet verwerken" in title.get_content()  # the example
    assert tickets(gateway) == []


def test_machines_get_no_answer(gateway: Gateway) -> None:
    gateway.send(ANNA, "Automatisch antwoord: afwezig", "Ik ben afwezig tot maandag.",
                 Auto_Submitted="auto-replied")
    gateway.send("stranger@example.com", "Newsletter", "News!", List_Id="<news.example.com>")
    gateway.no_reply_to(ANNA)
    gateway.no_reply_to("stranger@example.com")
    assert tickets(gateway) == []


def test_smtp_refuses_foreign_domains(gateway: Gateway) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as client:
        client.ehlo()
        client.mail(ANNA)
        code, _ = client.rcpt("someone@elsewhere.example")
    assert code == 550


def test_sigterm_stops_cleanly_and_work_survives_a_kill(gateway: Gateway) -> None:
    gateway.send(ANNA, "Nederlands - Eerste", "Eerste vraag over mijn bestelling.")
    gateway.mail_to(ANNA)
    assert gateway.stop(signal.SIGTERM) == 0

    gateway.start()
    gateway.stop(signal.SIGKILL)
    gateway.start()
    gateway.send(ANNA, "Nederlands - Tweede", "Tweede vraag over mijn account.")
    assert gateway.mail_to(ANNA)["Subject"] == "[TI-2] Nederlands - Tweede"
    assert [t["ref"] for t in tickets(gateway)] == ["TI-1", "TI-2"]


@pytest.mark.parametrize("subject", ["my tickets", "Re: status", "mijn tickets"])
def test_list_keywords_answer_with_the_grouped_list(gateway: Gateway, subject: str) -> None:
    gateway.send(ANNA, "Nederlands - Kan niet inloggen", "Ik kan niet inloggen op mijn account.")
    gateway.mail_to(ANNA)
    gateway.send(ANNA, subject, "")
    listing = gateway.mail_to(ANNA)
    assert "TI-1" in listing.get_content()
    assert listing["Auto-Submitted"] == "auto-replied"
