"""Replies collected on a local SMTP relay, as the desk is checked from outside."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from tests.support.gateway_process import SUPPORT, Gateway
from tests.support.smtp_sink import Sink

FIXTURES = Path(__file__).parent.parent / "fixtures"
ANNA, AGENT = "anna@example.net", "agent.nl@example.org"


def send_raw(gw: Gateway, raw: bytes, sender: str = ANNA) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=10) as client:
        client.ehlo()
        client.mail(sender)
        client.rcpt(SUPPORT)
        return client.data(raw)


def tickets(gw: Gateway) -> list[dict[str, object]]:
    out = subprocess.run([sys.executable, "-m", "adapters", "tickets", "list", "--json"],
                         env=gw.env, capture_output=True, text=True, check=True).stdout
    return list(json.loads(out))


def with_pdf(message_id: str) -> bytes:
    raw = (FIXTURES / "new_ticket_with_pdf.eml").read_bytes().replace(b"\r\n", b"\n")
    raw = raw.replace(b"anna@member.example", ANNA.encode())
    raw = raw.replace(b"English - Invoice does not open", b"Nederlands - Factuur opent niet")
    raw = raw.replace(b"<pdf1@client.example>", f"<{message_id}>".encode())
    return raw.replace(b"\n", b"\r\n")  # SMTP lines end in CRLF


def test_the_agent_gets_the_attachment_and_a_duplicate_is_one_ticket(
        relayed: Gateway, relay: Sink) -> None:
    assert send_raw(relayed, with_pdf("dup@example.net"))[0] == 250
    assert send_raw(relayed, with_pdf("dup@example.net"))[0] == 250  # a retry of the same mail
    [notice] = relay.to(AGENT)
    [pdf] = [part for part in notice.iter_attachments()]
    assert pdf.get_filename() == "invoice.pdf"
    assert pdf.get_content_type() == "application/pdf"
    [ack] = relay.to(ANNA)
    assert ack["Subject"] == "[TI-1] Nederlands - Factuur opent niet"
    assert len(tickets(relayed)) == 1


def test_a_forged_key_gives_no_rights(relayed: Gateway, relay: Sink) -> None:
    relayed.send(ANNA, "Nederlands - Kan niet inloggen", "Ik kan niet inloggen op mijn account.")
    [notice] = relay.to(AGENT)
    local, _, domain = notice["Reply-To"].partition("@")
    forged = f"{local[:-1]}{'a' if local[-1] != 'a' else 'b'}@{domain}"
    relayed.send(AGENT, "Re: x", "/close\nForged.", to=forged)
    error = relay.to(AGENT, count=2)[-1]
    assert "not acted on" in str(error["Subject"])  # the agent is told, nothing changes
    assert tickets(relayed)[0]["status"] == "open"
    assert relay.to(ANNA)[-1]["Subject"].startswith("[TI-1]")  # only the acknowledgement


def test_oversized_mail_is_refused_with_552(relayed: Gateway) -> None:
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = ANNA, SUPPORT, "Nederlands - Groot"
    big.set_content(("x" * 70 + "\n") * 4_000)
    code, _ = send_raw(relayed, big.as_bytes(policy=SMTP))
    assert code == 552
    assert tickets(relayed) == []


def test_html_only_mail_in_latin1_becomes_readable_text(relayed: Gateway, relay: Sink) -> None:
    raw = ("From: Anna <anna@example.net>\r\nTo: support@example.org\r\n"
           "Subject: =?iso-8859-1?q?Fran=E7ais_-_Probl=E8me_de_connexion?=\r\n"
           "Message-ID: <html1@example.net>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/html; charset=iso-8859-1\r\n\r\n"
           "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
           "<body><p>Je ne peux pas me connecter depuis hier. Merci d'avance.</p></body></html>\r\n"
           ).encode("latin-1")
    assert send_raw(relayed, raw)[0] == 250
    [notice] = relay.to("desk@example.org")  # no French agent: the default address
    text = notice.get_content() if not notice.is_multipart() else notice.get_body().get_content()
    assert "Je ne peux pas me connecter depuis hier." in text
    assert "alert(1)" not in text and "color:red" not in text
    [ticket] = tickets(relayed)
    assert ticket["title"] == "Français - Problème de connexion" and ticket["language"] == "fr"
