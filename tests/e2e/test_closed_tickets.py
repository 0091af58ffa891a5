"""CONTRACT §10 "Closed tickets" by email: thanks is kept and nothing else happens; a reply
within `policy.reopen_days` reopens; after it, a new ticket follows the old one."""

from __future__ import annotations

import pytest

from store import inbox
from tests.e2e.test_satisfaction import AGENT, ANNA, TITLE, closed_by_an_agent, show
from tests.support.gateway_process import Gateway
from tests.support.outcomes import kinds_to, wait_for_outcomes


def test_thanks_is_kept_without_an_answer_or_a_reopening(gateway: Gateway) -> None:
    closing = closed_by_an_agent(gateway)
    gateway.send(ANNA, "Re: " + closing["Subject"],
                 "Bedankt! 🙏\n\nOp ma 7 dec. 2026 om 10:00 schreef IT Support <support@example.org>:"
                 "\n> Opgelost in de nieuwe versie.",
                 to=closing["Reply-To"])
    wait_for_outcomes(gateway.engine, log=gateway.log)
    assert kinds_to(gateway.engine, ANNA) == ["ticket_opened", "ticket_closed"]
    assert kinds_to(gateway.engine, AGENT) == ["agent_new_ticket"]
    ticket = show(gateway, "TI-1")
    assert ticket["status"] == "closed"
    assert ticket["messages"][-1]["text"] == "Bedankt! 🙏"
    assert ticket["messages"][-1]["author_kind"] == "member"
    assert "done" in {row.status for row in inbox.rows(gateway.engine) if row.reason == "thanks"}


def test_a_reply_within_reopen_days_reopens(gateway: Gateway) -> None:
    closing = closed_by_an_agent(gateway)
    gateway.send(ANNA, "Re: " + closing["Subject"], "Het probleem is terug.",
                 to=closing["Reply-To"])
    assert "heropend" in gateway.mail_to(ANNA).get_content()
    assert "Het probleem is terug." in gateway.mail_to(AGENT).get_content()
    assert show(gateway, "TI-1")["status"] == "open"


@pytest.mark.settings(GATEWAY_POLICY__REOPEN_DAYS="0")
def test_a_reply_after_reopen_days_opens_a_ticket_that_follows(gateway: Gateway) -> None:
    closing = closed_by_an_agent(gateway)
    gateway.send(ANNA, "Re: " + closing["Subject"], "Thanks!", to=closing["Reply-To"])
    gateway.send(ANNA, "Re: " + closing["Subject"], "Het probleem is terug sinds vanochtend.",
                 to=closing["Reply-To"], Message_ID="<again@example.net>")
    ack = gateway.mail_to(ANNA)
    assert ack["Subject"] == f"[TI-2] {TITLE}"
    assert ack["In-Reply-To"] == "<again@example.net>"
    body = " ".join(ack.get_content().split())
    assert "TI-2" in body and "vervolg op TI-1" in body  # names the new reference, in Dutch
    notice = gateway.mail_to(AGENT)
    assert notice["Subject"] == f"[TI-2] {TITLE}"
    assert "It follows TI-1" in notice.get_content()
    assert "Het probleem is terug sinds vanochtend." in notice.get_content()

    new, old = show(gateway, "TI-2"), show(gateway, "TI-1")
    assert (new["follows"], new["title"], new["language"], new["status"]) == (
        "TI-1", TITLE, "nl", "open")
    assert new["messages"][0]["text"] == "Het probleem is terug sinds vanochtend."
    assert (old["status"], old["follows"]) == ("closed", None)
    assert old["messages"][-1]["text"] == "Thanks!"  # the thanks stayed on the old ticket
