"""Sender authentication: only our own MTA's verdict counts, and it must be for the From in use."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import authres
import dkim
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from adapters.email.headers import address_tokens, single_sender
from adapters.email.ingest import dedupe_key
from adapters.email.normalize import UnreadableMessage, parse_email
from adapters.email.sender_auth import (
    DnsTxt,
    DnsUnavailable,
    SenderCheck,
    aligned,
    parse_results,
    passes_authentication_results,
    server_of,
)
from adapters.runners.incoming import IncomingRunner
from adapters.runtime import make_desk
from config.settings import load_settings
from gateway.messages import Channel, InboundMessage
from gateway.people import fold_address
from store import admin, inbox, outbox
from store.blobs import BlobStore
from store.tables import InboxRow
from store.unit_of_work import SqlMembers
from tests.support.defaults import default_limits
from tests.unit.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
MSG = InboundMessage(Channel.EMAIL, "id@x", "anna@silver.example", "s", "t",
                     datetime(2026, 12, 7, tzinfo=UTC))
OURS = "mx.desk.example"


def raw(*results: str) -> bytes:
    headers = "".join(f"Authentication-Results: {value}\n" for value in results)
    return f"{headers}From: anna@silver.example\nSubject: s\n\nbody\n".encode()


def passes(*headers: str, domain: str = "silver.example") -> bool:
    return passes_authentication_results(list(headers), OURS, domain)


# ---- authentication-results: the MTA's verdict -----------------------------------------------


@pytest.mark.parametrize(("header", "ok"), [
    ("mx.desk.example; dmarc=pass header.from=silver.example", True),
    ("MX.Desk.Example; dmarc=PASS header.from=Silver.EXAMPLE", True),
    ("mx.desk.example 1; dmarc=pass (p=reject) header.from=silver.example", True),
    ("mx.desk.example; dkim=pass header.d=silver.example; dmarc=none", True),
    ("mx.desk.example; dkim=pass header.d=mail.silver.example", True),
    ("mx.desk.example; dkim=pass header.i=@mail.silver.example", True),
    ("mx.desk.example; spf=pass smtp.mailfrom=bounce@silver.example", True),
    ("mx.desk.example; dkim=pass header.d=attacker.example", False),  # valid but unaligned
    ("mx.desk.example; dmarc=fail header.from=silver.example", False),
    ("evil.example; dmarc=pass header.from=silver.example", False),  # someone else's claim
    ("mx.desk.example.evil; dmarc=pass header.from=silver.example", False),
    ("mx.desk.example; spf=pass smtp.helo=silver.example", False),  # HELO is no DMARC identity
    ("mx.desk.example; none", False),
])
def test_authentication_results(header: str, ok: bool) -> None:
    assert passes(header) is ok


def test_only_the_topmost_header_of_our_mta_counts() -> None:
    forged_below = ["mx.desk.example; dmarc=fail header.from=silver.example",
                    "mx.desk.example; dmarc=pass header.from=silver.example"]
    assert not passes(*forged_below)
    assert passes("other.example; dmarc=fail", *forged_below[1:])


# F2: nothing inside a quoted value or a comment is a result.
@pytest.mark.parametrize("header", [
    'mx.desk.example; spf=fail smtp.mailfrom="x;dmarc=pass"@evil.example; dkim=none; '
    "dmarc=fail (p=reject) header.from=silver.example",
    'mx.desk.example; spf=none smtp.helo="evil.example;dmarc=pass header.from=silver.example"; '
    "dmarc=none",
    'mx.desk.example; dkim=none (mail from "anna@silver.example; dmarc=pass '
    'header.from=silver.example"); spf=softfail smtp.mailfrom=evil.example; dmarc=none',
    "mx.desk.example; (dmarc=pass header.from=silver.example) dkim=fail header.d=silver.example",
])
def test_a_pass_inside_a_quoted_value_or_comment_is_not_a_result(header: str) -> None:
    assert not passes(header)


def test_a_pass_injected_into_an_unquoted_value_meets_the_mtas_own_dmarc_and_fails() -> None:
    # An MTA that writes the HELO unquoted: RFC 8601 sees two DMARC results, we trust neither.
    header = ("mx.desk.example; spf=none smtp.helo=evil.example;dmarc=pass "
              "header.from=silver.example; dkim=none; dmarc=fail header.from=silver.example")
    assert not passes(header)
    assert not passes(header.replace("dmarc=fail", "dmarc=none"))
    # A stray quote in the HELO must not make our header unreadable to the point where a
    # forged header of "ours" further down counts instead.
    broken = 'mx.desk.example; spf=none smtp.helo=evil"; dmarc=fail header.from=silver.example'
    assert server_of(broken) == OURS
    assert not passes(broken, "mx.desk.example; dmarc=pass header.from=silver.example")


@pytest.mark.parametrize("name", ["forged_dmarc_in_quoted_value.eml", "forged_dmarc_in_helo.eml",
                                  "forged_dmarc_in_comment.eml",
                                  "dmarc_pass_for_another_domain.eml",
                                  "dkim_pass_for_public_suffix.eml",
                                  "dkim_pass_despite_dmarc_fail.eml"])
def test_forged_fixtures_are_not_authenticated(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    msg = parse_email(data, received_at=NOW, limits=default_limits())
    assert msg.sender == "anna@member.example"
    assert not SenderCheck("authentication-results", OURS).apply(msg, data).authenticated


# F3: the verdict must be for the From in use.
@pytest.mark.parametrize(("header", "ok"), [
    ("mx.desk.example; dmarc=pass header.from=evil.example", False),
    ("mx.desk.example; dmarc=pass header.from=mail.silver.example", False),  # another domain
    ("mx.desk.example; dmarc=pass", False),  # no header.from: we cannot tell for whom
    ("mx.desk.example; dmarc=pass header.from=silver.example header.from=evil.example", False),
])
def test_a_dmarc_pass_counts_only_for_the_from_domain(header: str, ok: bool) -> None:
    assert passes(header) is ok


# F12: the MTA's DMARC verdict is final; our own alignment uses the public suffix list.
@pytest.mark.parametrize(("header", "domain"), [
    ("mx.desk.example; dkim=pass header.d=net; dmarc=none", "members.example.net"),
    ("mx.desk.example; dkim=pass header.d=co.uk", "members.co.uk"),
    ("mx.desk.example; spf=pass smtp.mailfrom=x@github.io", "anna.github.io"),
    ("mx.desk.example; dkim=pass header.d=attacker-sub.members.example.net; "
     "dmarc=fail header.from=members.example.net", "members.example.net"),
    ("mx.desk.example; dkim=pass header.d=members.example.net; dmarc=quarantine "
     "header.from=members.example.net", "members.example.net"),
    ("mx.desk.example; dkim=pass header.d=members.example.net; dmarc=temperror "
     "header.from=members.example.net", "members.example.net"),
])
def test_a_dkim_or_spf_pass_does_not_overrule_dmarc_nor_cross_a_public_suffix(
        header: str, domain: str) -> None:
    assert not passes(header, domain=domain)


def test_alignment_follows_the_public_suffix_list() -> None:
    assert aligned("silver.example", "news.silver.example")
    assert aligned("members.example.net", "example.net")
    assert aligned("a.b.example.co.uk", "example.co.uk")
    assert not aligned("silver.example", "notsilver.example")
    assert not aligned("silver.example", "")
    assert not aligned("members.example.net", "net")
    assert not aligned("a.co.uk", "b.co.uk")
    assert not aligned("anna.github.io", "bob.github.io")  # a private suffix counts too
    assert aligned("silver.example", "silver.example", strict=True)
    assert not aligned("silver.example", "news.silver.example", strict=True)


# ---- the lenient reader, for headers authres rejects -------------------------------------------


def _authres_rejects(header: str) -> None:
    with pytest.raises(authres.core.SyntaxError):
        authres.AuthenticationResultsHeader.parse_value(header)


def test_the_lenient_reader_reads_what_authres_rejects() -> None:
    header = "mx.desk.example; spf=pass smtp.mailfrom=<bounce@silver.example>; dmarc=none"
    _authres_rejects(header)
    assert passes(header)
    results = parse_results(header, OURS)
    assert results is not None
    assert [(r.method, r.result) for r in results] == [("spf", "pass"), ("dmarc", "none")]


@pytest.mark.parametrize("header", [
    'mx.desk.example; spf=fail smtp.mailfrom=<"x;dmarc=pass header.from=silver.example"'
    "@evil.example>; dmarc=none",
    'mx.desk.example; spf=fail smtp.mailfrom=<x@evil.example> (";dmarc=pass '
    'header.from=silver.example"); dmarc=none',
    "mx.desk.example; spf=fail smtp.mailfrom=<x@evil.example> (unclosed; dmarc=pass "
    "header.from=silver.example",
    'mx.desk.example; spf=fail smtp.mailfrom=<x@evil.example> "unclosed; dmarc=pass '
    "header.from=silver.example",
    "mx.desk.example; spf=fail smtp.mailfrom=<x@evil.example>); dmarc=pass "
    "header.from=silver.example",
])
def test_the_lenient_reader_never_reads_inside_quotes_or_comments(header: str) -> None:
    _authres_rejects(header)
    assert not passes(header)


def test_a_header_without_authserv_id_is_nobodys() -> None:
    microsoft = ("spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=silver.example; dkim=pass "
                 "(signature was verified) header.d=silver.example;dmarc=pass action=none "
                 "header.from=silver.example;compauth=pass reason=100")
    _authres_rejects(microsoft)
    assert server_of(microsoft) == ""
    assert not passes_authentication_results([microsoft], "spf", "silver.example")


def test_an_oversized_header_of_ours_is_not_trusted() -> None:
    long = "mx.desk.example; " + "dkim=fail header.d=x.example; " * 400
    assert not passes(long + "dmarc=pass header.from=silver.example")


def test_apply_marks_the_message() -> None:
    check = SenderCheck("authentication-results", OURS)
    assert check.apply(MSG, raw("mx.desk.example; dmarc=pass header.from=silver.example")
                       ).authenticated
    assert not check.apply(MSG, raw("other.example; dmarc=pass header.from=silver.example")
                           ).authenticated
    assert not check.apply(MSG, raw()).authenticated
    assert SenderCheck("off").apply(MSG, raw()).authenticated


# ---- dkim mode: a real key, an injected resolver ------------------------------------------------


Key = tuple[bytes, bytes]  # (private key PEM, DNS record)


def _rsa_key(bits: int = 1024) -> Key:
    private = subprocess.run(["openssl", "genrsa", str(bits)], check=True,
                             capture_output=True).stdout
    public = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=private,
                            check=True, capture_output=True).stdout
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {"member": _rsa_key(), "evil": _rsa_key()}


def resolver(records: dict[str, list[bytes]]) -> Callable[[str], list[bytes]]:
    def txt(name: str) -> list[bytes]:
        return records.get(name.lower(), [])
    return txt


def sign(message: bytes, key: Key, domain: str, **options: object) -> bytes:
    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    signature = dkim.sign(message, b"sel", domain.encode(), key[0], include_headers=headers,
                          **options)
    return bytes(signature) + message


MEMBER_MAIL = (b"From: Anna Smith <anna@member.example>\r\nTo: support@example.org\r\n"
               b"Subject: English - Printer on floor 2\r\nDate: Mon, 4 Mar 2024 10:00:00 +0000\r\n"
               b"Message-ID: <signed1@member.example>\r\n\r\nThe printer is jammed.\r\n")


def dkim_check(keys: dict[str, Key], **extra: list[bytes]) -> SenderCheck:
    records = {"sel._domainkey.member.example": [keys["member"][1]],
               "sel._domainkey.mail.member.example": [keys["member"][1]],
               "sel._domainkey.evil.example": [keys["evil"][1]], **extra}
    return SenderCheck("dkim", txt=resolver(records))


def authenticated(check: SenderCheck, data: bytes) -> bool:
    msg = parse_email(data, received_at=NOW, limits=default_limits())
    return check.apply(msg, data).authenticated


def test_a_signed_mail_authenticates_and_its_replay_with_a_new_subject_is_refused(
        keys: dict[str, Key]) -> None:
    signed = sign(MEMBER_MAIL, keys["member"], "member.example")
    assert authenticated(dkim_check(keys), signed)
    replay = b"Subject: English - Wire 10,000 EUR to IBAN XX00\r\n" + signed
    assert dkim.verify(replay, dnsfunc=lambda name, timeout=5: keys["member"][1])  # DKIM alone
    with pytest.raises(UnreadableMessage, match="malformed: 2 Subject headers"):
        parse_email(replay, received_at=NOW, limits=default_limits())


def test_a_header_hidden_behind_a_lone_cr_unauthenticates_the_mail(keys: dict[str, Key]) -> None:
    # The stdlib reads "In-Reply-To" as a header of its own; dkimpy reads it as X-Note's value.
    signed = sign(MEMBER_MAIL, keys["member"], "member.example")
    smuggled = b"X-Note: a\rIn-Reply-To: <ti-1.thread@example.org>\r\n" + signed
    assert dkim.verify(smuggled, dnsfunc=lambda name, timeout=5: keys["member"][1])
    assert not authenticated(dkim_check(keys), smuggled)


def test_dkim_mode_needs_a_signature_aligned_as_the_dmarc_record_says(
        keys: dict[str, Key]) -> None:
    strict = {"_dmarc.member.example": [b"v=DMARC1; p=reject; adkim=s"]}
    by_subdomain = sign(MEMBER_MAIL, keys["member"], "mail.member.example")
    assert authenticated(dkim_check(keys), by_subdomain)  # relaxed: same organization
    assert not authenticated(dkim_check(keys, **strict), by_subdomain)
    assert authenticated(dkim_check(keys, **strict), sign(MEMBER_MAIL, keys["member"],
                                                          "member.example"))
    by_another = sign(MEMBER_MAIL, keys["evil"], "evil.example")  # valid, but not From's
    assert not authenticated(dkim_check(keys), by_another)


def test_dkim_mode_refuses_a_forged_or_partial_signature(keys: dict[str, Key]) -> None:
    signed = sign(MEMBER_MAIL, keys["member"], "member.example")
    assert not authenticated(dkim_check(keys), signed.replace(b"jammed", b"fine"))
    assert not authenticated(dkim_check(keys), MEMBER_MAIL)
    partial = sign(MEMBER_MAIL, keys["member"], "member.example", length=True)
    assert authenticated(SenderCheck("off"), partial)
    assert not authenticated(dkim_check(keys), partial + b"Also: click http://evil.example\r\n")


def test_dkim_mode_reads_the_organizational_domains_dmarc_record(keys: dict[str, Key]) -> None:
    signed = sign(MEMBER_MAIL.replace(b"anna@member.example", b"anna@eu.member.example"),
                  keys["member"], "mail.member.example")
    assert authenticated(dkim_check(keys), signed)
    strict = {"_dmarc.member.example": [b"v=DMARC1; p=none; adkim=s"]}
    assert not authenticated(dkim_check(keys, **strict), signed)


def test_dkim_mode_retries_later_when_dns_is_down(keys: dict[str, Key]) -> None:
    def down(name: str) -> list[bytes]:
        raise DnsUnavailable("Timeout")

    signed = sign(MEMBER_MAIL, keys["member"], "member.example")
    msg = parse_email(signed, received_at=NOW, limits=default_limits())
    with pytest.raises(DnsUnavailable):
        SenderCheck("dkim", txt=down).apply(msg, signed)


@pytest.fixture
def dns_server(keys: dict[str, Key]) -> Iterator[str]:
    """A DNS server on loopback UDP that knows the member's key and DMARC record."""
    records = {"sel._domainkey.member.example.": keys["member"][1],
               "sel._domainkey.mail.member.example.": keys["member"][1],
               "_dmarc.member.example.": b"v=DMARC1; p=reject; adkim=s"}
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                query, client = server.recvfrom(4096)
            except OSError:
                return  # closed
            request = dns.message.from_wire(query)
            response = dns.message.make_response(request)
            name = request.question[0].name.to_text().lower()
            if name in records:
                text = records[name]
                chunks = " ".join('"' + text[i:i + 255].decode() + '"'
                                  for i in range(0, len(text), 255))
                response.answer.append(dns.rrset.from_text(name, 60, "IN", "TXT", chunks))
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            server.sendto(response.to_wire(), client)

    threading.Thread(target=answer, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_dkim_mode_over_real_dns(keys: dict[str, Key], dns_server: str) -> None:
    txt = DnsTxt(dns_server)
    assert txt("sel._domainkey.member.example") == [keys["member"][1]]
    assert txt("nothing.member.example") == []
    check = SenderCheck("dkim", txt=txt)
    assert authenticated(check, sign(MEMBER_MAIL, keys["member"], "member.example"))
    by_subdomain = sign(MEMBER_MAIL, keys["member"], "mail.member.example")
    assert dkim.verify(by_subdomain, dnsfunc=lambda name, timeout=5: txt(name.decode())[0])
    assert not authenticated(check, by_subdomain)  # valid, but the record asks adkim=s


def test_a_dns_server_that_does_not_answer_is_unavailable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.email.sender_auth.DNS_SECONDS", 0.3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        with pytest.raises(DnsUnavailable):
            DnsTxt(f"127.0.0.1:{silent.getsockname()[1]}")("_dmarc.member.example")


# ---- addresses: A-Z folded only (F14) -----------------------------------------------------------


def test_addresses_fold_ascii_only() -> None:
    assert fold_address("Anna.SMITH@Member.Example") == "anna.smith@member.example"
    assert fold_address("\u212aate@member.example") == "\u212aate@member.example"
    assert fold_address("\u00c5sa@member.example") == "\u00c5sa@member.example"
    assert single_sender("Kate <\u212aate@member.example>") == "\u212aate@member.example"
    assert single_sender("Kate <KATE@Member.Example>") == "kate@member.example"
    assert address_tokens("\u212aate@member.example, Bob@X.example") == [
        "\u212aate@member.example", "bob@x.example"]


def test_a_kelvin_sign_is_not_a_k_for_the_member_lookup(engine: Engine) -> None:
    admin.upsert_member(engine, member_id="9", name="Kate", email="Kate@Member.Example",
                        rank="Silver")
    with Session(engine) as session:
        members = SqlMembers(session)
        assert members.by_email("KATE@member.example") is not None
        assert members.by_email("\u212aate@member.example") is None


# ---- the worker: forged mail opens no ticket ----------------------------------------------------


def make_worker(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                check: SenderCheck) -> IncomingRunner:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GATEWAY_SECURITY__SECRET", "worker-secret")
    admin.upsert_member(engine, member_id="7", name="Anna Smith", email="anna@member.example",
                        rank="Silver")
    admin.upsert_member(engine, member_id="8", name="Kate Jones", email="kate@member.example",
                        rank="Silver")
    settings = load_settings()
    return IncomingRunner(engine=engine, blobs=BlobStore(tmp_path / "b"),
                          desk=make_desk(settings), limits=default_limits(),
                          sender_check=check, clock=FakeClock(NOW),
                          max_attempts=settings.worker.max_attempts)


def run(engine: Engine, worker: IncomingRunner, data: bytes) -> InboxRow:
    assert inbox.store_raw(engine, channel="email", dedupe_key=dedupe_key(data), raw=data,
                           envelope=json.dumps({"from": "x@y", "to": []}), now=NOW)
    assert worker.process_inbox() == 1
    return inbox.rows(engine)[0]


@pytest.mark.parametrize("name", ["forged_dmarc_in_quoted_value.eml", "forged_dmarc_in_helo.eml",
                                  "forged_dmarc_in_comment.eml",
                                  "dmarc_pass_for_another_domain.eml",
                                  "dkim_pass_despite_dmarc_fail.eml"])
def test_a_forged_member_mail_opens_no_ticket(engine: Engine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    worker = make_worker(engine, tmp_path, monkeypatch, SenderCheck("authentication-results", OURS))
    row = run(engine, worker, (FIXTURES / name).read_bytes())
    assert (row.status, row.reason, row.ticket_ref) == ("refused", "known-sender: unauthenticated", "")
    assert admin.list_tickets(engine) == [] and outbox.rows(engine) == []
    genuine = run(engine, worker, (FIXTURES / "dmarc_pass_member.eml").read_bytes())
    assert (genuine.status, genuine.ticket_ref) == ("done", "TI-1")


def test_two_from_headers_are_quarantined_without_reply(engine: Engine, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    worker = make_worker(engine, tmp_path, monkeypatch, SenderCheck("authentication-results", OURS))
    row = run(engine, worker, (FIXTURES / "two_from_headers.eml").read_bytes())
    assert (row.status, row.reason) == ("quarantined", "unreadable: malformed: 2 From headers")
    assert admin.list_tickets(engine) == [] and outbox.rows(engine) == []


def test_a_dkim_replay_with_a_new_subject_opens_no_ticket(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        keys: dict[str, Key]) -> None:
    signed = sign(MEMBER_MAIL, keys["member"], "member.example")
    worker = make_worker(engine, tmp_path, monkeypatch, dkim_check(keys))
    row = run(engine, worker, b"Subject: English - Wire the money\r\n" + signed)
    assert (row.status, row.reason) == ("quarantined", "unreadable: malformed: 2 Subject headers")
    assert admin.list_tickets(engine) == [] and outbox.rows(engine) == []
    another = sign(MEMBER_MAIL.replace(b"signed1@", b"signed2@"), keys["member"], "member.example")
    assert (run(engine, worker, another).ticket_ref) == "TI-1"


def test_a_kelvin_sign_sender_is_an_unknown_sender(engine: Engine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    worker = make_worker(engine, tmp_path, monkeypatch, SenderCheck("off"))
    row = run(engine, worker, (FIXTURES / "kelvin_sign_sender.eml").read_bytes())
    assert (row.status, row.reason) == ("refused", "known-sender: unknown-sender")
    assert admin.list_tickets(engine) == []
