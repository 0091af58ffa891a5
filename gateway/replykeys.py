"""Signed reply keys: `<local>+<key>@<domain>` names a ticket, a role and the recipient.

A key is `<role><ticket>.<expiry day, base 36>.<key id><mac>`, all lower case so that
mail systems that fold local parts do not break it. The MAC (HMAC-SHA256, 130 bits kept)
covers the ticket, role, expiry and the recipient's address, so a key forwarded to
someone else does not verify for them.

A bounce token `b-<outbox id, base 36>.<key id><mac>` (80 bits kept) names one outbox row:
each mail goes out with the return path `<local>+<token>@<domain>` (VERP), so a delivery
report sent back to it is provably about that mail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.people import fold_address

_EPOCH = datetime(2020, 1, 1).date()
_MAC_CHARS = 26  # 26 base32 characters = 130 bits
_KEY = re.compile(r"^([ma])(\d{1,9})\.([0-9a-z]{1,6})\.([0-9a-z]{2})([a-z2-7]{26})$")
_BOUNCE_MAC_CHARS = 16  # 80 bits: each guess costs a forger one delivery report
_BOUNCE = re.compile(r"^(b-[0-9a-z]{1,12})\.([0-9a-z]{2})([a-z2-7]{16})$")
BOUNCE_PREFIX = "b-"


class Role(StrEnum):
    MEMBER = "m"
    AGENT = "a"


@dataclass(frozen=True)
class ReplyKey:
    ticket: int
    role: Role
    recipient: str


def _key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:2]


def _mac(secret: str, body: str, recipient: str) -> str:
    digest = hmac.new(secret.encode(), f"{body}|{fold_address(recipient)}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode().lower()[:_MAC_CHARS]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


class ReplyKeys:
    """Signs with the current secret; verifies with it and with the old ones (rotation)."""

    def __init__(self, secret: str, old_secrets: tuple[str, ...] = (), valid_days: int = 180) -> None:
        if not secret:
            raise ValueError("a reply-key secret is required")
        self._secret = secret
        self._by_id: dict[str, list[str]] = {}
        for known in (secret, *old_secrets):  # two secrets may share a 2-digit key id
            self._by_id.setdefault(_key_id(known), []).append(known)
        self._valid_days = valid_days

    def sign(self, ticket: int, role: Role, recipient: str, now: datetime) -> str:
        expiry = (now.date() + timedelta(days=self._valid_days) - _EPOCH).days
        body = f"{role.value}{ticket}.{_base36(expiry)}"
        kid = _key_id(self._secret)
        return f"{body}.{kid}{_mac(self._secret, f'{body}.{kid}', recipient)}"

    def verify(self, key: str, recipient: str, now: datetime) -> ReplyKey | None:
        """The key's meaning if it is genuine, unexpired and meant for `recipient`; else None."""
        match = _KEY.match(fold_address(key))
        if not match:
            return None
        role, ticket, expiry, kid, mac = match.groups()
        if (now.date() - _EPOCH).days > int(expiry, 36):
            return None
        body = f"{role}{ticket}.{expiry}.{kid}"
        for secret in self._by_id.get(kid, ()):
            if hmac.compare_digest(_mac(secret, body, recipient), mac):
                return ReplyKey(int(ticket), Role(role), fold_address(recipient))
        return None

    def bounce_token(self, outbox_id: int) -> str:
        """The signed token of one outbox row, for its VERP return path."""
        body = f"{BOUNCE_PREFIX}{_base36(outbox_id)}"
        kid = _key_id(self._secret)
        return f"{body}.{kid}{_bounce_mac(self._secret, f'{body}.{kid}')}"

    def verify_bounce(self, token: str) -> int | None:
        """The outbox id a genuine bounce token names (current or old secret), else None."""
        match = _BOUNCE.match(fold_address(token))
        if not match:
            return None
        body, kid, mac = match.groups()
        for secret in self._by_id.get(kid, ()):
            if hmac.compare_digest(_bounce_mac(secret, f"{body}.{kid}"), mac):
                return int(body[len(BOUNCE_PREFIX):], 36)
        return None


def _bounce_mac(secret: str, body: str) -> str:
    # No recipient: the body's "b-" keeps it apart from the reply keys' "m"/"a" bodies.
    return _mac(secret, body, "")[:_BOUNCE_MAC_CHARS]


def address_with_key(address: str, key: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{key}@{domain}"


def return_path(address: str, token: str) -> str:
    """The VERP return path for one mail; the plain address when it would not fit in 64 octets."""
    verp = address_with_key(address, token)
    return verp if len(verp.rpartition("@")[0]) <= 64 else address


def keys_in(recipients: tuple[str, ...], address: str) -> list[str]:
    """The keys in recipients of the form `<local>+<key>@<domain>` for our address."""
    local, _, domain = fold_address(address).partition("@")
    found = []
    for recipient in recipients:
        r_local, _, r_domain = fold_address(recipient).partition("@")
        base, plus, key = r_local.partition("+")
        if plus and base == local and r_domain == domain and key:
            found.append(key)
    return found


def bounce_tokens_in(recipients: tuple[str, ...], address: str) -> list[str]:
    """The bounce tokens in VERP return paths `<local>+b-...@<domain>` for our address."""
    return [key for key in keys_in(recipients, address) if key.startswith(BOUNCE_PREFIX)]
