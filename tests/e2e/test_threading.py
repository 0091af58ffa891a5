"""Threading (CONTRACT §10), through the running gateway: every mail to a member about a ticket
answers the member's latest mail on it, with the thread in References; every reply to a mail
answers that mail."""

from __future__ import annotations

from email.message import EmailMessage

from tests.support.gateway_process import Gateway

ANNA, AGENT = "anna@example.net", "agent.nl@example.org"
TITLE = "Nederlands - Kan bestelling niet verwerken"
ROOT = "<ti-1.thread@example.org>"


def assert_answers(mail: EmailMessage, message_id: str) -> None:
    assert mail["In-Reply-To"] == message_id, mail["Subject"]
    references = mail["References"].split()
    assert references[0] == ROOT
    assert references[-1] == message_id


def test_every_mail_to_the_member_answers_her_latest_mail(gateway: Gateway) -> None:
    gateway.send(ANNA, TITLE, "Hallo, de knop om mijn bestelling af te ronden doet niets.",
                 Message_ID="<anna-1@example.net>")
    assert_answers(gateway.mail_to(ANNA), "<anna-1@example.net>")  # the acknowledgement
    note = gateway.mail_to(AGENT)

    gateway.send(AGENT, "Re: " + note["Subject"], "Welke browser gebruikt u?",
                 to=note["Reply-To"], Message_ID="<piet-1@example.org>")
    answer = gateway.mail_to(ANNA)
    assert_answers(answer, "<anna-1@example.net>")
    assert "<piet-1@example.org>" not in answer["References"]  # the agents' side is theirs

    gateway.send(AGENT, "Re: " + note["Subject"], "/feedback\nEn welke versie?",
                 to=note["Reply-To"])
    question = gateway.mail_to(ANNA)
    assert_answers(question, "<anna-1@example.net>")

    gateway.send(ANNA, "Re: " + question["Subject"], "Firefox 128.", to=question["Reply-To"],
                 Message_ID="<anna-2@example.net>", In_Reply_To=question["Message-ID"],
                 References=f"{ROOT} {question['Message-ID']}")
    assert_answers(gateway.mail_to(ANNA), "<anna-2@example.net>")  # acknowledged
    forwarded = gateway.mail_to(AGENT)

    gateway.send(AGENT, "Re: " + forwarded["Subject"], "/close\nOpgelost.",
                 to=forwarded["Reply-To"])
    closed = gateway.mail_to(ANNA)
    assert "Opgelost." in closed.get_content()
    assert_answers(closed, "<anna-2@example.net>")


def test_refusals_answer_the_mail_they_refuse(gateway: Gateway) -> None:
    gateway.send("stranger@example.com", "English - Printer broken", "My printer is broken.",
                 Message_ID="<stranger-1@example.com>")
    assert gateway.mail_to("stranger@example.com")["In-Reply-To"] == "<stranger-1@example.com>"
    gateway.send(ANNA, "Kan bestelling niet verwerken", "De knop doet niets meer.",
                 Message_ID="<anna-untitled@example.net>")
    assert gateway.mail_to(ANNA)["In-Reply-To"] == "<anna-untitled@example.net>"
    gateway.send(ANNA, "Re: [TI-42] Oud", "Is dit al opgelost?",
                 Message_ID="<anna-missing@example.net>")
    assert gateway.mail_to(ANNA)["In-Reply-To"] == "<anna-missing@example.net>"
