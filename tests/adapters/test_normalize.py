"""Behaviour of `parse_email` on our own fixtures and on hostile input."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.email.normalize import Limits, UnreadableMessage, parse_email
from gateway.messages import Channel, InboundMessage
from tests.support.defaults import default_limits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WHEN = datetime(2024, 3, 4, 10, 0, tzinfo=UTC)


def load(name: str, **kwargs: Any) -> InboundMessage:
    return parse((FIXTURES / name).read_bytes(), **kwargs)


def parse(raw: bytes, limits: Limits | None = None, **kwargs: Any) -> InboundMessage:
    return parse_email(raw, received_at=WHEN, limits=limits or default_limits(), **kwargs)


def test_new_ticket_with_pdf() -> None:
    msg = load("new_ticket_with_pdf.eml")
    assert msg.channel is Channel.EMAIL
    assert msg.external_id == "pdf1@client.example"
    assert msg.sender == "anna@member.example"
    assert msg.sender_name == "Anna Smith"
    assert msg.subject == "English - Invoice does not open"
    assert msg.text == "The attached invoice does not open."
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("invoice.pdf", "application/pdf")
    ]
    assert msg.attachments[0].data.startswith(b"%PDF")
    assert msg.automated is None
    assert msg.received_at == WHEN
    assert msg.authenticated is True


@pytest.mark.parametrize(
    ("fixture", "visible"),
    [
        ("reply_gmail_nl.eml", "De printer werkt nu weer, dank u."),
        ("reply_outlook_fr.eml", "L’écran fonctionne de nouveau."),
        ("reply_thunderbird_cs.eml", "Už to funguje, děkuji."),
        ("reply_apple_fi.eml", "Nyt toimii, kiitos."),
        ("reply_gmail_da.eml", "Det virker nu."),
    ],
)
def test_replies_are_stripped_of_quotes(fixture: str, visible: str) -> None:
    msg = load(fixture)
    assert msg.text == visible
    assert len(msg.full_text) > len(msg.text)


def test_reply_threading_headers() -> None:
    msg = load("reply_gmail_nl.eml")
    assert msg.references == ("out-12@example.org",)
    assert msg.recipients == ("support@example.org",)


def test_html_only_becomes_text_without_script() -> None:
    msg = load("html_only.eml")
    assert "My laptop will not start." in msg.full_text
    assert "Please help." in msg.full_text
    assert "alert" not in msg.full_text
    assert "color" not in msg.full_text


def test_latin1_bytes_under_utf8_label() -> None:
    assert load("latin1_body_utf8_label.eml").full_text == "Grüße aus München"


def test_attachment_names_are_sanitized_and_zip_refused() -> None:
    msg = load("attachment_path_traversal.eml")
    names = [a.filename for a in msg.attachments]
    assert names == ["passwd.png", "boot.ini.pdf"]
    assert msg.rejected_attachments == ("hidden.zip",)
    for name in names:
        assert not set(name) & {"/", "\\", "\x00"}
        assert not name.startswith(".")


def test_subject_injection_and_bidi_removed() -> None:
    msg = load("subject_header_injection.eml")
    assert not set(msg.subject) & {"\r", "\n"}
    assert "\u202e" not in msg.subject
    assert msg.subject == "English - x Bcc: a@evil.example evil"


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("dsn_failed.eml", "null-sender"),
        ("vacation_autoreply.eml", "auto-submitted"),
        ("list_mail.eml", "list"),
    ],
)
def test_automated_mail_is_flagged(fixture: str, reason: str) -> None:
    assert load(fixture).automated == reason


def test_dsn_from_a_normal_address_is_dsn() -> None:
    raw = (
        (FIXTURES / "dsn_failed.eml")
        .read_bytes()
        .replace(b"<mailer-daemon@mx.example>", b"<reports@mx.example>")
    )
    assert parse(raw).automated == "dsn"


def test_own_address_is_self() -> None:
    msg = load("new_ticket_with_pdf.eml", own_addresses=frozenset({"anna@member.example"}))
    assert msg.automated == "self"
    raw = b"From: a@b.example\nX-Loop: support@example.org\nSubject: x\n\nbody\n"
    assert parse(raw, own_addresses=frozenset({"support@example.org"})).automated == "self"


def test_outlook_suppress_list_is_not_automated() -> None:
    raw = b"From: a@b.example\nX-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\n\nhi\n"
    assert parse(raw).automated is None
    raw = b"From: a@b.example\nX-Auto-Response-Suppress: All\n\nhi\n"
    assert parse(raw).automated == "autoreply"


def test_spoofed_display_name_gives_real_address() -> None:
    msg = load("spoofed_display_name.eml")
    assert msg.sender == "x@evil.example"


@pytest.mark.parametrize(
    "from_value",
    [
        b"a@evil@silver.example",
        b"alice@example.org)<bob@example.org>",
        b"a@x.example, b@y.example",
        b"=?utf-8?q?x=00?= a@b.example\x00",
        b"undisclosed-recipients:;",
        b'"a@b.example" <c@d.example> <e@f.example>',
    ],
)
def test_ambiguous_from_is_unknown(from_value: bytes) -> None:
    assert parse(b"From: " + from_value + b"\nSubject: x\n\nbody\n").sender == ""


def test_encoded_display_name_is_not_the_address() -> None:
    msg = parse(b"From: =?utf-8?q?vip@silver.example?= <x@evil.example>\n\nbody\n")
    assert msg.sender == "x@evil.example"
    assert msg.sender_name == "vip@silver.example"


def test_missing_message_id_uses_hash() -> None:
    msg = parse(b"From: a@b.example\nMessage-ID: garbage here\n\nbody\n")
    assert msg.external_id.startswith("sha256:")
    assert len(msg.external_id) == 71


def test_unknown_charset_and_recipients() -> None:
    raw = (
        b"From: a@b.example\nTo: Support <support+KEY1@example.org>, x@y.example\n"
        b'Cc: "Z" <z@y.example>\nDelivered-To: support@example.org\n'
        b"Subject: =?x-bogus?q?caf=E9?=\nContent-Type: text/plain; charset=x-unknown\n\n"
        b"caf\xe9 \xff\n"
    )
    msg = parse(raw, envelope_recipients=("Support@Example.org", "extra@example.org"))
    assert msg.recipients == (
        "support+key1@example.org",
        "x@y.example",
        "z@y.example",
        "support@example.org",
        "extra@example.org",
    )
    assert msg.full_text.startswith("café")
    assert msg.subject.startswith("caf")


def test_text_is_capped() -> None:
    raw = b"From: a@b.example\n\n" + b"word " * 100_000
    msg = parse(raw, limits=replace(default_limits(), max_text_chars=1000))
    assert len(msg.full_text) <= 1000


def test_oversized_attachment_is_refused() -> None:
    msg = load("new_ticket_with_pdf.eml", limits=replace(default_limits(), max_attachment_bytes=4))
    assert msg.attachments == ()
    assert msg.rejected_attachments == ("invoice.pdf",)


def _timed(raw: bytes) -> float:
    limits = default_limits()  # read before the clock starts: only parsing is timed
    start = time.process_time()
    with contextlib.suppress(UnreadableMessage):
        parse(raw, limits)
    return time.process_time() - start


def _nested(levels: int) -> bytes:
    head = b"From: a@b.example\nContent-Type: multipart/mixed; boundary=b0\n\n"
    body = b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
        for i in range(levels)
    )
    body += b"--b%d\nContent-Type: text/plain\n\nhi\n" % levels
    body += b"".join(b"--b%d--\n" % i for i in range(levels, -1, -1))
    return head + body


def test_deep_multipart_is_unreadable_not_recursion() -> None:
    with pytest.raises(UnreadableMessage):
        parse(_nested(1000))
    assert _timed(_nested(1000)) < 1.0
    assert parse(_nested(5)).full_text == "hi"


def test_many_parts_is_unreadable_and_fast() -> None:
    raw = (
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=zz\n\n"
        + b"".join(b"--zz\nContent-Type: text/plain\n\npart %d\n" % i for i in range(10_000))
        + b"--zz--\n"
    )
    with pytest.raises(UnreadableMessage):
        parse(raw)
    assert _timed(raw) < 1.0


def test_rfc822_chain_is_unreadable() -> None:
    raw = b"Subject: inner\n\nhi"
    for _ in range(50):
        raw = b"From: a@b.example\nContent-Type: message/rfc822\n\n" + raw
    with pytest.raises(UnreadableMessage):
        parse(raw)


def test_huge_header_is_unreadable() -> None:
    raw = b"From: a@b.example\nX-Big: " + b"a" * 200_000 + b"\n\nbody"
    with pytest.raises(UnreadableMessage):
        parse(raw)


@pytest.mark.parametrize("name", [b"From", b"To", b"Subject", b"Content-Type", b"References"])
def test_parentheses_bomb_is_fast(name: bytes) -> None:
    raw = b"Message-ID: <bomb@b.example>\n" + name + b": " + b"(" * 99_000 + b"\n\nbody\n"
    assert _timed(raw) < 1.0
    parse(raw)  # no exception


def test_thousands_of_encoded_words_are_fast() -> None:
    raw = b"From: a@b.example\nSubject: " + b" ".join([b"=?utf-8?q?a?="] * 5000) + b"\n\nx"
    assert _timed(raw) < 1.0
    assert len(parse(raw).subject) <= 300


def test_garbage_never_raises_other_errors() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Content-Type: multipart/mixed\n\n--\n", b":::\n\n"):
        msg = parse(raw)
        assert msg.external_id.startswith("sha256:")


def test_a_delivery_report_names_the_hard_bounced_recipient() -> None:
    msg = load("dsn_failed.eml")
    assert msg.automated is not None
    assert msg.bounced == ("nobody@member.example",)


def test_a_person_bounces_nobody() -> None:
    msg = load("new_ticket_with_pdf.eml")
    assert msg.bounced == ()


def test_a_huge_header_inside_a_part_is_read_in_bounded_time() -> None:
    # Found by bench/fuzz_normalize.py: 380 KB of Content-Type in a part took 12 s to parse.
    raw = (b"From: anna@member.example\r\nMessage-ID: <big@x>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
           b"Content-Type: text/plain; cha" + b">" * 400_000 + b"\r\n\r\nHello\r\n--b--\r\n")
    limits = default_limits()
    started = time.process_time()
    msg = parse(raw, limits)
    assert time.process_time() - started < 1.0
    assert msg.sender == "anna@member.example"


@pytest.mark.parametrize(("fixture", "refused"), [
    ("attachment_html_declared_png.eml", "invoice.html"),
    ("attachment_exe_named_png.eml", "photo.png"),
    ("attachment_svg_with_script.eml", "logo.svg"),
    ("attachment_exe_as_text_plain.eml", "setup.exe"),
    ("attachment_pdf_exe_double_extension.eml", "statement.pdf.exe"),
])
def test_an_attachment_whose_bytes_belie_its_type_is_left_out(fixture: str, refused: str) -> None:
    msg = load(fixture)
    assert msg.rejected_attachments == (refused,)
    assert msg.attachments == ()
    assert msg.text == "See the attached file."


def test_tiny_valid_files_are_kept_under_their_sniffed_type() -> None:
    msg = load("attachment_tiny_files_kept.eml")
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("dot.png", "image/png"), ("page.pdf", "application/pdf"), ("python.jpg", "image/jpeg"),
        ("screenshot.png", "image/png"), ("error.log", "text/plain")]
    assert msg.rejected_attachments == ()


SINGLE = b"From: Anna <anna@member.example>\nTo: support@example.org\nSubject: Printer\n" \
         b"Date: Mon, 4 Mar 2024 10:00:00 +0000\nMessage-ID: <one@member.example>\n"


@pytest.mark.parametrize(("extra", "name"), [
    (b"From: Mallory <mallory@evil.example>\n", "From"),
    (b"sender: anna@member.example\nSender: mallory@evil.example\n", "Sender"),
    (b"Reply-To: a@member.example\nREPLY-TO: m@evil.example\n", "Reply-To"),
    (b"To: other@example.org\n", "To"),
    (b"Subject: Wire the money\n", "Subject"),
    (b"Date: Tue, 5 Mar 2024 10:00:00 +0000\n", "Date"),
    (b"Message-ID: <two@member.example>\n", "Message-ID"),
    (b"SUBJECT: folded\n again\n", "Subject"),
])
def test_a_second_copy_of_a_single_header_is_malformed(extra: bytes, name: str) -> None:
    # The gateway reads the first copy, DKIM verifies the last: refuse rather than choose.
    with pytest.raises(UnreadableMessage, match=f"^malformed: 2 {name} headers$"):
        parse(extra + SINGLE + b"\nbody\n")
    with pytest.raises(UnreadableMessage, match=f"^malformed: 2 {name} headers$"):
        parse(SINGLE + extra + b"\nbody\n")


def test_two_from_headers_fixture_is_malformed_but_repeats_elsewhere_are_fine() -> None:
    with pytest.raises(UnreadableMessage, match="malformed: 2 From headers"):
        load("two_from_headers.eml")
    forwarded = (b"Received: from a\nReceived: from b\nCc: x@example.org\nCc: y@example.org\n"
                 + SINGLE + b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
                 b"Content-Type: text/plain\n\nSee below.\n--b\nContent-Type: message/rfc822\n\n"
                 + SINGLE.replace(b"one@", b"inner@") + b"\ninner body\n--b--\n")
    assert parse(forwarded).sender == "anna@member.example"
