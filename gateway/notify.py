"""Events -> who is told what: the member in their language, the agents of the ticket's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway import events as ev
from gateway.buttons import rating_buttons, ticket_button
from gateway.conversations import Chat
from gateway.desk import Desk
from gateway.hours import next_window
from gateway.messages import AttachmentRef, InboundMessage
from gateway.outgoing import DAY, Outgoing, one_line
from gateway.parsing import strip_reply_prefixes
from gateway.people import Agent, Member
from gateway.replies import Kind, Reply
from gateway.tickets import Status, Ticket, format_ref

MAX_BUTTONS = 20


@dataclass(frozen=True)
class Audience:
    """Who can be told: the ticket's member, the agent who wrote, and the message answered."""

    member: Member | None
    agent: Agent | None
    msg: InboundMessage | None
    out: Outgoing
    desk: Desk
    now: datetime

    def tell_member(self, kind: Kind, ticket: Ticket | None,
                    data: Mapping[str, Any] | None = None, *, auto: bool = True,
                    buttons: Sequence[str] = ()) -> None:
        if self.member is None:
            return
        language = ticket.language if ticket else self.member.language
        base = {"member_name": self.member.name, **(ticket_data(ticket) if ticket else {})}
        self.out.to_member(self.member, Reply(kind, language, {**base, **(data or {})}),
                           ticket=ticket,
                           answering=self.msg if auto else None, auto=auto, buttons=buttons)

    def answer(self, kind: Kind, data: Mapping[str, Any] | None = None, *,
               language: str | None = None, ticket_ref: str | None = None,
               buttons: Sequence[str] = ()) -> None:
        """The bot's answer in the chat the message came from."""
        if self.msg is None or self.msg.bot is None:
            return
        language = language or self.desk.language_for(self.member, self.msg.bot.locale)
        base = {"member_name": self.member.name if self.member else ""}
        self.out.to_chat(self.msg.bot.chat_id, Reply(kind, language, {**base, **(data or {})}),
                         ticket_ref=ticket_ref, buttons=buttons)

    def tell_agents(self, kind: Kind, ticket: Ticket, data: Mapping[str, Any]) -> None:
        files = ([AttachmentRef(a.filename, a.content_type, a.digest)
                  for a in self.msg.attachments] if self.msg else [])
        self.out.to_agents(ticket, Reply(kind, "en", {**ticket_data(ticket), **data}), files)


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {"ref": ticket.ref, "title": ticket.title, "status": ticket.status.value}


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
    follows = format_ref(e.ticket.follows) if e.ticket.follows else ""
    a.tell_member(Kind.FOLLOW_UP_OPENED if follows else Kind.TICKET_OPENED, e.ticket, {
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None, "rejected_attachments": rejected,
        "follows": follows, "reopen_days": a.desk.reopen_days})
    mismatch = e.detected_language if e.detected_language != e.ticket.language else None
    a.tell_agents(Kind.AGENT_NEW_TICKET, e.ticket, {
        **_about_member(a, e.ticket, e.text), "detected_language": mismatch, "follows": follows})


def _added(e: ev.MessageAdded, a: Audience) -> None:
    # At most one automatic acknowledgement per ticket per day (RELIABILITY 19).
    if not e.reopened and a.out.once_per(f"ack:{e.ticket.ref}", DAY):
        rejected = list(a.msg.rejected_attachments) if a.msg else []
        a.tell_member(Kind.MESSAGE_ADDED, e.ticket, {"rejected_attachments": rejected})
    a.tell_agents(Kind.AGENT_MEMBER_REPLY, e.ticket,
                  {**_about_member(a, e.ticket, e.text), "is_feedback": e.was_feedback})


def _reopened(e: ev.TicketReopened, a: Audience) -> None:
    a.tell_member(Kind.TICKET_REOPENED, e.ticket, auto=not e.by_agent)


def _closed(e: ev.TicketClosed, a: Audience) -> None:
    if e.changed and e.by is not ev.ClosedBy.AGENT:
        about = _about_member(a, e.ticket, e.text)
        a.tell_agents(Kind.AGENT_TICKET_CLOSED, e.ticket, {
            "member_name": about["member_name"], "member_id": about["member_id"],
            "closed_by": e.by.value})
    # Every close asks for a rating (the member's own too); "already closed" does not.
    a.tell_member(Kind.TICKET_CLOSED, e.ticket, {
        "closed_by": e.by.value, "text": e.text, "reopen_days": a.desk.reopen_days,
        "ask_rating": e.changed}, auto=e.by is not ev.ClosedBy.AGENT,
        buttons=(rating_buttons(e.ticket.ref),) if e.changed else ())


def _rated(e: ev.TicketRated, a: Audience) -> None:
    rating = e.ticket.satisfaction
    assert rating is not None  # rate_ticket set it
    if e.first:  # thanked once, however often the member rates again
        a.tell_member(Kind.RATING_THANKS, e.ticket, {"score": rating.score})
    a.tell_agents(Kind.AGENT_TICKET_RATED, e.ticket, {
        "score": rating.score, "comment": rating.comment,
        "member_name": a.member.name if a.member else "", "member_id": e.ticket.member_id})


def _feedback_requested(e: ev.FeedbackRequested, a: Audience) -> None:
    a.tell_member(Kind.FEEDBACK_REQUESTED, e.ticket, {"text": e.text}, auto=False)


def _answered(e: ev.AgentAnswered, a: Audience) -> None:
    a.tell_member(Kind.AGENT_ANSWER, e.ticket, {"text": e.text}, auto=False)


def _refused(e: ev.AgentCommandRefused, a: Audience) -> None:
    """One answer to the agent's mail, threaded to it; never a word to the member."""
    ticket, refusal = e.ticket, e.refusal
    if a.agent is None:
        return
    a.out.to_agent(a.agent, Reply(Kind.AGENT_COMMAND_ERROR, "en", {
        "ref": ticket.ref if ticket else refusal.ref, "title": ticket.title if ticket else "",
        "status": ticket.status.value if ticket else "", "reason": refusal.mistake.value,
        "commands": list(refusal.commands),
        "subject": one_line(strip_reply_prefixes(a.msg.subject), 200) if a.msg else ""}),
        reason=refusal.mistake, ticket=ticket, answering=a.msg)


def _listed(e: ev.TicketsListed, a: Audience) -> None:
    groups: dict[str, list[dict[str, Any]]] = {status.value: [] for status in Status}
    for ticket in e.tickets:
        groups[ticket.status.value].append({"ref": ticket.ref, "title": ticket.title,
                                            "opened_at": ticket.opened_at,
                                            "closed_at": ticket.closed_at})
    if a.msg and a.msg.bot:  # with a button for each ticket still open
        buttons = [ticket_button(t.ref) for t in e.tickets
                   if t.status is not Status.CLOSED][:MAX_BUTTONS]
        a.answer(Kind.TG_TICKETS, groups, buttons=buttons)
    else:
        a.tell_member(Kind.TICKET_LIST, None, groups)


def _reminded(e: ev.FeedbackReminded, a: Audience) -> None:
    a.tell_member(Kind.FEEDBACK_REMINDER, e.ticket, {"auto_close_at": e.closes_at})


def _bot_answered(e: ev.Answered, a: Audience) -> None:
    a.answer(e.kind, e.data, language=e.language, ticket_ref=e.ticket_ref, buttons=e.buttons)


def _code_issued(e: ev.LinkCodeIssued, a: Audience) -> None:
    a.out.to_member(e.member, Reply(Kind.LINK_CODE, e.member.language, {
        "code": e.code, "minutes": e.minutes, "member_name": e.member.name}))


def _linked(e: ev.AccountLinked, a: Audience) -> None:
    member = e.member
    a.answer(Kind.TG_LINKED, {"member_name": member.name, "member_id": member.member_id},
             language=member.language)
    a.out.to_member(member, Reply(Kind.TELEGRAM_LINKED, member.language,
                                  {"member_name": member.name}))


def _chat_lines(e: ev.ChatLinesDue, a: Audience) -> None:
    lines = [{"at": line.at.strftime("%H:%M:%S"), "text": line.text} for line in e.lines]
    a.out.to_chat_agents(e.chat, Reply(Kind.AGENT_CHAT_REQUEST, "en", {
        **_chat_data(e.chat, e.member), "lines": lines, "new": e.new, "position": e.position}),
        with_key=True)


def _chat_ended(e: ev.ChatEnded, a: Audience) -> None:
    a.out.to_chat_agents(e.chat, Reply(Kind.AGENT_CHAT_ENDED, "en", {
        **_chat_data(e.chat, e.member), "by_agent": bool(e.by_agent), "agent": e.by_agent}),
        with_key=False)
    if e.by_agent:
        a.out.to_chat(e.chat.telegram_user_id,
                      Reply(Kind.TG_CHAT_ENDED, e.chat.language, {"by_agent": True}), answer=False)


def _agent_in_chat(e: ev.AgentWroteInChat, a: Audience) -> None:
    a.out.to_chat(e.chat.telegram_user_id, Reply(Kind.TG_CHAT_AGENT, e.chat.language, {
        "agent_name": e.agent_name, "text": e.text}), answer=False)


def _chat_moved(e: ev.ChatMoved, a: Audience) -> None:
    a.out.to_chat(e.chat.telegram_user_id, Reply(Kind.TG_CHAT_POSITION, e.chat.language, {
        "position": e.position}), answer=False)


def _chat_timed_out(e: ev.ChatTimedOut, a: Audience) -> None:
    a.out.to_chat_agents(e.chat, Reply(Kind.AGENT_CHAT_IDLE_ENDED, "en", {
        **_chat_data(e.chat, e.member), "minutes": e.minutes}), with_key=False)
    a.out.to_chat(e.chat.telegram_user_id, Reply(Kind.TG_CHAT_IDLE_ENDED, e.chat.language, {
        "minutes": e.minutes}), answer=False)


def _chat_data(chat: Chat, member: Member | None) -> dict[str, Any]:
    """What agents may trust (a linked member's record) apart from what was only typed."""
    return {"chat_id": chat.id, "linked": member is not None,
            "member_id": member.member_id if member else "",
            "member_name": member.name if member else "", "claimed_name": chat.name,
            "claimed_member_id": chat.member_id, "claimed_email": chat.email}


ANNOUNCERS: dict[type[Any], Callable[[Any, Audience], None]] = {
    ev.TicketOpened: _opened,
    ev.MessageAdded: _added,
    ev.TicketReopened: _reopened,
    ev.TicketClosed: _closed,
    ev.TicketRated: _rated,
    ev.FeedbackRequested: _feedback_requested,
    ev.AgentAnswered: _answered,
    ev.AgentCommandRefused: _refused,
    ev.TicketsListed: _listed,
    ev.FeedbackReminded: _reminded,
    ev.Answered: _bot_answered,
    ev.LinkCodeIssued: _code_issued,
    ev.AccountLinked: _linked,
    ev.ChatLinesDue: _chat_lines,
    ev.ChatEnded: _chat_ended,
    ev.AgentWroteInChat: _agent_in_chat,
    ev.ChatMoved: _chat_moved,
    ev.ChatTimedOut: _chat_timed_out,
}


def announce(events: Iterable[ev.Event], audience: Audience) -> None:
    for event in events:
        ANNOUNCERS[type(event)](event, audience)
