"""CONTRACT §10 "Satisfaction" by email: the closing notice asks for a rating in the member's
language, a reply with the number records it without reopening, thanked once; the agents are
told; `tickets show --json` shows it."""

from __future__ import annotations

import json
import subprocess
import sys
from email.message import EmailMessage
from typing import Any

from store import inbox
from tests.support.gateway_process import Gateway
from tests.support.outcomes import kinds_to, wait_for_outcomes

ANNA, AGENT = "anna@example.net", "agent.nl@example.org"
TITLE = "Nederlands - Kan bestelling niet verwerken"


def show(gw: Gateway, ref: str) -> dict[str, Any]:
    shown = subprocess.run([sys.executable, "-m", "adapters", "tickets", "show", ref, "--json"],
                           env=gw.env, capture_output=True, text=True, check=True)
    return dict(json.loads(shown.stdout))


def closed_by_an_agent(gw: Gateway) -> EmailMessage:
    """Anna's ticket TI-1, closed by the agent: the closing notice Anna gets."""
    gw.send(ANNA, TITLE, "De knop om mijn bestelling af te ronden doet niets.")
    gw.mail_to(ANNA)
    notice = gw.mail_to(AGENT)
    gw.send(AGENT, "Re: " + notice["Subject"], "/close\nOpgelost in de nieuwe versie.",
            to=notice["Reply-To"])
    return gw.mail_to(ANNA)


def test_a_rating_by_email_is_recorded_thanked_once_and_told(gateway: Gateway) -> None:
    closing = closed_by_an_agent(gateway)
    body = closing.get_content()
    assert "cijfer van 1 (slecht) tot 5 (uitstekend)" in " ".join(body.split())  # in Dutch
    assert show(gateway, "TI-1")["satisfaction"] is None

    gateway.send(ANNA, "Re: " + closing["Subject"], "5 - snel geholpen\n\nAnna",
                 to=closing["Reply-To"], Message_ID="<rating@example.net>")
    thanks = gateway.mail_to(ANNA)
    assert thanks["Subject"] == f"[TI-1] {TITLE}"
    assert thanks["In-Reply-To"] == "<rating@example.net>"
    assert "5 van de 5" in " ".join(thanks.get_content().split())
    told = gateway.mail_to(AGENT)
    assert "rated the help on ticket TI-1: 5 out of 5" in " ".join(told.get_content().split())
    assert "snel geholpen" in told.get_content()
    ticket = show(gateway, "TI-1")
    assert ticket["status"] == "closed"
    assert ticket["satisfaction"]["score"] == 5
    assert ticket["satisfaction"]["comment"] == "snel geholpen\n\nAnna"
    assert ticket["satisfaction"]["at"].endswith("Z")

    gateway.send(ANNA, "Re: " + closing["Subject"], "4/5", to=closing["Reply-To"])
    assert "4 out of 5" in " ".join(gateway.mail_to(AGENT).get_content().split())
    wait_for_outcomes(gateway.engine, log=gateway.log)
    assert kinds_to(gateway.engine, ANNA) == ["ticket_opened", "ticket_closed", "rating_thanks"]
    ticket = show(gateway, "TI-1")
    assert (ticket["status"], ticket["satisfaction"]["score"]) == ("closed", 4)
    assert ticket["satisfaction"]["comment"] == ""
    assert [row.reason for row in inbox.rows(gateway.engine)].count("rated") == 2


def test_a_number_that_is_not_a_rating_reopens(gateway: Gateway) -> None:
    closing = closed_by_an_agent(gateway)
    gateway.send(ANNA, "Re: " + closing["Subject"], "50 bestellingen zijn weer mislukt.",
                 to=closing["Reply-To"])
    assert "heropend" in gateway.mail_to(ANNA).get_content()
    ticket = show(gateway, "TI-1")
    assert (ticket["status"], ticket["satisfaction"]) == ("open", None)
