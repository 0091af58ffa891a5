"""One header-end rule for the dedupe key and the parser's structure check: bare CRs count too."""

from __future__ import annotations

from adapters.email.ingest import HEADER_END, dedupe_key


def _mail(body: bytes, newline: bytes) -> bytes:
    return newline.join([b"Message-ID: <same@example.org>", b"From: anna@example.org",
                         b"Subject: hi", b"", body])


def test_a_bare_cr_mail_keeps_its_body_in_the_dedupe_key() -> None:
    """A stranger reusing a Message-ID and From with another body is another item (RELIABILITY 2)."""
    one, other = _mail(b"first text", b"\r"), _mail(b"second text", b"\r")
    assert dedupe_key(one).startswith("mid:") and dedupe_key(one) != dedupe_key(other)


def test_the_header_ends_at_the_first_empty_line_in_every_line_ending() -> None:
    for newline in (b"\r\n", b"\n", b"\r"):
        raw = _mail(b"body", newline)
        found = HEADER_END.search(raw)
        assert found is not None and raw[found.end():] == b"body"
