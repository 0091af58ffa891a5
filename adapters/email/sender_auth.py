"""Sender authentication (CONTRACT §9): is the From domain really the sender's?

`authentication-results` trusts only the topmost header stamped by our own MTA (its
authserv-id), parsed as RFC 8601 says, so nothing inside a quoted value or a comment counts.
The MTA's DMARC verdict is final when it gives one: `pass` counts only for the From domain
in use (`header.from`, required), anything but `pass`/`none` is a failure, and two DMARC
results in one header (an injection into an unquoted value) are no verdict at all. Without
a DMARC verdict, a DKIM or SPF pass must be aligned with From in the relaxed sense, by the
public suffix list (the DMARC record, which could ask for strict alignment, is not seen here).

`dkim` verifies the signatures itself and needs one aligned with From (PITFALLS: DKIM alone
does not stop spoofing); the From domain's DMARC record (`_dmarc.`, then the organizational
domain's) is read for `adkim=s`. A signature with `l=` covers only part of the body and is
not counted: anything could be appended after it.

One From, one Subject: a second copy of either (the gateway reads the first, DKIM verifies
the last) is refused earlier, in `normalize.parse_email`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

import authres
from publicsuffixlist import PublicSuffixList

from gateway.messages import InboundMessage
from gateway.people import fold_address

log = logging.getLogger(__name__)

MAX_RESULTS_HEADERS = 50  # Authentication-Results headers looked at, top down
MAX_RESULTS_CHARS = 8_000  # a longer header of ours is not trusted (authres is ~80 µs per result)
MAX_SIGNATURES = 3  # DKIM signatures verified per message (each costs a DNS lookup)
DNS_SECONDS = 4.0  # per query; at most 2 + MAX_SIGNATURES queries per message

# TXT records of a DNS name, each one's strings joined; [] when there are none.
# Raises DnsUnavailable when the answer cannot be had now (the worker then retries).
TxtLookup = Callable[[str], list[bytes]]


class DnsUnavailable(Exception):
    """A DNS answer needed to authenticate the sender cannot be had right now."""


@dataclass(frozen=True)
class Result:
    """One resinfo of an Authentication-Results header, names lower-cased."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def value(self, name: str) -> str | None:
        """The property's value when it is given exactly once, else None."""
        found = [value for key, value in self.properties if key == name]
        return found[0] if len(found) == 1 else None


# ---- alignment -----------------------------------------------------------------------------


@functools.cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # ~50 ms to load: once per process


def domain_of(identity: str) -> str:
    """The domain of an address or domain, `<>` and a final dot removed, A-Z lower-cased."""
    return fold_address(identity.strip().strip("<>").rpartition("@")[2].strip().rstrip("."))


def organizational_domain(domain: str) -> str | None:
    """The registrable domain (public suffix plus one label), None for a public suffix itself."""
    domain = domain_of(domain)
    if not domain or not domain.isascii():
        return None  # U-labels are not aligned with anything: DKIM d= and DNS use A-labels
    found = _suffixes().privatesuffix(domain)
    return str(found) if found else None


def aligned(domain: str, other: str, *, strict: bool = False) -> bool:
    """DMARC alignment: the same domain, or (relaxed) the same organizational domain."""
    domain, other = domain_of(domain), domain_of(other)
    if strict:
        return bool(domain) and domain.isascii() and domain == other
    organization = organizational_domain(domain)
    return organization is not None and organization == organizational_domain(other)


# ---- authentication-results ----------------------------------------------------------------


def passes_authentication_results(headers: Sequence[str], authserv_id: str,
                                  from_domain: str) -> bool:
    """Does the topmost Authentication-Results header of our MTA authenticate `from_domain`?"""
    ours = fold_address(authserv_id.strip())
    for value in headers[:MAX_RESULTS_HEADERS]:
        value = " ".join(value.split())
        if not ours or server_of(value[:_SERVER_CHARS]) != ours:
            continue  # somebody else's claim, possibly the sender's own forgery
        results = parse_results(value, ours) if len(value) <= MAX_RESULTS_CHARS else None
        if results is None:
            log.info("authentication-results unreadable", extra={"chars": len(value)})
            return False
        return verdict(results, from_domain)
    return False


def verdict(results: Sequence[Result], from_domain: str) -> bool:
    """The MTA's verdict for `from_domain`; our own relaxed alignment only when DMARC said nothing."""
    dmarc = [result for result in results if result.method == "dmarc"]
    if len(dmarc) > 1:
        return False  # one is an injection, and we cannot tell which
    if dmarc and dmarc[0].result == "pass":
        header_from = dmarc[0].value("header.from")
        return header_from is not None and domain_of(header_from) == domain_of(from_domain)
    if dmarc and dmarc[0].result != "none":
        return False  # fail, quarantine, reject, temperror...: final
    return any(aligned(from_domain, identity) for identity in _passing_identities(results))


def _passing_identities(results: Sequence[Result]) -> list[str]:
    identities = []
    for result in results:
        if result.result != "pass":
            continue
        if result.method == "dkim":
            identity = result.value("header.d") or result.value("header.i")
        elif result.method == "spf":
            identity = result.value("smtp.mailfrom")  # smtp.helo is not a DMARC identity
        else:
            identity = None
        if identity:
            identities.append(identity)
    return identities


def parse_results(value: str, authserv_id: str) -> list[Result] | None:
    """The results of a header with our authserv-id: authres, else the lenient reader; None
    when neither can read it."""
    try:
        header = authres.AuthenticationResultsHeader.parse_value(value)
    except Exception:  # authres raises SyntaxError and, on odd input, other types
        return _parse_leniently(value, authserv_id)
    if fold_address(str(header.authserv_id)) != authserv_id:
        return None
    return [Result(_ascii_lower(r.method), _ascii_lower(r.result),
                   tuple((_ascii_lower(f"{p.type}.{p.name}"), str(p.value)) for p in r.properties))
            for r in header.results]


def _ascii_lower(text: object) -> str:
    return fold_address(str(text or ""))


# ---- the lenient reader --------------------------------------------------------------------
# For headers authres rejects (e.g. `smtp.mailfrom=<a@b>`, Microsoft's `action=none`). It
# reads RFC 8601's shape: `id [version]; method=result key=value ...; ...`. Comments are
# dropped and quoted strings are values, so a "dmarc=pass" inside either is never a result.

_Token = tuple[str, str]  # (kind, text): kind is "word", "value" (had quotes), "=" or ";"
_NESTING = {"(": 1, ")": -1}
_SERVER_CHARS = 400  # the authserv-id is the first word: no need to read further


def _tokens(value: str) -> tuple[list[_Token], bool]:
    """Split a header value in one pass; False with the tokens before an unbalanced quote or
    comment."""
    tokens: list[_Token] = []
    word: list[str] = []
    quoted = False
    index, depth = 0, 0
    while index < len(value):
        char = value[index]
        if depth:  # inside a (comment), which may nest
            depth += _NESTING.get(char, 0)
            index += 2 if char == "\\" else 1
            continue
        if char == '"':
            end = _quoted_end(value, index)
            if end < 0:
                return tokens, False
            word.append(value[index + 1:end].replace("\\", ""))
            quoted, index = True, end + 1
            continue
        if char == ")":
            return tokens, False
        if char in " \t(=;":
            if word:
                tokens.append(("value" if quoted else "word", "".join(word)))
            word, quoted = [], False
            depth += char == "("
            if char in "=;":
                tokens.append((char, char))
        else:
            word.append(char)
        index += 1
    if word:
        tokens.append(("value" if quoted else "word", "".join(word)))
    return tokens, not depth


def _quoted_end(value: str, start: int) -> int:
    """The index of the quote closing the string opened at `start`, or -1."""
    index = start + 1
    while index < len(value):
        if value[index] == "\\":
            index += 2
        elif value[index] == '"':
            return index
        else:
            index += 1
    return -1


def server_of(value: str) -> str:
    """The authserv-id a header names (A-Z lower-cased), "" when there is none.

    Read from the first word even when the rest is unbalanced: our MTA's header must stay
    ours (and fail) when a sender's stray quote in it would otherwise let a forged one of
    ours lower down count instead.
    """
    tokens, _ = _tokens(value)
    if not tokens or tokens[0][0] != "word" or (len(tokens) > 1 and tokens[1][0] == "="):
        return ""  # Microsoft 365 writes no authserv-id: "spf=pass ..." is not one
    return fold_address(tokens[0][1])


def _parse_leniently(value: str, authserv_id: str) -> list[Result] | None:
    tokens, complete = _tokens(value)
    if not complete:
        return None
    segments: list[list[_Token]] = [[]]
    for token in tokens:
        if token[0] == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    if not segments[0] or fold_address(segments[0][0][1]) != authserv_id:
        return None
    results = []
    for segment in segments[1:]:
        if not segment or [text.lower() for _, text in segment] == ["none"]:
            continue
        result = _resinfo(segment)
        if result is None:
            return None
        results.append(result)
    return results


def _resinfo(segment: list[_Token]) -> Result | None:
    """`method[/version]=result key=value ...`, or None when it is not that shape."""
    if len(segment) % 3:
        return None
    pairs = []
    for start in range(0, len(segment), 3):
        key, equals, value = segment[start:start + 3]
        if key[0] != "word" or equals[0] != "=" or value[0] not in ("word", "value"):
            return None
        pairs.append((_ascii_lower(key[1]), value[1]))
    (method, result), properties = pairs[0], pairs[1:]
    if not (result.isascii() and result.isalpha()):
        return None
    return Result(method.partition("/")[0], _ascii_lower(result), tuple(properties))


# ---- dkim ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DnsTxt:
    """TXT records by dnspython, each query bounded by DNS_SECONDS; the system's resolver
    unless `nameserver` ("127.0.0.1:5353") is given. Picklable, for the parse budget's child."""

    nameserver: str = ""

    def __call__(self, name: str) -> list[bytes]:
        import dns.exception
        import dns.resolver

        try:
            resolver = dns.resolver.Resolver(configure=not self.nameserver)
            if self.nameserver:
                host, _, port = self.nameserver.rpartition(":")
                resolver.nameservers, resolver.port = [host], int(port)
            answer = resolver.resolve(name, "TXT", lifetime=DNS_SECONDS, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers,
                dns.resolver.NoResolverConfiguration) as error:
            raise DnsUnavailable(type(error).__name__) from error
        return [b"".join(record.strings) for record in answer]


def dkim_signers(raw: bytes, txt: TxtLookup) -> list[str]:
    """The d= domains of the valid DKIM signatures that cover the whole body."""
    import dkim  # dkimpy; imported here because it is needed only in this mode

    def dnsfunc(name: bytes, timeout: float = DNS_SECONDS) -> bytes | None:
        records = txt(name.decode("ascii", errors="replace").rstrip("."))
        return records[0] if records else None

    try:
        checker = dkim.DKIM(raw)
        count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    except Exception:  # dkimpy raises many types on malformed input; all mean "no"
        return []
    signers = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            valid = checker.verify(idx=index, dnsfunc=dnsfunc)
        except DnsUnavailable:
            raise
        except Exception:  # a broken signature or key is the sender's problem
            valid = False
        if valid and b"l" not in checker.signature_fields:
            signers.append(checker.domain.decode("ascii", errors="replace"))
    return signers


def dmarc_record(domain: str, txt: TxtLookup) -> dict[str, str] | None:
    """The DMARC tags of the From domain, or of its organizational domain (RFC 7489 §6.6.3)."""
    names = [domain_of(domain)]
    organization = organizational_domain(domain)
    if organization and organization != names[0]:
        names.append(organization)
    for name in names:
        records = [r for r in txt(f"_dmarc.{name}")
                   if r.replace(b" ", b"")[:9].upper() in (b"V=DMARC1;", b"V=DMARC1")]
        if len(records) == 1:
            return _tags(records[0].decode("ascii", errors="replace"))
        if records:
            return None  # more than one record: there is no policy (RFC 7489 §6.6.3)
    return None


def _tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record[:2000].split(";"):
        key, equals, value = part.partition("=")
        if equals:
            tags.setdefault(key.strip().lower(), value.strip().lower())
    return tags


def passes_dkim(raw: bytes, from_domain: str, txt: TxtLookup) -> bool:
    signers = dkim_signers(raw, txt)
    if not signers:
        return False
    record = dmarc_record(from_domain, txt) or {}
    strict = record.get("adkim") == "s"
    return any(aligned(from_domain, signer, strict=strict) for signer in signers)


def _bare_cr_in_header(raw: bytes) -> bool:
    """The stdlib ends a header line at a lone CR, dkimpy does not: they would read
    different headers, so such a message proves nothing."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if end >= 0 else len(raw)].replace(b"\r\n", b"")
    return b"\r" in head


# ---- the check -----------------------------------------------------------------------------


class SenderCheck:
    def __init__(self, mode: str, authserv_id: str = "", txt: TxtLookup | None = None) -> None:
        self.mode = mode
        self.authserv_id = authserv_id
        self._txt = txt or DnsTxt()
        if mode != "off":
            _suffixes()  # load the list at start, not on the first message

    def apply(self, msg: InboundMessage, raw: bytes) -> InboundMessage:
        """The message, `authenticated` set; DnsUnavailable when that cannot be known now."""
        if self.mode == "off":
            return msg
        _suffixes()  # loaded by the parse budget's warm-up, not billed to a real message
        if not msg.sender:
            return msg
        domain = msg.sender.rpartition("@")[2]
        if self.mode == "authentication-results":
            headers = BytesHeaderParser(policy=compat32).parsebytes(raw).get_all(
                "Authentication-Results") or []
            ok = passes_authentication_results([str(h) for h in headers], self.authserv_id, domain)
        else:
            ok = not _bare_cr_in_header(raw) and passes_dkim(raw, domain, self._txt)
        if not ok:
            log.info("sender not authenticated", extra={"mode": self.mode})
        return dataclasses.replace(msg, authenticated=ok)
