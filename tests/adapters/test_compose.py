"""compose(): headers validated and folded by hand, subjects that survive a round trip."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser

import pytest

from adapters.email.compose import checked_address, compose
from gateway.messages import AttachmentRef, Channel, OutboundMessage

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
FROM = "support@example.org"

GREEK = (
    "[TI-12] Ελληνικά - Δεν μπορώ να αλλάξω τον κωδικό πρόσβασης του λογαριασμού μου "
    "στο σύστημα παραγγελιών, ο κωδικού δεν γίνεται δεκτός"
)
CZECH = (
    "[TI-13] Čeština - Nemohu dokončit objednávku, protože se při platbě kartou "
    "zobrazuje chyba „Neplatný požadavek“ a košík se vyprázdní"
)
FINNISH = (
    "[TI-14] suomi - Tilauksen käsittely epäonnistuu, koska maksusivu näyttää "
    "virheilmoituksen ja ostoskori tyhjenee jäähyväisiksi"
)
JAPANESE = (
    "[TI-15] 日本語 - 注文を処理できません。支払いページでエラーが表示され、カートが空になります。"
)


def _parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(part: MIMEPart) -> str:
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def _message(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": Channel.EMAIL,
        "recipient": "member@example.net",
        "subject": "[TI-7] English - Cannot log in",
        "text": "Hello,\n\nWe received your request.\n",
        "message_id": "abc123@example.org",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def _compose(msg: OutboundMessage, blobs: dict[str, bytes] | None = None, **kw: object) -> bytes:
    store = blobs or {}
    args: dict[str, object] = {
        "from_address": FROM,
        "from_name": "IT Support",
        "load_blob": store.__getitem__,
        "now": NOW,
    }
    args.update(kw)
    return compose(msg, **args)  # type: ignore[arg-type]


def test_headers_threading_and_body() -> None:
    raw = _compose(
        _message(
            ticket_ref="TI-7",
            in_reply_to="<parent@example.net>",
            references=("root@example.net", "<parent@example.net>"),
            reply_to="support+k3y@example.org",
        )
    )
    parsed = _parse(raw)
    assert parsed["From"] == "IT Support <support@example.org>"
    assert parsed["To"] == "member@example.net"
    assert parsed["Subject"] == "[TI-7] English - Cannot log in"
    assert parsed["Message-ID"] == "<abc123@example.org>"
    assert parsed["In-Reply-To"] == "<parent@example.net>"
    assert parsed["References"].split() == ["<root@example.net>", "<parent@example.net>"]
    long_refs = tuple(f"{'r' * 60}.{n}@example.net" for n in range(30))
    threaded = _parse(_compose(_message(references=long_refs)))
    assert threaded["References"].split() == [f"<{ref}>" for ref in long_refs]
    assert parsed["Reply-To"] == "support+k3y@example.org"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Loop"] == FROM
    assert parsed["X-Gateway-Ticket"] == "TI-7"
    assert parsed["Date"].datetime == NOW
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert _text(parsed) == "Hello,\n\nWe received your request.\n"


def test_wire_form_is_crlf_and_seven_bit() -> None:
    raw = _compose(_message(subject=GREEK, text="Καλημέρα, ευχαριστούμε.\n" * 3))
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in header_block.split(b"\r\n")) <= 78


def test_optional_headers_are_left_out() -> None:
    parsed = _parse(_compose(_message(auto=False)))
    for name in ("Auto-Submitted", "In-Reply-To", "References", "Reply-To", "X-Gateway-Ticket"):
        assert name not in parsed
    assert parsed["X-Loop"] == FROM


@pytest.mark.parametrize(
    "subject",
    [
        GREEK,
        CZECH,
        FINNISH,
        JAPANESE,
        "Re: " + GREEK + " " + CZECH,
        "x" * 300,
        " ".join(["Nederlands - bestelling"] * 13)[:300].strip(),
        ("Čeština - " + "příliš žluťoučký kůň úpěl ďábelské ódy " * 8)[:300].strip(),
        ("日本語 - " + "注文" * 200)[:300],
        ("Ελληνικά - " + "κωδικού δεν " * 30)[:300].strip(),
        "Français - l'été dernier : « problème » avec la facture n° 42",
        "ASCII with =?UTF-8?Q?encoded=20looking?= text",
        "a  double  space and trailing dot.",
        "",
    ],
)
def test_subject_round_trips(subject: str) -> None:
    assert _parse(_compose(_message(subject=subject)))["Subject"] == subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: x\r\nBcc: a@evil.example", "Re: x Bcc: a@evil.example"),
        ("bad\x00null\nline", "badnull line"),
        ("tab\tand\x1bescape", "tab andescape"),
    ],
)
def test_subject_line_breaks_are_stripped_not_injected(subject: str, expected: str) -> None:
    parsed = _parse(_compose(_message(subject=subject)))
    assert parsed["Subject"] == expected
    assert "Bcc" not in parsed


def test_decoded_crlf_in_an_encoded_word_stays_inert() -> None:
    # Case 41: the title arrived as =?UTF-8?Q?x=0D=0ABcc:_a@evil?= and was decoded upstream.
    parsed = _parse(_compose(_message(subject="Re: x\r\nBcc: a@evil")))
    assert list(parsed.keys()).count("Bcc") == 0
    assert parsed["Subject"] == "Re: x Bcc: a@evil"


@pytest.mark.parametrize(
    "name",
    [
        "IT Support",
        "Služba podpory – Technické problémy",
        "Τεχνική υποστήριξη",
        'Desk "Tech" \\ Team',
        "Støtte",
        "",
    ],
)
def test_from_name_round_trips(name: str) -> None:
    parsed = _parse(_compose(_message(), from_name=name))
    (address,) = parsed["From"].addresses
    assert address.display_name == name
    assert address.addr_spec == FROM


@pytest.mark.parametrize(
    "overrides",
    [
        {"recipient": "member@example.net\r\nBcc: x@evil.example"},
        {"recipient": "member@example.net\n"},
        {"reply_to": "support+k@example.org\rX: y"},
        {"message_id": "abc@example.org\nBcc: x@evil.example"},
        {"in_reply_to": "<a@b>\r\nX: y"},
        {"references": ("ok@example.org", "bad\x00@example.org")},
        {"ticket_ref": "TI-1\r\nBcc: x@evil.example"},
    ],
)
def test_line_breaks_in_other_headers_raise(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"line break|NUL|not a|invalid"):
        _compose(_message(**overrides))


def test_line_breaks_in_from_name_or_address_raise() -> None:
    with pytest.raises(ValueError, match="from_name"):
        _compose(_message(), from_name="Desk\r\nBcc: x@evil.example")
    with pytest.raises(ValueError, match="from_address"):
        _compose(_message(), from_address="support@example.org\nBcc: x@evil.example")


@pytest.mark.parametrize(
    "address",
    [
        '"vip@silver.example" <x@evil.example>',
        "a@evil.example@silver.example",
        "a@example.org, b@example.org",
        "a b@example.org",
        "<a@example.org>",
        "a@example.org (comment)",
        "a@",
        "@example.org",
        "plain",
        "",
        "a@exa mple.org",
        "a@-bad.example",
        "jü rgen@example.org",
        "a\u202eb@example.org",
    ],
)
def test_only_a_single_plain_addr_spec_is_accepted(address: str) -> None:
    with pytest.raises(ValueError, match=r"address|local part|domain"):
        checked_address(address)
    with pytest.raises(ValueError, match="recipient"):
        _compose(_message(recipient=address))


def test_a_non_ascii_local_part_goes_only_as_utf8_in_the_to_header() -> None:
    with pytest.raises(ValueError, match="local part"):
        checked_address("jürgen@exämple.de")  # not in an envelope or header by default
    assert checked_address("jürgen@exämple.de", utf8=True) == "jürgen@xn--exmple-cua.de"
    raw = _compose(_message(recipient="jürgen@exämple.de", subject="Grüße"))
    assert "To: jürgen@xn--exmple-cua.de\r\n".encode() in raw  # RFC 6532, sent by SMTPUTF8
    assert b"Subject: =?utf-8?b?" in raw  # everything else stays 7-bit
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["To"] == "jürgen@xn--exmple-cua.de"


def test_accepted_addresses() -> None:
    assert checked_address("support+TI-1.abc@example.org") == "support+TI-1.abc@example.org"
    assert checked_address("o'brien@example.ie.") == "o'brien@example.ie"
    assert checked_address("user@bücher.example") == "user@xn--bcher-kva.example"


def test_attachments_are_loaded_by_digest_and_keep_name_and_type() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    blobs = {hashlib.sha256(pdf).hexdigest(): pdf, hashlib.sha256(png).hexdigest(): png}
    long_name = "Snímek obrazovky – chyba při platbě kartou v košíku " * 3 + ".png"
    refs = (
        AttachmentRef("invoice 2025.pdf", "application/pdf", hashlib.sha256(pdf).hexdigest()),
        AttachmentRef(long_name, "image/png", hashlib.sha256(png).hexdigest()),
    )
    parsed = _parse(_compose(_message(attachments=refs), blobs))
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert _text(body) == "Hello,\n\nWe received your request.\n"
    got = [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in parsed.iter_attachments()
    ]
    assert got == [
        ("invoice 2025.pdf", "application/pdf", pdf),
        (long_name, "image/png", png),
    ]


def test_attachment_with_bad_type_becomes_octet_stream_and_bad_name_raises() -> None:
    data = b"hello"
    digest = hashlib.sha256(data).hexdigest()
    odd = (AttachmentRef("notes.txt", "text plain; x=y", digest),)
    parsed = _parse(_compose(_message(attachments=odd), {digest: data}))
    (part,) = parsed.iter_attachments()
    assert part.get_content_type() == "application/octet-stream"
    bad = (AttachmentRef("a\r\nContent-Type: text/html", "text/plain", digest),)
    with pytest.raises(ValueError, match="filename"):
        _compose(_message(attachments=bad), {digest: data})


def test_date_is_utc_and_naive_now_is_refused() -> None:
    cet = datetime(2025, 3, 4, 6, 6, 7, tzinfo=timezone(timedelta(hours=1)))
    parsed = _parse(_compose(_message(), now=cet))
    assert parsed["Date"].datetime == NOW
    assert str(parsed["Date"]).endswith("+0000")
    with pytest.raises(ValueError, match="timezone"):
        _compose(_message(), now=datetime(2025, 1, 1))  # deliberately naive


def test_the_same_message_composes_to_the_same_bytes() -> None:
    data = b"attachment"
    digest = hashlib.sha256(data).hexdigest()
    msg = _message(
        message_id="<stable-1@example.org>",
        attachments=(AttachmentRef("a.txt", "text/plain", digest),),
    )
    assert _compose(msg, {digest: data}) == _compose(msg, {digest: data})
    assert _parse(_compose(msg, {digest: data}))["Message-ID"] == "<stable-1@example.org>"


def test_long_lines_and_non_ascii_bodies_are_quoted_printable() -> None:
    text = "Dobrý den, " + "x" * 1200 + "\n"
    parsed = _parse(_compose(_message(text=text)))
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert _text(parsed) == text


def test_an_id_we_thread_to_that_rfc_5322_forbids_is_left_out_not_fatal() -> None:
    sent = _parse(_compose(_message(in_reply_to='<"odd"@client.example>',
                                    references=("ok@example.org", "(paren)@client.example"))))
    assert sent["In-Reply-To"] is None
    assert str(sent["References"]) == "<ok@example.org>"
