"""One handler per command: it changes tickets and says what happened (events), nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway import agent_mistakes
from gateway import events as ev
from gateway.agent_mistakes import AgentMistake, Refusal
from gateway.commands import (
    AddMessage,
    AgentAction,
    AgentReply,
    CloseTicket,
    Ignore,
    ListTickets,
    OpenTicket,
    RateTicket,
    ShowTicket,
    Tell,
    ThankClosed,
)
from gateway.desk import Desk
from gateway.hours import next_window
from gateway.messages import Attachment, InboundMessage
from gateway.outgoing import one_line
from gateway.people import Agent, Author, Entry, Member
from gateway.ports import UnitOfWork
from gateway.replies import Kind
from gateway.tickets import (
    Move,
    Satisfaction,
    Status,
    Ticket,
    TransitionRefused,
    format_ref,
    parse_ref,
)

LAST_MESSAGES = 5
MESSAGE_PREVIEW = 700


@dataclass(frozen=True)
class Outcome:
    """How an inbound message was disposed of; `reason` is a stable code for logs and the inbox."""

    accepted: bool
    reason: str
    rule: str = ""
    ticket_ref: str = ""
    sent: int = 0
    events: tuple[ev.Event, ...] = field(default=(), compare=False)  # what to announce


@dataclass(frozen=True)
class Request:
    msg: InboundMessage
    member: Member | None
    agent: Agent | None
    uow: UnitOfWork
    desk: Desk
    now: datetime


def accepted_with(ticket: Ticket | None, *events: ev.Event) -> Outcome:
    return Outcome(True, "ok", ticket_ref=ticket.ref if ticket else "", events=events)


def open_ticket(command: OpenTicket, r: Request) -> Outcome:
    member, follows = _member(r), command.follows
    declared = r.desk.languages.parse_title(command.title)
    language = follows.language if follows else declared.code if declared else member.language
    ticket = r.uow.tickets.add(one_line(command.title, 200), language, member.member_id,
                               r.msg.channel, r.now, follows=follows.number if follows else None)
    _record(r, ticket, Author.MEMBER, member.member_id, command.text, r.msg.attachments)
    if r.msg.bot is not None:
        r.uow.forms.clear(r.msg.user_id)  # the /new form is done
    detected = r.desk.detector.detect(command.text)
    return accepted_with(ticket, ev.TicketOpened(ticket, command.text, detected))


def add_message(command: AddMessage, r: Request) -> Outcome:
    member, ticket = _member(r), command.ticket
    was_feedback = ticket.status is Status.AWAITING_FEEDBACK
    reopened = ticket.status is Status.CLOSED
    happened: list[ev.Event] = []
    if reopened:  # parsing sends here only what came within policy.reopen_days
        ticket.move(Move.REOPEN, r.now)
        happened.append(ev.TicketReopened(ticket))
    elif was_feedback:
        ticket.move(Move.GIVE_FEEDBACK, r.now)
    _record(r, ticket, Author.MEMBER, member.member_id, command.text, r.msg.attachments)
    happened.append(ev.MessageAdded(ticket, command.text, was_feedback, reopened))
    if r.msg.bot is not None and r.msg.rejected_attachments:
        happened.insert(0, file_refused(r))
    return accepted_with(ticket, *happened)


def close_ticket(command: CloseTicket, r: Request) -> Outcome:
    member, ticket = _member(r), command.ticket
    changed = ticket.status is not Status.CLOSED
    if changed:
        ticket.move(Move.CLOSE, r.now)
        _record(r, ticket, Author.MEMBER, member.member_id, command.text or "/close")
    return accepted_with(ticket, ev.TicketClosed(ticket, ev.ClosedBy.MEMBER, changed=changed))


def rate_ticket(command: RateTicket, r: Request) -> Outcome:
    """Kept on the closed ticket, which stays closed; the latest rating counts."""
    member, ticket = _member(r), command.ticket
    first = ticket.satisfaction is None
    ticket.satisfaction = Satisfaction(command.score, command.comment, r.now)
    _record(r, ticket, Author.MEMBER, member.member_id, command.text, r.msg.attachments)
    return Outcome(True, "rated", ticket_ref=ticket.ref, events=(ev.TicketRated(ticket, first),))


def thank_closed(command: ThankClosed, r: Request) -> Outcome:
    """Kept on the ticket, which stays closed; nobody is told."""
    _record(r, command.ticket, Author.MEMBER, _member(r).member_id, command.text)
    return Outcome(True, "thanks", ticket_ref=command.ticket.ref)


def list_tickets(command: ListTickets, r: Request) -> Outcome:
    tickets = tuple(r.uow.tickets.for_member(_member(r).member_id))
    return accepted_with(None, ev.TicketsListed(tickets))


def agent_reply(command: AgentReply, r: Request) -> Outcome:
    """Acted on whole or not at all: a mistake changes nothing and reaches no member."""
    agent, ticket, actions = r.agent, command.ticket, command.actions
    assert agent is not None
    refusal = agent_mistakes.check(command)
    chosen = agent_mistakes.move_of(actions)
    if refusal is None and chosen is not None:
        try:
            ticket.move(chosen[1], r.now)
        except TransitionRefused:  # `/open` on an open ticket, `/feedback` on a closed one
            refusal = Refusal(AgentMistake.WRONG_STATUS, (chosen[0].value,))
    if refusal is not None:
        return Outcome(False, refusal.mistake.value, "tickets", ticket.ref,
                       events=(ev.AgentCommandRefused(ticket, refusal),))
    note = AgentAction.NOTE in actions
    _record(r, ticket, Author.AGENT, agent.email, command.text or " ".join(sorted(actions)),
            internal=note)
    move = chosen[1] if chosen else None
    return accepted_with(ticket, *_agent_events(ticket, move, "" if note else command.text))


def _agent_events(ticket: Ticket, move: Move | None, text: str) -> tuple[ev.Event, ...]:
    """What the member hears; `text` is empty for a /note, which stays internal."""
    if move is Move.REQUEST_FEEDBACK:
        return (ev.FeedbackRequested(ticket, text),)
    if move is Move.CLOSE:
        return (ev.TicketClosed(ticket, ev.ClosedBy.AGENT, text),)
    if text:  # with /open too: the words matter more than the status change
        return (ev.AgentAnswered(ticket, text),)
    return (ev.TicketReopened(ticket, by_agent=True),) if move is Move.REOPEN else ()


def file_refused(r: Request) -> ev.Answered:
    too_big = r.msg.bot is not None and r.msg.bot.file_too_big
    return ev.Answered(Kind.TG_FILE_REFUSED, {"names": list(r.msg.rejected_attachments),
                                              "too_big": too_big})


def tell(command: Tell, r: Request) -> Outcome:
    data: dict[str, Any] = {}
    if command.topic is Kind.TG_HOURS:
        english = next_window(r.desk.windows, "en", r.now)
        other = next_window(r.desk.windows, "xx", r.now) or english
        data = {"en_start": english[0] if english else None,
                "en_end": english[1] if english else None,
                "all_start": other[0] if other else None, "all_end": other[1] if other else None}
    return Outcome(True, f"command-{command.topic.removeprefix('tg_')}",
                   events=(ev.Answered(command.topic, data),))


def show_ticket(command: ShowTicket, r: Request) -> Outcome:
    """One ticket with its last messages, if it is the member's (asked again on every call)."""
    number = parse_ref(command.ref)
    ticket = r.uow.tickets.get(number) if number is not None else None
    if ticket is None or ticket.member_id != _member(r).member_id:
        ref = format_ref(number) if number else command.ref[:20]
        return accepted_with(None, ev.Answered(Kind.TG_TICKET_NOT_FOUND, {"ref": ref}))
    messages = [{"at": entry.at, "agent": entry.author_kind is Author.AGENT,
                 "text": entry.text[:MESSAGE_PREVIEW]}
                for entry in r.uow.tickets.last_entries(ticket, LAST_MESSAGES)]
    return accepted_with(ticket, ev.Answered(Kind.TG_TICKET, {
        "ref": ticket.ref, "title": ticket.title, "status": ticket.status.value,
        "opened_at": ticket.opened_at, "closed_at": ticket.closed_at, "messages": messages},
        language=ticket.language, ticket_ref=ticket.ref))


def ignore(command: Ignore, r: Request) -> Outcome:
    return Outcome(command.accepted, command.reason, "" if command.accepted else command.rule)


def _record(r: Request, ticket: Ticket, kind: Author, author: str, text: str,
            attachments: tuple[Attachment, ...] = (), internal: bool = False) -> None:
    entry = Entry(kind, author, r.msg.channel, text, r.msg.external_id, internal, attachments)
    r.uow.tickets.add_entry(ticket, entry, r.now)
    r.uow.tickets.save(ticket)


def _member(r: Request) -> Member:
    assert r.member is not None  # parse_member only ever runs for members
    return r.member
