"""SqlTickets.latest_member_message_id: what a mail to the member about a ticket answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from gateway.messages import Channel
from gateway.people import Author, Entry
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_members_latest_mail_on_the_ticket_only(engine: Engine, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    with SqlUnitOfWork(engine, blobs) as uow:
        ticket = uow.tickets.add("Printer is broken", "en", "M1", Channel.EMAIL, T0)
        other = uow.tickets.add("Screen is broken", "en", "M1", Channel.EMAIL, T0)
        assert uow.tickets.latest_member_message_id(ticket) is None
        entries = [
            (ticket, Entry(Author.MEMBER, "M1", Channel.EMAIL, "first", "first@members.example")),
            (ticket, Entry(Author.MEMBER, "M1", Channel.EMAIL, "second", "second@members.example")),
            (ticket, Entry(Author.AGENT, "a@agents.example", Channel.EMAIL, "answer",
                           "agent@agents.example")),
            (ticket, Entry(Author.MEMBER, "M1", Channel.EMAIL, "no id", "sha256:00ff")),
            (ticket, Entry(Author.MEMBER, "M1", Channel.TELEGRAM, "by bot", "tg:12")),
            (other, Entry(Author.MEMBER, "M1", Channel.EMAIL, "elsewhere", "other@members.example")),
        ]
        for n, (on, entry) in enumerate(entries):
            uow.tickets.add_entry(on, entry, T0 + timedelta(minutes=n))
        uow.commit()
    with SqlUnitOfWork(engine, blobs) as uow:
        assert uow.tickets.latest_member_message_id(ticket) == "second@members.example"
        assert uow.tickets.latest_member_message_id(other) == "other@members.example"
