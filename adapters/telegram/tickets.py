"""/tickets, /ticket, /close and replies to the bot's messages: reads here, changes through the core."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from adapters.telegram.state import sent_message
from adapters.telegram.turn import Turn
from gateway.handlers import Outcome
from gateway.messages import Channel, InboundMessage
from gateway.service import handle_inbound
from gateway.tickets import Status, Ticket, format_ref, parse_ref
from store.tables import MessageRow
from store.unit_of_work import aware

MAX_BUTTONS = 20
LAST_MESSAGES = 5
MESSAGE_PREVIEW = 700


def list_tickets(turn: Turn) -> None:
    assert turn.member is not None
    groups: dict[str, list[dict[str, Any]]] = {status.value: [] for status in Status}
    tickets = turn.uow.tickets.for_member(turn.member.member_id)
    for ticket in tickets:
        groups[ticket.status.value].append({"ref": ticket.ref, "title": ticket.title,
                                            "opened_at": ticket.opened_at,
                                            "closed_at": ticket.closed_at})
    buttons = [t.ref for t in tickets if t.status is not Status.CLOSED][:MAX_BUTTONS]
    turn.say("tg_tickets", groups, buttons=buttons)


def owned(turn: Turn, ref_text: str) -> Ticket | None:
    number = parse_ref(ref_text)
    ticket = turn.uow.tickets.get(number) if number is not None else None
    if ticket is None or turn.member is None or ticket.member_id != turn.member.member_id:
        return None
    return ticket


def show(turn: Turn, ref_text: str) -> None:
    """One ticket with its last messages; authorized again on every call (also callbacks)."""
    ticket = owned(turn, ref_text)
    if ticket is None:
        number = parse_ref(ref_text)
        turn.say("tg_ticket_not_found", {"ref": format_ref(number) if number else ref_text[:20]})
        return
    rows = turn.uow.session.exec(select(MessageRow).where(
        col(MessageRow.ticket_number) == ticket.number, col(MessageRow.internal).is_(False))
        .order_by(col(MessageRow.id).desc()).limit(LAST_MESSAGES)).all()
    messages = [{"at": aware(row.created_at), "agent": row.author_kind == "agent",
                 "text": row.text[:MESSAGE_PREVIEW]} for row in reversed(rows)]
    turn.say("tg_ticket", {"ref": ticket.ref, "title": ticket.title,
                           "status": ticket.status.value, "opened_at": ticket.opened_at,
                           "closed_at": ticket.closed_at, "messages": messages},
             language=ticket.language, ticket_ref=ticket.ref)


def replied_ticket(turn: Turn) -> tuple[str, str] | None:
    """(outbox message id, ticket ref) of the bot message this one replies to, if about a ticket."""
    update = turn.update
    if update.reply_to_message_id is None or update.chat_id is None:
        return None
    row = sent_message(turn.uow.session, update.chat_id, update.reply_to_message_id)
    return (row.outbox_message_id, row.ticket_ref) if row and row.ticket_ref else None


def to_core(turn: Turn, text: str, *, subject: str = "", references: tuple[str, ...] = ()) -> Outcome:
    msg = InboundMessage(
        channel=Channel.TELEGRAM, external_id=f"tg:{turn.update.update_id}",
        sender=str(turn.user_id), subject=subject, text=text, full_text=text,
        received_at=turn.now, references=references, attachments=turn.files,
        rejected_attachments=turn.refused_files)
    return handle_inbound(msg, turn.uow, turn.desk, turn.now)


def close(turn: Turn, args: str) -> Outcome | None:
    replied = replied_ticket(turn)
    ref = args if parse_ref(args) is not None else (replied[1] if replied else "")
    if not ref:
        turn.say("tg_ticket_not_found", {"ref": args[:20] or "TI-?"})
        return None
    return to_core(turn, "/close", subject=f"[{format_ref(parse_ref(ref) or 0)}]")


def reply(turn: Turn) -> Outcome | None:
    """A reply to a bot message about a ticket adds to it (and answers a feedback request)."""
    replied = replied_ticket(turn)
    if replied is None:
        return None
    if turn.refused_files:
        turn.say("tg_file_refused", {"names": list(turn.refused_files), "too_big": turn.too_big})
    return to_core(turn, turn.update.text.strip(), references=(replied[0],))
