"""Sender authentication: only our own MTA's verdict counts, and it must be aligned with From."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.email.sender_auth import SenderCheck, aligned, passes_authentication_results
from gateway.messages import Channel, InboundMessage

MSG = InboundMessage(Channel.EMAIL, "id@x", "anna@silver.example", "s", "t",
                     datetime(2026, 12, 7, tzinfo=UTC))


def raw(*results: str) -> bytes:
    headers = "".join(f"Authentication-Results: {value}\n" for value in results)
    return f"{headers}From: anna@silver.example\nSubject: s\n\nbody\n".encode()


@pytest.mark.parametrize(("header", "ok"), [
    ("mx.desk.example; dmarc=pass header.from=silver.example", True),
    ("mx.desk.example; dkim=pass header.d=silver.example; dmarc=none", True),
    ("mx.desk.example; dkim=pass header.d=mail.silver.example", True),
    ("mx.desk.example; spf=pass smtp.mailfrom=bounce@silver.example", True),
    ("mx.desk.example; dkim=pass header.d=attacker.example", False),  # valid but unaligned
    ("mx.desk.example; dmarc=fail header.from=silver.example", False),
    ("evil.example; dmarc=pass header.from=silver.example", False),  # someone else's claim
    ("mx.desk.example.evil; dmarc=pass", False),
])
def test_authentication_results(header: str, ok: bool) -> None:
    assert passes_authentication_results([header], "mx.desk.example", "silver.example") is ok


def test_only_the_topmost_header_of_our_mta_counts() -> None:
    forged_below = ["mx.desk.example; dmarc=fail", "mx.desk.example; dmarc=pass"]
    assert not passes_authentication_results(forged_below, "mx.desk.example", "silver.example")


def test_apply_marks_the_message() -> None:
    check = SenderCheck("authentication-results", "mx.desk.example")
    assert check.apply(MSG, raw("mx.desk.example; dmarc=pass")).authenticated
    assert not check.apply(MSG, raw("other.example; dmarc=pass")).authenticated
    assert not check.apply(MSG, raw()).authenticated
    assert SenderCheck("off").apply(MSG, raw()).authenticated


def test_dkim_mode_needs_an_aligned_signature() -> None:
    assert SenderCheck("dkim", dkim_verify=lambda _: "silver.example").apply(MSG, b"").authenticated
    assert not SenderCheck("dkim", dkim_verify=lambda _: "attacker.example").apply(
        MSG, b"").authenticated
    assert not SenderCheck("dkim", dkim_verify=lambda _: None).apply(MSG, b"").authenticated


def test_alignment_is_relaxed_but_not_loose() -> None:
    assert aligned("silver.example", "news.silver.example")
    assert not aligned("silver.example", "notsilver.example")
    assert not aligned("silver.example", "")
