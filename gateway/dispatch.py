"""One handler per command, whatever the channel it came by."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import commands as c
from gateway import handlers, linking, live_chat, ticket_form
from gateway.handlers import Outcome, Request

HANDLERS: dict[type[Any], Callable[[Any, Request], Outcome]] = {
    c.OpenTicket: handlers.open_ticket,
    c.AddMessage: handlers.add_message,
    c.CloseTicket: handlers.close_ticket,
    c.RateTicket: handlers.rate_ticket,
    c.ThankClosed: handlers.thank_closed,
    c.ListTickets: handlers.list_tickets,
    c.AgentReply: handlers.agent_reply,
    c.ShowTicket: handlers.show_ticket,
    c.Tell: handlers.tell,
    c.Ignore: handlers.ignore,
    c.StartTicketForm: ticket_form.start,
    c.FillTicketForm: ticket_form.fill,
    c.LinkAccount: linking.link_account,
    c.StartChat: live_chat.start,
    c.FillChatForm: live_chat.fill,
    c.SayInChat: live_chat.say,
    c.EndChat: live_chat.end,
    c.AnswerChat: live_chat.answer,
}


def dispatch(command: c.Command, request: Request) -> Outcome:
    return HANDLERS[type(command)](command, request)
