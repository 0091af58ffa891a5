"""Texts as people read them (CONTRACT §10), through the running gateway over SMTP: days
written as people write them, mail wrapped at 76 characters with what people wrote left as
they wrote it, and a known member greeted by name."""

from __future__ import annotations

import pytest

from gateway.people import Agent
from tests.support.gateway_process import Gateway
from tests.support.seeding import ANNA, BO, EMMA, PIET, seed

WIDTH = 76
# An agent's closing words: one long line, as mail clients send a paragraph.
CLOSING_WORDS = ("De bestelling is nu verwerkt en u hoeft verder niets te doen; de levering volgt "
                 "morgen, zoals afgesproken met uw collega.")


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("title", "agent", "days"), [
    ("Nederlands - Kan bestelling niet verwerken", PIET, "14 dagen"),
    ("English - Cannot process order", EMMA, "14 days"),
])
def test_a_closing_notice_counts_days_as_people_do_in_76_columns(
    gateway: Gateway, title: str, agent: Agent, days: str
) -> None:
    assert gateway.engine is not None
    seed(gateway.engine, EMMA)
    gateway.send(ANNA.email, title, "De knop om mijn bestelling af te ronden doet niets.")
    gateway.mail_to(ANNA.email)  # the acknowledgement
    notice = gateway.mail_to(agent.email)
    gateway.send(agent.email, "Re: " + notice["Subject"], f"/close\n{CLOSING_WORDS}",
                 to=notice["Reply-To"])

    body = gateway.mail_to(ANNA.email).get_content()
    assert days in _flat(body)  # settings hold 14.0: never "14.0 days"
    assert "14.0" not in body and "14,0" not in body
    lines = body.splitlines()
    assert CLOSING_WORDS in lines  # the agent's words as written, not wrapped
    assert [line for line in lines if len(line) > WIDTH] == [CLOSING_WORDS]


def test_known_members_are_greeted_by_name_in_refusals(gateway: Gateway) -> None:
    gateway.send(ANNA.email, "Kan bestelling niet verwerken",
                 "De knop om mijn bestelling af te ronden doet niets meer sinds gisteren.")
    title = gateway.mail_to(ANNA.email).get_content()
    assert "Nederlands - Kan bestelling niet verwerken" in title  # the title refusal
    assert "Hallo Anna de Vries," in title.splitlines()

    gateway.send(BO.email, "Dansk - Kan ikke logge ind", "Jeg kan ikke logge ind.")
    rank = gateway.mail_to(BO.email).get_content()
    assert "Hej Bo Jensen" in rank.splitlines()

    gateway.send(ANNA.email, "Re: [TI-404] Nederlands - Oude vraag", "Nog een vraag hierover.")
    not_found = gateway.mail_to(ANNA.email).get_content()
    assert "TI-404" in not_found
    assert "Hallo Anna de Vries," in not_found.splitlines()

    for body in (title, rank, not_found):
        assert max(len(line) for line in body.splitlines()) <= WIDTH
