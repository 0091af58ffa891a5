"""rate-limit: a sender beyond `max_messages_per_hour` is held, without a reply."""

from __future__ import annotations

from gateway.outgoing import HOUR
from gateway.policy.verdict import PolicyContext, Verdict

NAME = "rate-limit"


def check(ctx: PolicyContext) -> Verdict | None:
    if ctx.agent is not None:
        return None  # agents are trusted and busy; their replies are never held
    count = ctx.counters.hit(f"inbound:{ctx.msg.sender}", HOUR, ctx.now)
    if count > ctx.desk.max_messages_per_hour:
        return Verdict(NAME, "rate-limited")
    return None
