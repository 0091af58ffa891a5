"""A program dressed as a picture, sent to the running gateway: left out, and the member is told."""

from __future__ import annotations

import smtplib
from pathlib import Path

from tests.support.gateway_process import SUPPORT, Gateway

FIXTURES = Path(__file__).parent.parent / "fixtures"
ANNA, AGENT = "anna@example.net", "agent.nl@example.org"


def exe_named_png() -> bytes:
    raw = (FIXTURES / "attachment_exe_named_png.eml").read_bytes().replace(b"\r\n", b"\n")
    raw = raw.replace(b"anna@member.example", ANNA.encode())
    raw = raw.replace(b"English - Screenshot", b"Nederlands - Schermafdruk")
    return raw.replace(b"\n", b"\r\n")  # SMTP lines end in CRLF


def test_the_member_is_told_the_program_named_photo_png_was_left_out(gateway: Gateway) -> None:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as client:
        client.sendmail(ANNA, [SUPPORT], exe_named_png())
    ack = gateway.mail_to(ANNA)
    assert ack["Subject"] == "[TI-1] Nederlands - Schermafdruk"
    assert "niet accepteren: photo.png" in ack.get_content()
    notice = gateway.mail_to(AGENT)
    assert list(notice.iter_attachments()) == []
    assert "photo.png" in notice.get_content()  # listed as refused, not attached
