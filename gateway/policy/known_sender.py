"""known-sender: only members and agents (whose mail authenticates) are served; on Telegram,
anyone may ask for help, hours, linking or the chat, and only linked members act on tickets."""

from __future__ import annotations

from gateway.commands import needs_member
from gateway.policy.verdict import PolicyContext, Verdict
from gateway.replies import Kind, Reply

NAME = "known-sender"


def check(ctx: PolicyContext) -> Verdict | None:
    if not ctx.msg.authenticated:
        # No reply: answering a forged sender would be backscatter.
        return Verdict(NAME, "unauthenticated")
    if ctx.msg.bot is not None:  # anyone may write to the bot; only members act on tickets
        if ctx.member is None and needs_member(ctx.command):
            language = ctx.desk.language_for(None, ctx.msg.bot.locale)
            return Verdict(NAME, "not-linked", Reply(Kind.TG_NOT_LINKED, language))
        return None
    if ctx.member is None and ctx.agent is None:
        language = ctx.desk.detector.detect(f"{ctx.msg.subject}\n{ctx.msg.text}") or "en"
        reply = Reply(Kind.REFUSAL_UNKNOWN_SENDER, language, {"address": ctx.msg.sender})
        return Verdict(NAME, "unknown-sender", reply if ctx.msg.sender else None)
    return None
