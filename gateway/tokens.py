"""One HMAC scheme for every token the gateway signs: key ids, expiry and secret rotation.

A signed token ends in a seal `<key id><mac>`: the key id (two hex digits of the secret's hash)
picks the secrets to try, so a secret moved to `security.old_secrets` still verifies what it
signed. The MAC (HMAC-SHA256, base32, lower case so that folded local parts keep it) covers
`<body>.<key id>` and, when given, the folded address the token is meant for. Each kind keeps its
body apart from the others by its first characters ("m"/"a" reply keys, "b-" bounces, "c" chats,
"tg-link|" deep links).

An expiring token is `<payload>.<last valid day, base 36>.<seal>`, the day counted from 2020-01-01.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

from gateway.people import fold_address

_EPOCH = datetime(2020, 1, 1).date()
MAC_CHARS = 26  # 26 base32 characters = 130 bits
KEY_ID_CHARS = 2
# No dot in the payload: each part is scanned once, so the match is linear.
_EXPIRING = re.compile(r"^([0-9a-z-]{1,16})\.([0-9a-z]{1,6})\.([0-9a-z]{2}[a-z2-7]{26})$")


def key_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:KEY_ID_CHARS]


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _mac(secret: str, signed: str, bound_to: str, chars: int) -> str:
    digest = hmac.new(secret.encode(), f"{signed}|{fold_address(bound_to)}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode().lower()[:chars]


class Signer:
    """Seals with the current secret; opens with it and with the old ones (rotation)."""

    def __init__(self, secret: str, old_secrets: tuple[str, ...] = ()) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._secret = secret
        self._by_id: dict[str, list[str]] = {}
        for known in (secret, *old_secrets):  # two secrets may share a 2-digit key id
            self._by_id.setdefault(key_id(known), []).append(known)

    def seal(self, body: str, bound_to: str = "", chars: int = MAC_CHARS) -> str:
        """`<key id><mac>` over `<body>.<key id>` and `bound_to`, under the current secret."""
        kid = key_id(self._secret)
        return kid + _mac(self._secret, f"{body}.{kid}", bound_to, chars)

    def opens(self, body: str, seal: str, bound_to: str = "") -> bool:
        """True when `seal` is genuine for `body` and `bound_to` under a current or old secret."""
        kid, mac = seal[:KEY_ID_CHARS], seal[KEY_ID_CHARS:]
        if not mac:
            return False
        return any(hmac.compare_digest(_mac(secret, f"{body}.{kid}", bound_to, len(mac)), mac)
                   for secret in self._by_id.get(kid, ()))

    def issue(self, payload: str, bound_to: str, now: datetime, days: int) -> str:
        """`<payload>.<expiry>.<seal>`, valid through the day `days` after `now`'s."""
        expiry = (now.date() + timedelta(days=days) - _EPOCH).days
        body = f"{payload}.{base36(expiry)}"
        return f"{body}.{self.seal(body, bound_to)}"

    def payload(self, token: str, bound_to: str, now: datetime) -> str | None:
        """The payload of a genuine, unexpired token meant for `bound_to`; else None."""
        match = _EXPIRING.match(fold_address(token))
        if not match:
            return None
        payload, expiry, seal = match.groups()
        if (now.date() - _EPOCH).days > int(expiry, 36):
            return None
        return payload if self.opens(f"{payload}.{expiry}", seal, bound_to) else None
