"""A Telegram message -> Command: its /command, else the open form, the live chat, a reply."""

from __future__ import annotations

from datetime import datetime

from gateway.buttons import RATING, TICKET, pressed
from gateway.closed_tickets import AfterClose, rating_pressed, reply_to_closed
from gateway.commands import (
    AddMessage,
    CloseTicket,
    Command,
    EndChat,
    FillChatForm,
    FillTicketForm,
    Ignore,
    LinkAccount,
    LinkStep,
    ListTickets,
    OpenTicket,
    SayInChat,
    ShowTicket,
    StartChat,
    StartTicketForm,
    Tell,
    Unresolved,
)
from gateway.conversations import Flow, Form, Step
from gateway.messages import Attachment, BotInput, InboundMessage, UpdateKind
from gateway.people import Member
from gateway.ports import UnitOfWork
from gateway.replies import Kind
from gateway.tickets import Status, Ticket, format_ref, parse_ref

FORM_WORDS = frozenset({"done", "confirm", "skip"})  # answers inside a form, not new commands
KEEPS_FORM = FORM_WORDS | {"end"}
NO_REF = "TI-?"  # /close without a ticket: the not-found answer names none


def parse_bot(msg: InboundMessage, member: Member | None, uow: UnitOfWork, after: AfterClose,
              now: datetime) -> Command:
    bot = msg.bot
    assert bot is not None
    if bot.kind is UpdateKind.BUTTON:
        return _button(bot, member, uow, after, now)
    if bot.kind is not UpdateKind.MESSAGE:
        return Ignore(f"ignored-{bot.kind.value}")  # edits never re-run anything
    if not bot.private or not msg.sender:
        return Ignore("not-private")  # groups never act for anyone
    if bot.command and bot.command not in FORM_WORDS:
        return _command(bot, msg, member, uow)
    form = uow.forms.get(msg.user_id)
    if form is not None and form.flow is Flow.NEW_TICKET and member is not None:
        return _ticket_form(form, msg, uow)
    if form is not None and form.flow is Flow.LINK:
        step = LinkStep.IDENTITY if form.step is Step.IDENTITY else LinkStep.CODE
        return LinkAccount(step, msg.text)
    if form is not None and form.flow is Flow.CHAT:
        return FillChatForm(form, msg.text, bot.command)
    chat = uow.chats.current(msg.user_id)
    if chat is not None and not bot.command:
        return SayInChat(chat, msg.text)
    replied = _replied_ticket(msg, member, uow)
    if replied is not None and member is not None and not bot.command:
        if replied.status is Status.CLOSED:
            return reply_to_closed(replied, msg, member, after, now)
        return AddMessage(replied, msg.text.strip())
    return Tell(Kind.TG_UNKNOWN)


def starts_over(msg: InboundMessage) -> bool:
    """A new /command abandons the form in progress (/end leaves it: it ends a chat)."""
    return (msg.bot is not None and msg.bot.kind is UpdateKind.MESSAGE
            and bool(msg.bot.command) and msg.bot.command not in KEEPS_FORM)


def _command(bot: BotInput, msg: InboundMessage, member: Member | None,
             uow: UnitOfWork) -> Command:
    word, args = bot.command, bot.args
    if word == "start":
        return LinkAccount(LinkStep.TOKEN, args[:200]) if args else Tell(Kind.TG_START)
    if word == "close":
        return _close(args, msg, member, uow)
    simple: dict[str, Command] = {
        "link": LinkAccount(LinkStep.START), "new": StartTicketForm(), "tickets": ListTickets(),
        "ticket": ShowTicket(args), "chat": StartChat(), "end": EndChat(),
        "hours": Tell(Kind.TG_HOURS), "cancel": Tell(Kind.TG_CANCELLED), "help": Tell(Kind.TG_HELP)}
    return simple.get(word, Tell(Kind.TG_UNKNOWN))


def _close(args: str, msg: InboundMessage, member: Member | None, uow: UnitOfWork) -> Command:
    number = parse_ref(args)
    replied = _replied_ticket(msg, member, uow)
    if number is None and replied is not None:
        return CloseTicket(replied)
    if number is None and not args:
        return ShowTicket(NO_REF)  # "which ticket?": the not-found answer names none
    ticket = uow.tickets.get(number) if number is not None else None
    if member is None or ticket is None or ticket.member_id != member.member_id:
        return Unresolved("not-found", format_ref(number) if number else args[:20])
    return CloseTicket(ticket)


def _replied_ticket(msg: InboundMessage, member: Member | None, uow: UnitOfWork) -> Ticket | None:
    """The member's ticket the bot message this one replies to was about."""
    if member is None or not msg.references:
        return None
    ticket = uow.tickets.by_message_id(msg.references)
    return ticket if ticket is not None and ticket.member_id == member.member_id else None


def _ticket_form(form: Form, msg: InboundMessage, uow: UnitOfWork) -> Command:
    assert msg.bot is not None
    if form.step is Step.CONFIRM and msg.bot.command == "confirm":
        files = tuple(Attachment(f["filename"], f["content_type"], uow.blobs.get(f["digest"]))
                      for f in form.data.get("files", []))
        return OpenTicket(form.data["title"], form.data["text"], files,
                          tuple(form.data.get("refused", [])))
    return FillTicketForm(form, msg.text.strip(), msg.bot.command)


def _button(bot: BotInput, member: Member | None, uow: UnitOfWork, after: AfterClose,
            now: datetime) -> Command:
    if not bot.private or member is None:
        return Ignore("callback-refused")
    button = pressed(bot.button)
    if button.kind == TICKET:
        return ShowTicket(button.ref)  # authorized again by the handler: the ticket must be theirs
    if button.kind == RATING:
        number = parse_ref(button.ref)
        ticket = uow.tickets.get(number) if number is not None else None
        if ticket is None or ticket.member_id != member.member_id:
            return Ignore("callback-refused")
        return rating_pressed(ticket, button.value, after, now)
    return Ignore("callback", accepted=True)
