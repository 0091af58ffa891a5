"""`gateway members invite`: a deep link that links a member's Telegram account in one step.

The token comes from `gateway.linking.new_token`; the link is mailed to the member's registered
address through the outbox (the running gateway's delivery loop sends it).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from telegram.error import TelegramError

from adapters.telegram.bot_api import make_bot
from config.settings import Settings
from gateway.desk import Desk
from gateway.errors import ConfigError, GatewayError
from gateway.linking import new_token
from gateway.outgoing import Outgoing
from gateway.replies import Kind, Reply
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class InviteError(GatewayError):
    """The invitation cannot be made (unknown member, no bot username)."""


@dataclass(frozen=True)
class Invitation:
    member_id: str
    email: str
    link: str
    expires_at: datetime


def deep_link(username: str, token: str) -> str:
    return f"https://t.me/{username}?start={token}"


def bot_username(settings: Settings) -> str:
    """`telegram.bot_username` when set (no network call), else the bot's getMe."""
    telegram = settings.telegram
    name = telegram.bot_username.strip().removeprefix("@")
    if not name:
        if not telegram.enabled:
            raise InviteError("telegram is disabled and telegram.bot_username is not set")
        name = asyncio.run(_ask_bot(settings))
    if not _USERNAME.match(name):
        raise ConfigError(f"{name!r} is not a Telegram bot username (telegram.bot_username)")
    return name


async def _ask_bot(settings: Settings) -> str:
    try:
        async with make_bot(settings.telegram) as bot:
            return str(bot.username)
    except TelegramError as error:
        raise InviteError(f"the Bot API did not answer getMe: {error}") from None


def invite(desk: Desk, engine: Engine, blobs: BlobStore, member_id: str, username: str,
           now: datetime, hours: float) -> Invitation:
    """Issue a token for `member_id` and queue the email with its link, in one transaction."""
    with SqlUnitOfWork(engine, blobs) as uow:
        member = uow.members.get(member_id)
        if member is None:
            raise InviteError(f"there is no member {member_id}")
        token, text = new_token(desk.keys.signer, member.member_id, now, hours)
        uow.links.add_token(token)
        link = deep_link(username, text)
        Outgoing(uow, desk, now).to_member(member, Reply(Kind.TELEGRAM_INVITE, member.language, {
            "member_name": member.name, "link": link, "expires_at": token.expires_at}))
        uow.commit()
    return Invitation(member.member_id, member.email, link, token.expires_at)
