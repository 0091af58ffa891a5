"""handle_inbound: one inbound message -> ticket changes and outbox rows, in the caller's transaction.

Every channel takes this path: identify -> parse to a command -> policy chain -> handler ->
events -> notify -> outbox.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from gateway import events as ev
from gateway import notify
from gateway.agent_mistakes import AgentMistake, Refusal
from gateway.bot_parsing import parse_bot, starts_over
from gateway.bounces import record_bounces
from gateway.commands import AgentReply, Command, OpenTicket, Unresolved
from gateway.desk import Desk
from gateway.dispatch import dispatch
from gateway.handlers import Outcome, Request
from gateway.messages import Channel, InboundMessage
from gateway.outgoing import Outgoing
from gateway.parsing import parse_agent, parse_member
from gateway.people import Agent, Member, fold_address
from gateway.policy import chain
from gateway.policy.verdict import PolicyContext
from gateway.ports import UnitOfWork
from gateway.replies import Kind, Reply

DESK_MAILBOX = "Service desk"  # the name the shared desk mailbox acts under


def handle_inbound(msg: InboundMessage, uow: UnitOfWork, desk: Desk, now: datetime) -> Outcome:
    record_bounces(msg, uow, desk, now)  # before the loop guard refuses the report itself
    member, agent = identify(msg, uow, desk)
    out = Outgoing(uow, desk, now)
    if msg.bot is not None and msg.bot.button_id:
        out.acknowledge_button(msg.bot.chat_id, msg.bot.button_id)
    command = _parse(msg, member, agent, uow, desk, now)
    verdict = chain.run(PolicyContext(msg, member, agent, command, desk, uow.counters, now))
    if verdict is not None:
        if verdict.reply and out.refusal_due(verdict.reason, msg):
            out.to_address(msg.sender, verdict.reply, msg)
        return Outcome(False, verdict.reason, verdict.rule, sent=len(out.sent))
    assert command is not None  # the known-sender rule refused everyone without one
    if isinstance(command, Unresolved):
        return _unresolved(command, msg, member, agent, out, desk, now)
    if starts_over(msg):
        uow.forms.clear(msg.user_id)
    if isinstance(command, OpenTicket):  # a form's files arrive with the command, not the message
        msg = dataclasses.replace(msg, attachments=command.attachments,
                                  rejected_attachments=command.rejected)
    outcome = dispatch(command, Request(msg, member, agent, uow, desk, now))
    if isinstance(command, AgentReply):  # the agent writes; the ticket's member is told
        member = uow.members.get(command.ticket.member_id)
    notify.announce(outcome.events, notify.Audience(member, agent, msg, out, desk, now))
    return dataclasses.replace(outcome, sent=len(out.sent))


def identify(msg: InboundMessage, uow: UnitOfWork, desk: Desk
             ) -> tuple[Member | None, Agent | None]:
    if msg.channel is Channel.TELEGRAM:
        return (uow.members.by_telegram(msg.user_id) if msg.sender else None), None
    if not msg.sender:
        return None, None
    return uow.members.by_email(msg.sender), _agent(msg.sender, uow, desk)


def _agent(address: str, uow: UnitOfWork, desk: Desk) -> Agent | None:
    """The agents table's, else the shared desk mailbox (`agents.default_address`): it gets
    what no language's agent covers, so it is an agent for every language."""
    agent = uow.agents.by_email(address)
    if agent is None and fold_address(address) == fold_address(desk.default_agent_address):
        return Agent(desk.default_agent_address, DESK_MAILBOX,
                     frozenset(desk.languages.by_code))
    return agent


def _parse(msg: InboundMessage, member: Member | None, agent: Agent | None,
           uow: UnitOfWork, desk: Desk, now: datetime) -> Command | None:
    if msg.bot is not None:
        return parse_bot(msg, member, uow, desk.after_close, now)
    if agent is not None:
        command = parse_agent(msg, agent, uow.tickets, desk.keys, desk.address,
                              desk.default_agent_address, now)
        if not isinstance(command, Unresolved) or member is None:
            return command
    if member is not None:
        return parse_member(msg, member, uow.tickets, desk.keys, desk.address, now,
                            desk.after_close)
    return None


def _unresolved(command: Unresolved, msg: InboundMessage, member: Member | None,
                agent: Agent | None, out: Outgoing, desk: Desk, now: datetime) -> Outcome:
    if agent and command.reason in set(AgentMistake):  # reached no ticket: tell the agent why
        refused = ev.AgentCommandRefused(None, Refusal(AgentMistake(command.reason),
                                                       ref=command.ref))
        notify.announce((refused,), notify.Audience(None, agent, msg, out, desk, now))
    elif member and out.refusal_due("not-found", msg):
        reply = Reply(Kind.REFUSAL_NOT_FOUND, member.language,
                      {"member_name": member.name, "ref": command.ref})
        out.to_member(member, reply, answering=msg)
    return Outcome(False, command.reason, "parsing", sent=len(out.sent))
