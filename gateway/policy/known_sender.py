"""known-sender: only members and agents (whose mail authenticates) are served."""

from __future__ import annotations

from gateway.policy.verdict import PolicyContext, Verdict
from gateway.replies import Reply

NAME = "known-sender"


def check(ctx: PolicyContext) -> Verdict | None:
    if not ctx.msg.authenticated:
        # No reply: answering a forged sender would be backscatter.
        return Verdict(NAME, "unauthenticated")
    if ctx.member is None and ctx.agent is None:
        language = ctx.desk.detector.detect(f"{ctx.msg.subject}\n{ctx.msg.text}") or "en"
        reply = Reply("refusal_unknown_sender", language, {"address": ctx.msg.sender})
        return Verdict(NAME, "unknown-sender", reply if ctx.msg.sender else None)
    return None
