"""rank: opening a ticket needs `policy.min_rank` or above; existing tickets stay open to all."""

from __future__ import annotations

from gateway.commands import OpenTicket, StartTicketForm
from gateway.policy.verdict import PolicyContext, Verdict
from gateway.replies import Kind, Reply

NAME = "rank"


def check(ctx: PolicyContext) -> Verdict | None:
    member = ctx.member
    if member is None or not isinstance(ctx.command, OpenTicket | StartTicketForm):
        return None
    if ctx.desk.rank_allows_tickets(member.rank):
        return None
    data = {"member_name": member.name, "rank": member.rank, "min_rank": ctx.desk.min_rank}
    return Verdict(NAME, "rank-too-low", Reply(Kind.REFUSAL_RANK, member.language, data))
