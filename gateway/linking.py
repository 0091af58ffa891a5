"""Linking a Telegram account to a member (CONTRACT §6): mailed one-time codes and deep links.

Nothing here tells whether an address or member ID exists: the answer to an identity is the
same either way, and a code for nobody simply never matches. The bot never asks for a password.
Codes and tokens are sealed by the desk's signer, so `security.old_secrets` still open them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from gateway import events as ev
from gateway.commands import LinkAccount, LinkStep
from gateway.conversations import Flow, Form, LinkCode, LinkToken, Step
from gateway.handlers import Outcome, Request, accepted_with
from gateway.outgoing import HOUR
from gateway.replies import Kind
from gateway.tokens import Signer

CODE_MINUTES = 10
MAX_TRIES = 5
CODES_PER_HOUR = 5  # per Telegram account
CODES_PER_MEMBER_PER_HOUR = 3  # per member, whichever accounts ask
MAX_IDENTITY = 320
NONCE_CHARS = 16
# The nonce, then the signer's seal (key id, MAC).
_TOKEN = re.compile(rf"^[A-Za-z0-9_-]{{{NONCE_CHARS}}}[0-9a-f]{{2}}[a-z2-7]{{26}}$")
_SPACE = re.compile(r"\s")


def new_token(signer: Signer, member_id: str, now: datetime,
              hours: float) -> tuple[LinkToken, str]:
    """A deep-link token for `https://t.me/<bot>?start=<token>` (44 characters) and its stored
    half; it works once, until it expires."""
    nonce = secrets.token_urlsafe(12)[:NONCE_CHARS]
    expires = (now + timedelta(hours=hours)).replace(microsecond=0)
    token = LinkToken(nonce, member_id, expires)
    return token, nonce + signer.seal(_token_body(token))


def link_account(command: LinkAccount, r: Request) -> Outcome:
    return _STEPS[command.step](command.text, r)


def _ask(_text: str, r: Request) -> Outcome:
    r.uow.forms.save(r.msg.user_id, Form(Flow.LINK, Step.IDENTITY), r.now)
    return accepted_with(None, ev.Answered(Kind.TG_LINK_ASK))


def _mail_code(text: str, r: Request) -> Outcome:
    """Mail a code if `text` names a member; say the same thing in every case."""
    uid, links = r.msg.user_id, r.uow.links
    for old in links.codes_pending(uid):
        old.used_at = r.now
        links.save_code(old)
    member = r.uow.members.find(text.strip()) if len(text) <= MAX_IDENTITY else None
    under_cap = r.uow.counters.hit(f"tg-link-code:{uid}", HOUR, r.now) <= CODES_PER_HOUR
    if member is not None and under_cap:
        mailed = links.codes_mailed(member.member_id, r.now - HOUR)
        under_cap = mailed < CODES_PER_MEMBER_PER_HOUR
    mailed_to = member if member is not None and under_cap else None
    code = f"{secrets.randbelow(10**6):06d}"
    links.add_code(LinkCode(0, uid, mailed_to.member_id if mailed_to else "",
                            r.desk.keys.signer.seal(f"tg-code|{uid}|{code}"), 0,
                            r.now + timedelta(minutes=CODE_MINUTES)), r.now)
    r.uow.forms.save(uid, Form(Flow.LINK, Step.CODE), r.now)
    sent = ev.Answered(Kind.TG_LINK_SENT, {"minutes": CODE_MINUTES})
    if mailed_to is None:
        return accepted_with(None, sent)
    return accepted_with(None, ev.LinkCodeIssued(mailed_to, code, CODE_MINUTES), sent)


def _check_code(text: str, r: Request) -> Outcome:
    """The right code, for this Telegram user, in time, within MAX_TRIES tries, once."""
    uid, links = r.msg.user_id, r.uow.links
    pending = links.codes_pending(uid)
    row = pending[0] if pending else None
    if row is None or row.expires_at <= r.now or row.tries >= MAX_TRIES:
        r.uow.forms.clear(uid)
        return accepted_with(None, ev.Answered(Kind.TG_LINK_FAILED))
    row.tries += 1
    code = _SPACE.sub("", text)
    if row.member_id and r.desk.keys.signer.opens(f"tg-code|{uid}|{code}", row.code_hash):
        row.used_at = r.now
        links.save_code(row)
        r.uow.forms.clear(uid)
        return _link(row.member_id, r)
    if row.tries >= MAX_TRIES:
        row.used_at = r.now
        r.uow.forms.clear(uid)
        answer = ev.Answered(Kind.TG_LINK_FAILED)
    else:
        answer = ev.Answered(Kind.TG_LINK_WRONG_CODE, {"left": MAX_TRIES - row.tries})
    links.save_code(row)
    return accepted_with(None, answer)


def _redeem(text: str, r: Request) -> Outcome:
    """Link the member a genuine (current or old secret), unexpired, unused token names."""
    token = r.uow.links.token(text[:NONCE_CHARS]) if _TOKEN.match(text) else None
    if (token is None or token.used_at is not None or token.expires_at <= r.now
            or not r.desk.keys.signer.opens(_token_body(token), text[NONCE_CHARS:])):
        return accepted_with(None, ev.Answered(Kind.TG_LINK_TOKEN_BAD))
    token.used_at = r.now
    r.uow.links.save_token(token)
    return _link(token.member_id, r)


def _link(member_id: str, r: Request) -> Outcome:
    member = r.uow.members.link_telegram(member_id, r.msg.user_id)
    if member is None:
        return accepted_with(None, ev.Answered(Kind.TG_LINK_TOKEN_BAD))
    return accepted_with(None, ev.AccountLinked(member))


def _token_body(token: LinkToken) -> str:
    return f"tg-link|{token.nonce}|{token.member_id}|{int(token.expires_at.timestamp())}"


_STEPS: dict[LinkStep, Callable[[str, Request], Outcome]] = {
    LinkStep.START: _ask, LinkStep.IDENTITY: _mail_code, LinkStep.CODE: _check_code,
    LinkStep.TOKEN: _redeem}
