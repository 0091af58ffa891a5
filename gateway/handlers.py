"""One handler per command; each changes tickets and queues what to say, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.commands import (
    AddMessage,
    AgentAction,
    AgentReply,
    CloseTicket,
    Command,
    ListTickets,
    OpenTicket,
)
from gateway.desk import Desk
from gateway.hours import next_window
from gateway.messages import AttachmentRef, InboundMessage
from gateway.outgoing import DAY, Outgoing, one_line
from gateway.people import Agent, Author, Entry, Member
from gateway.ports import UnitOfWork
from gateway.replies import Reply
from gateway.tickets import Move, Status, Ticket, TransitionRefused


@dataclass(frozen=True)
class Outcome:
    """How an inbound message was disposed of; `reason` is a stable code for logs and the inbox."""

    accepted: bool
    reason: str
    rule: str = ""
    ticket_ref: str = ""
    sent: int = 0


def accepted(ticket: Ticket | None = None) -> Outcome:
    return Outcome(True, "ok", ticket_ref=ticket.ref if ticket else "")


@dataclass(frozen=True)
class Request:
    msg: InboundMessage
    member: Member | None
    agent: Agent | None
    uow: UnitOfWork
    desk: Desk
    out: Outgoing
    now: datetime


def member_reply(member: Member, kind: str, data: Mapping[str, Any],
                 language: str | None = None) -> Reply:
    return Reply(kind, language or member.language, {"member_name": member.name, **data})


def agent_error(ref: str, error: str) -> Reply:
    return Reply("agent_command_error", "en", {"ref": ref, "error": error})


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {"ref": ticket.ref, "title": ticket.title, "status": ticket.status.value}


def agent_data(ticket: Ticket, member: Member, msg: InboundMessage, text: str,
               detected: str | None = None) -> dict[str, Any]:
    return {
        **ticket_data(ticket), "language": ticket.language, "detected_language": detected,
        "member_name": member.name, "member_id": member.member_id, "rank": member.rank,
        "channel": ticket.channel.value, "text": text,
        "attachments": [a.filename for a in msg.attachments],
        "rejected_attachments": list(msg.rejected_attachments),
    }


def refs(msg: InboundMessage) -> list[AttachmentRef]:
    return [AttachmentRef(a.filename, a.content_type, a.digest) for a in msg.attachments]


def open_ticket(command: OpenTicket, r: Request) -> Outcome:
    member = _member(r)
    declared = r.desk.languages.parse_title(command.title)
    language = declared.code if declared else member.language
    ticket = r.uow.tickets.add(one_line(command.title, 200), language, member.member_id,
                               r.msg.channel, r.now)
    _record(r, ticket, Author.MEMBER, member.member_id, command.text)
    detected = r.desk.detector.detect(command.text)
    window = next_window(r.desk.windows, language, r.now)
    data = {**ticket_data(ticket), "window_start": window[0] if window else None,
            "window_end": window[1] if window else None,
            "rejected_attachments": list(r.msg.rejected_attachments)}
    r.out.to_member(member, member_reply(member, "ticket_opened", data, language),
                    ticket=ticket, answering=r.msg)
    mismatch = detected if detected and detected != language else None
    r.out.to_agents(ticket, Reply("agent_new_ticket", "en",
                                  agent_data(ticket, member, r.msg, command.text, mismatch)),
                    refs(r.msg))
    return accepted(ticket)


def add_message(command: AddMessage, r: Request) -> Outcome:
    member, ticket = _member(r), command.ticket
    is_feedback = ticket.status is Status.AWAITING_FEEDBACK
    reopened = ticket.status is Status.CLOSED
    if reopened:
        if not ticket.may_reopen(r.now, r.desk.reopen_days):
            if r.out.once_per(f"refusal:reopen-expired:{member.member_id}", DAY):
                data = {**ticket_data(ticket), "reopen_days": r.desk.reopen_days}
                r.out.to_member(member, member_reply(member, "refusal_reopen_expired", data,
                                                     ticket.language), answering=r.msg)
            return Outcome(False, "reopen-expired", "tickets", ticket.ref)
        ticket.move(Move.REOPEN, r.now)
        r.out.to_member(member, member_reply(member, "ticket_reopened", ticket_data(ticket),
                                             ticket.language), ticket=ticket, answering=r.msg)
    elif is_feedback:
        ticket.move(Move.GIVE_FEEDBACK, r.now)
    _record(r, ticket, Author.MEMBER, member.member_id, command.text)
    # At most one automatic acknowledgement per ticket per day (RELIABILITY 19).
    if not reopened and r.out.once_per(f"ack:{ticket.ref}", DAY):
        data = {**ticket_data(ticket), "rejected_attachments": list(r.msg.rejected_attachments)}
        r.out.to_member(member, member_reply(member, "message_added", data, ticket.language),
                        ticket=ticket, answering=r.msg)
    data = {**agent_data(ticket, member, r.msg, command.text), "is_feedback": is_feedback}
    r.out.to_agents(ticket, Reply("agent_member_reply", "en", data), refs(r.msg))
    return accepted(ticket)


def close_ticket(command: CloseTicket, r: Request) -> Outcome:
    member, ticket = _member(r), command.ticket
    if ticket.status is not Status.CLOSED:
        ticket.move(Move.CLOSE, r.now)
        _record(r, ticket, Author.MEMBER, member.member_id, command.text or "/close")
        r.out.to_agents(ticket, Reply("agent_ticket_closed", "en", {
            **ticket_data(ticket), "member_name": member.name, "member_id": member.member_id,
            "closed_by": "member"}))
    data = {**ticket_data(ticket), "closed_by": "member", "text": "",
            "reopen_days": r.desk.reopen_days}
    r.out.to_member(member, member_reply(member, "ticket_closed", data, ticket.language),
                    ticket=ticket, answering=r.msg)
    return accepted(ticket)


def list_tickets(command: ListTickets, r: Request) -> Outcome:
    member = _member(r)
    groups: dict[str, list[dict[str, Any]]] = {status.value: [] for status in Status}
    for ticket in r.uow.tickets.for_member(member.member_id):
        groups[ticket.status.value].append({"ref": ticket.ref, "title": ticket.title,
                                            "opened_at": ticket.opened_at,
                                            "closed_at": ticket.closed_at})
    r.out.to_member(member, member_reply(member, "ticket_list", groups), answering=r.msg)
    return accepted()


def agent_reply(command: AgentReply, r: Request) -> Outcome:
    agent, ticket, actions = r.agent, command.ticket, command.actions
    assert agent is not None
    member = r.uow.members.get(ticket.member_id)
    try:
        move = _agent_move(actions, bool(command.text))
        if (move, ticket.status) == (Move.REOPEN, Status.OPEN):
            move = None  # already open: nothing changes, nothing to announce
        elif move is not None:
            ticket.move(move, r.now)
    except TransitionRefused as error:
        r.out.to_agent(agent, agent_error(ticket.ref, str(error)), ticket)
        return Outcome(False, "agent-command", "tickets", ticket.ref)
    note = AgentAction.NOTE in actions
    _record(r, ticket, Author.AGENT, agent.email, command.text or " ".join(sorted(actions)),
            internal=note)
    if member is None or note or (move is None and not command.text):
        return accepted(ticket)
    kind = MEMBER_KIND.get(move, "agent_answer")
    if move is Move.REOPEN and command.text:
        kind = "agent_answer"  # the words matter more than the status change
    data = {**ticket_data(ticket), "text": command.text, "closed_by": "agent",
            "reopen_days": r.desk.reopen_days}
    r.out.to_member(member, member_reply(member, kind, data, ticket.language), ticket=ticket,
                    auto=False)
    return accepted(ticket)


MEMBER_KIND: dict[Move | None, str] = {
    Move.REQUEST_FEEDBACK: "feedback_requested",
    Move.CLOSE: "ticket_closed",
    Move.REOPEN: "ticket_reopened",
}


def _agent_move(actions: frozenset[AgentAction], has_text: bool) -> Move | None:
    moves = {AgentAction.FEEDBACK: Move.REQUEST_FEEDBACK, AgentAction.CLOSE: Move.CLOSE,
             AgentAction.OPEN: Move.REOPEN}
    chosen = {moves[action] for action in actions if action in moves}
    if len(chosen) > 1:
        raise TransitionRefused("use one of /feedback, /close and /open at a time")
    if not chosen and not has_text:
        raise TransitionRefused("the reply had neither text nor a command")
    return chosen.pop() if chosen else None


def _record(r: Request, ticket: Ticket, kind: Author, author: str, text: str,
            internal: bool = False) -> None:
    attachments = r.msg.attachments if kind is Author.MEMBER else ()
    entry = Entry(kind, author, r.msg.channel, text, r.msg.external_id, internal, attachments)
    r.uow.tickets.add_entry(ticket, entry, r.now)
    r.uow.tickets.save(ticket)


def _member(r: Request) -> Member:
    assert r.member is not None  # parse_member only ever runs for members
    return r.member


HANDLERS: dict[type[Any], Callable[[Any, Request], Outcome]] = {
    OpenTicket: open_ticket,
    AddMessage: add_message,
    CloseTicket: close_ticket,
    ListTickets: list_tickets,
    AgentReply: agent_reply,
}


def dispatch(command: Command, request: Request) -> Outcome:
    return HANDLERS[type(command)](command, request)
