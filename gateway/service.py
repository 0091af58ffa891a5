"""handle_inbound: one inbound message -> ticket changes and outbox rows, in the caller's transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from gateway import handlers
from gateway.commands import Command, Unresolved
from gateway.desk import Desk
from gateway.handlers import Outcome
from gateway.messages import Channel, InboundMessage
from gateway.outgoing import BOUNCE_KEY, BOUNCE_WINDOW, DAY, Outgoing
from gateway.parsing import parse_agent, parse_member
from gateway.people import Agent, Member
from gateway.policy import chain
from gateway.policy.verdict import PolicyContext
from gateway.ports import UnitOfWork


def handle_inbound(msg: InboundMessage, uow: UnitOfWork, desk: Desk, now: datetime) -> Outcome:
    for address in msg.bounced:  # counted before the loop guard refuses the report itself
        uow.counters.hit(f"{BOUNCE_KEY}{address}", BOUNCE_WINDOW, now)
    member, agent = identify(msg, uow)
    command = _parse(msg, member, agent, uow, desk, now)
    out = Outgoing(uow, desk, now)
    verdict = chain.run(PolicyContext(msg, member, agent, command, desk, uow.counters, now))
    if verdict is not None:
        if verdict.reply and out.once_per(f"refusal:{verdict.reason}:{msg.sender}", DAY):
            out.to_address(msg.sender, verdict.reply, msg)
        return Outcome(False, verdict.reason, verdict.rule, sent=len(out.sent))
    assert command is not None  # the known-sender rule refused everyone without one
    request = handlers.Request(msg, member, agent, uow, desk, out, now)
    if isinstance(command, Unresolved):
        return _unresolved(command, request)
    outcome = handlers.dispatch(command, request)
    return dataclasses.replace(outcome, sent=len(out.sent))


def identify(msg: InboundMessage, uow: UnitOfWork) -> tuple[Member | None, Agent | None]:
    if msg.channel is Channel.TELEGRAM:
        return uow.members.by_telegram(int(msg.sender)), None
    if not msg.sender:
        return None, None
    return uow.members.by_email(msg.sender), uow.agents.by_email(msg.sender)


def _parse(msg: InboundMessage, member: Member | None, agent: Agent | None,
           uow: UnitOfWork, desk: Desk, now: datetime) -> Command | None:
    if agent is not None:
        command = parse_agent(msg, agent, uow.tickets, desk.keys, desk.address,
                              desk.default_agent_address, now)
        if not isinstance(command, Unresolved) or member is None:
            return command
    if member is not None:
        return parse_member(msg, member, uow.tickets, desk.keys, desk.address, now)
    return None


def _unresolved(command: Unresolved, request: handlers.Request) -> Outcome:
    out, msg = request.out, request.msg
    if command.reason == "agent-key" and request.agent:
        error = "it did not reach a ticket: reply to a ticket notification to act on a ticket"
        out.to_agent(request.agent, handlers.agent_error("", error), None)
    elif request.member and out.once_per(f"refusal:not-found:{msg.sender}", DAY):
        reply = handlers.member_reply(request.member, "refusal_not_found", {"ref": command.ref})
        out.to_member(request.member, reply, answering=msg)
    return Outcome(False, command.reason, "parsing", sent=len(out.sent))
