"""Hard bounces count only when a report is provably about mail the gateway sent.

Anyone can mail a `multipart/report` naming any address, so a report counts for a failed
recipient only when it names one of our outbox rows to that same recipient: by the signed
VERP return path it was delivered to (`<local>+b-<token>@<domain>`), or by the original
Message-ID it quotes. Each row counts once; after SUSPEND_AFTER_BOUNCES rows in the window
no more mail goes to the address (gateway.outgoing).

Agents' addresses are suspended like anyone's (mail to a dead mailbox helps nobody), but
never silently: the threshold logs `ALERT agent address suspended`, `gateway doctor` lists
them, and notifications go to the other agents of the language or the default address.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from gateway.desk import Desk
from gateway.messages import InboundMessage, SentMail
from gateway.people import fold_address
from gateway.ports import UnitOfWork
from gateway.replykeys import bounce_tokens_in

log = logging.getLogger(__name__)
BOUNCE_KEY = "hard-bounce:"
ROW_KEY = "bounced-row:"
BOUNCE_WINDOW = timedelta(days=30)
SUSPEND_AFTER_BOUNCES = 3
MAX_EVIDENCE = 20  # tokens and Message-IDs looked at per report


def redact(address: str) -> str:
    """An address as logs may show it: the domain only."""
    return "***@" + address.rpartition("@")[2][:100]


def is_agent_address(address: str, uow: UnitOfWork, desk: Desk) -> bool:
    return fold_address(address) == fold_address(desk.default_agent_address) or (
        uow.agents.by_email(address) is not None)


def suspended(address: str, uow: UnitOfWork, now: datetime) -> bool:
    key = f"{BOUNCE_KEY}{fold_address(address)}"
    return uow.counters.peek(key, BOUNCE_WINDOW, now) >= SUSPEND_AFTER_BOUNCES


def record_bounces(msg: InboundMessage, uow: UnitOfWork, desk: Desk, now: datetime) -> int:
    """Count the report's hard bounces that are proven; return how many counted."""
    if not msg.bounced:
        return 0
    failed = {fold_address(address) for address in msg.bounced}
    counted = 0
    for mail in _proven_mail(msg, uow, desk):
        recipient = fold_address(mail.recipient)
        if recipient not in failed:
            continue  # the report is about our mail, but not about this address
        if uow.counters.hit(f"{ROW_KEY}{mail.outbox_id}", BOUNCE_WINDOW, now) > 1:
            continue  # the same mail reported again counts once
        counted += 1
        count = uow.counters.hit(f"{BOUNCE_KEY}{recipient}", BOUNCE_WINDOW, now)
        log.info("hard bounce counted", extra={"outbox_id": mail.outbox_id, "bounces": count,
                                              "address": redact(recipient)})
        if count == SUSPEND_AFTER_BOUNCES and is_agent_address(recipient, uow, desk):
            log.error("ALERT agent address suspended", extra={
                "address": redact(recipient), "bounces": count,
                "action": "fix the mailbox or the agent's address; see gateway doctor"})
    if not counted:
        log.warning("delivery report about no mail we sent: nothing counted", extra={
            "failed": len(failed), "return_paths": len(msg.report_to),
            "message_ids": len(msg.reported_message_ids)})
    return counted


def _proven_mail(msg: InboundMessage, uow: UnitOfWork, desk: Desk) -> list[SentMail]:
    """Our outbox rows the report names by a genuine VERP token or an original Message-ID."""
    found: dict[int, SentMail] = {}
    for token in bounce_tokens_in(msg.report_to, desk.address)[:MAX_EVIDENCE]:
        outbox_id = desk.keys.verify_bounce(token)
        mail = uow.outbox.sent_mail(outbox_id) if outbox_id is not None else None
        if mail is None:
            log.warning("delivery report to a forged or unknown return path: not counted")
            continue
        found[mail.outbox_id] = mail
    for mail in uow.outbox.sent_with_message_id(msg.reported_message_ids[:MAX_EVIDENCE]):
        found[mail.outbox_id] = mail
    return list(found.values())
