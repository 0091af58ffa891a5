"""Sender authentication (CONTRACT §9): is the From domain really the sender's?

`authentication-results` trusts only the header stamped by our own MTA (its authserv-id)
and needs DMARC pass, or a DKIM/SPF pass aligned with the From domain. `dkim` verifies
the signature itself and needs it aligned: a valid signature by another domain proves
nothing about From (PITFALLS: DKIM alone does not stop spoofing).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import compat32

from gateway.messages import InboundMessage

log = logging.getLogger(__name__)
_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.d|header\.i|smtp\.mailfrom|header\.from)\s*=\s*([^\s;]+)", re.I)


def aligned(domain: str, other: str) -> bool:
    """Relaxed DMARC alignment: one domain is the other or a subdomain of it."""
    domain, other = domain.lower().strip("."), other.lower().strip(".").rpartition("@")[2]
    return bool(other) and (domain == other or domain.endswith("." + other)
                            or other.endswith("." + domain))


def passes_authentication_results(headers: list[str], authserv_id: str, from_domain: str) -> bool:
    for value in headers:
        server, _, results = " ".join(value.split()).partition(";")
        if server.strip().split(" ")[0].lower() != authserv_id.lower():
            continue  # somebody else's claim, possibly the sender's own forgery
        for method, result, rest in _RESULT.findall(results):
            if result.lower() != "pass":
                continue
            if method.lower() == "dmarc":
                return True
            properties = dict((k.lower(), v) for k, v in _PROPERTY.findall(rest))
            identity = properties.get("header.d") or properties.get("smtp.mailfrom") or ""
            if identity and aligned(from_domain, identity):
                return True
        return False  # only the topmost header of our own MTA counts
    return False


class SenderCheck:
    def __init__(self, mode: str, authserv_id: str = "",
                 dkim_verify: Callable[[bytes], str | None] | None = None) -> None:
        self.mode = mode
        self.authserv_id = authserv_id
        self._dkim_verify = dkim_verify or verify_dkim

    def apply(self, msg: InboundMessage, raw: bytes) -> InboundMessage:
        if self.mode == "off" or not msg.sender:
            return msg
        domain = msg.sender.rpartition("@")[2]
        if self.mode == "authentication-results":
            headers = BytesHeaderParser(policy=compat32).parsebytes(raw).get_all(
                "Authentication-Results") or []
            ok = passes_authentication_results([str(h) for h in headers], self.authserv_id, domain)
        else:
            signer = self._dkim_verify(raw)
            ok = signer is not None and aligned(domain, signer)
        if not ok:
            log.info("sender not authenticated", extra={"mode": self.mode})
        return dataclasses.replace(msg, authenticated=ok)


def verify_dkim(raw: bytes) -> str | None:
    """The signing domain (d=) of a valid DKIM signature, or None."""
    import dkim  # dkimpy; imported here because it is needed only in this mode

    try:
        checker = dkim.DKIM(raw)
        if checker.verify():
            return str(checker.domain.decode())
    except Exception:  # dkimpy raises many types on malformed input; treat all as "no"
        log.info("DKIM verification failed with an error")
    return None
