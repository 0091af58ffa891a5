"""loop-guard: never answer machines (RFC 3834), nor ourselves."""

from __future__ import annotations

from gateway.people import fold_address
from gateway.policy.verdict import PolicyContext, Verdict

NAME = "loop-guard"


def check(ctx: PolicyContext) -> Verdict | None:
    if ctx.msg.automated:
        return Verdict(NAME, ctx.msg.automated)
    sender = ctx.msg.sender
    own_local, _, own_domain = fold_address(ctx.desk.address).partition("@")
    local, _, domain = sender.partition("@")
    if domain == own_domain and local.partition("+")[0] == own_local:
        return Verdict(NAME, "self")
    return None
