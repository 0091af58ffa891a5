"""Signed reply keys: `<local>+<key>@<domain>` names a ticket, a role and the recipient.

A key is `<role><ticket>.<expiry day, base 36>.<key id><mac>` (gateway/tokens.py), all lower case so that
mail systems that fold local parts do not break it. The MAC (HMAC-SHA256, 130 bits kept)
covers the ticket, role, expiry and the recipient's address, so a key forwarded to
someone else does not verify for them.

A chat key `c<chat>.<expiry>.<key id><mac>` lets an agent answer one live chat by email; it
is bound to the agent's address and lives CHAT_KEY_DAYS.

A bounce token `b-<outbox id, base 36>.<key id><mac>` (80 bits kept) names one outbox row:
each mail goes out with the return path `<local>+<token>@<domain>` (VERP), so a delivery
report sent back to it is provably about that mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gateway.people import fold_address
from gateway.tokens import Signer, base36

_REPLY_PAYLOAD = re.compile(r"^([ma])(\d{1,9})$")
_BOUNCE_MAC_CHARS = 16  # 80 bits: each guess costs a forger one delivery report
_BOUNCE = re.compile(r"^(b-[0-9a-z]{1,12})\.([0-9a-z]{2}[a-z2-7]{16})$")
BOUNCE_PREFIX = "b-"
CHAT_KEY_DAYS = 30
_CHAT_PAYLOAD = re.compile(r"^c(\d{1,12})$")
_CHAT_LOOK = re.compile(r"^c\d{1,12}\.")  # looks like a chat key, genuine or not


class Role(StrEnum):
    MEMBER = "m"
    AGENT = "a"


@dataclass(frozen=True)
class ReplyKey:
    ticket: int
    role: Role
    recipient: str


class ReplyKeys:
    """Reply keys and bounce tokens, signed by `signer` (which the other token kinds share)."""

    def __init__(self, secret: str, old_secrets: tuple[str, ...], valid_days: int) -> None:
        if not secret:
            raise ValueError("a reply-key secret is required")
        self.signer = Signer(secret, old_secrets)
        self._valid_days = valid_days

    def sign(self, ticket: int, role: Role, recipient: str, now: datetime) -> str:
        return self.signer.issue(f"{role.value}{ticket}", recipient, now, self._valid_days)

    def verify(self, key: str, recipient: str, now: datetime) -> ReplyKey | None:
        """The key's meaning if it is genuine, unexpired and meant for `recipient`; else None."""
        match = _REPLY_PAYLOAD.match(self.signer.payload(key, recipient, now) or "")
        if not match:
            return None
        return ReplyKey(int(match.group(2)), Role(match.group(1)), fold_address(recipient))

    def chat_key(self, chat_id: int, agent: str, now: datetime) -> str:
        return self.signer.issue(f"c{chat_id}", agent, now, CHAT_KEY_DAYS)

    def verify_chat(self, key: str, agent: str, now: datetime) -> int | None:
        """The chat a genuine, unexpired chat key for `agent` names; else None."""
        match = _CHAT_PAYLOAD.match(self.signer.payload(key, agent, now) or "")
        return int(match.group(1)) if match else None

    def bounce_token(self, outbox_id: int) -> str:
        """The signed token of one outbox row, for its VERP return path."""
        body = f"{BOUNCE_PREFIX}{base36(outbox_id)}"
        return f"{body}.{self.signer.seal(body, chars=_BOUNCE_MAC_CHARS)}"

    def verify_bounce(self, token: str) -> int | None:
        """The outbox id a genuine bounce token names (current or old secret), else None."""
        match = _BOUNCE.match(fold_address(token))
        if not match or not self.signer.opens(match.group(1), match.group(2)):
            return None
        return int(match.group(1)[len(BOUNCE_PREFIX):], 36)


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


def chat_keys_in(recipients: tuple[str, ...], address: str) -> list[str]:
    return [key for key in keys_in(recipients, address) if _CHAT_LOOK.match(key)]


def bounce_tokens_in(recipients: tuple[str, ...], address: str) -> list[str]:
    """The bounce tokens in VERP return paths `<local>+b-...@<domain>` for our address."""
    return [key for key in keys_in(recipients, address) if key.startswith(BOUNCE_PREFIX)]
