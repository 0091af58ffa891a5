"""Events -> who is told what: the member in their language, the agents of the ticket's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway import events as ev
from gateway.desk import Desk
from gateway.hours import next_window
from gateway.messages import AttachmentRef, InboundMessage
from gateway.outgoing import DAY, Outgoing
from gateway.people import Agent, Member
from gateway.replies import Reply
from gateway.tickets import Ticket


@dataclass(frozen=True)
class Audience:
    """Who can be told: the ticket's member, the agent who wrote, and the message answered."""

    member: Member | None
    agent: Agent | None
    msg: InboundMessage | None
    out: Outgoing
    desk: Desk
    now: datetime

    def tell_member(self, kind: str, ticket: Ticket | None,
                    data: Mapping[str, Any] | None = None, *, auto: bool = True) -> None:
        if self.member is None:
            return
        language = ticket.language if ticket else self.member.language
        base = {"member_name": self.member.name, **(ticket_data(ticket) if ticket else {})}
        self.out.to_member(self.member, Reply(kind, language, {**base, **(data or {})}),
                           ticket=ticket,
                           answering=self.msg if auto else None, auto=auto)

    def tell_agents(self, kind: str, ticket: Ticket, data: Mapping[str, Any]) -> None:
        files = ([AttachmentRef(a.filename, a.content_type, a.digest)
                  for a in self.msg.attachments] if self.msg else [])
        self.out.to_agents(ticket, Reply(kind, "en", {**ticket_data(ticket), **data}), files)


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {"ref": ticket.ref, "title": ticket.title, "status": ticket.status.value}


def agent_error(ref: str, error: str) -> Reply:
    return Reply("agent_command_error", "en", {"ref": ref, "error": error})


def _about_member(a: Audience, ticket: Ticket, text: str) -> dict[str, Any]:
    member, msg = a.member, a.msg
    return {
        "language": ticket.language, "channel": ticket.channel.value, "text": text,
        "detected_language": None,
        "member_name": member.name if member else "",
        "member_id": member.member_id if member else ticket.member_id,
        "rank": member.rank if member else "",
        "attachments": [f.filename for f in msg.attachments] if msg else [],
        "rejected_attachments": list(msg.rejected_attachments) if msg else [],
    }


def _opened(e: ev.TicketOpened, a: Audience) -> None:
    window = next_window(a.desk.windows, e.ticket.language, a.now)
    rejected = list(a.msg.rejected_attachments) if a.msg else []
    a.tell_member("ticket_opened", e.ticket, {
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None, "rejected_attachments": rejected})
    mismatch = e.detected_language if e.detected_language != e.ticket.language else None
    a.tell_agents("agent_new_ticket", e.ticket,
                  {**_about_member(a, e.ticket, e.text), "detected_language": mismatch})


def _added(e: ev.MessageAdded, a: Audience) -> None:
    # At most one automatic acknowledgement per ticket per day (RELIABILITY 19).
    if not e.reopened and a.out.once_per(f"ack:{e.ticket.ref}", DAY):
        rejected = list(a.msg.rejected_attachments) if a.msg else []
        a.tell_member("message_added", e.ticket, {"rejected_attachments": rejected})
    a.tell_agents("agent_member_reply", e.ticket,
                  {**_about_member(a, e.ticket, e.text), "is_feedback": e.was_feedback})


def _reopened(e: ev.TicketReopened, a: Audience) -> None:
    a.tell_member("ticket_reopened", e.ticket, auto=not e.by_agent)


def _reopen_refused(e: ev.ReopenRefused, a: Audience) -> None:
    if a.member and a.out.refusal_due("reopen-expired", a.member.email):
        a.tell_member("refusal_reopen_expired", e.ticket, {"reopen_days": a.desk.reopen_days})


def _closed(e: ev.TicketClosed, a: Audience) -> None:
    if e.changed and e.by is not ev.ClosedBy.AGENT:
        about = _about_member(a, e.ticket, e.text)
        a.tell_agents("agent_ticket_closed", e.ticket, {
            "member_name": about["member_name"], "member_id": about["member_id"],
            "closed_by": e.by.value})
    a.tell_member("ticket_closed", e.ticket, {
        "closed_by": e.by.value, "text": e.text, "reopen_days": a.desk.reopen_days},
        auto=e.by is not ev.ClosedBy.AGENT)


def _feedback_requested(e: ev.FeedbackRequested, a: Audience) -> None:
    a.tell_member("feedback_requested", e.ticket, {"text": e.text}, auto=False)


def _answered(e: ev.AgentAnswered, a: Audience) -> None:
    a.tell_member("agent_answer", e.ticket, {"text": e.text}, auto=False)


def _refused(e: ev.AgentCommandRefused, a: Audience) -> None:
    if a.agent:
        a.out.to_agent(a.agent, agent_error(e.ticket.ref, e.error), e.ticket)


def _listed(e: ev.TicketsListed, a: Audience) -> None:
    groups: dict[str, list[dict[str, Any]]] = {
        "open": [], "awaiting_feedback": [], "closed": []}
    for ticket in e.tickets:
        groups[ticket.status.value].append({"ref": ticket.ref, "title": ticket.title,
                                            "opened_at": ticket.opened_at,
                                            "closed_at": ticket.closed_at})
    a.tell_member("ticket_list", None, groups)


def _reminded(e: ev.FeedbackReminded, a: Audience) -> None:
    since = e.ticket.status_changed_at or a.now
    a.tell_member("feedback_reminder", e.ticket,
                  {"auto_close_at": since + timedelta(days=a.desk.auto_close_days)})


ANNOUNCERS: dict[type[Any], Callable[[Any, Audience], None]] = {
    ev.TicketOpened: _opened,
    ev.MessageAdded: _added,
    ev.TicketReopened: _reopened,
    ev.ReopenRefused: _reopen_refused,
    ev.TicketClosed: _closed,
    ev.FeedbackRequested: _feedback_requested,
    ev.AgentAnswered: _answered,
    ev.AgentCommandRefused: _refused,
    ev.TicketsListed: _listed,
    ev.FeedbackReminded: _reminded,
}


def announce(events: Iterable[ev.Event], audience: Audience) -> None:
    for event in events:
        ANNOUNCERS[type(event)](event, audience)
