"""A ticket's rating and the ticket it follows, stored and shown (`tickets show --json`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from gateway.messages import Channel
from gateway.tickets import Satisfaction
from store import admin
from store.blobs import BlobStore
from store.unit_of_work import SqlUnitOfWork

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_follows_and_satisfaction_round_trip(engine: Engine, tmp_path: Path) -> None:
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        old = uow.tickets.add("English - Printer", "en", "M1", Channel.EMAIL, T0)
        new = uow.tickets.add("English - Printer", "en", "M1", Channel.EMAIL, T0, follows=1)
        old.satisfaction = Satisfaction(4, "quick, thanks", T0 + timedelta(hours=1))
        uow.tickets.save(old)
        uow.commit()
    with SqlUnitOfWork(engine, BlobStore(tmp_path / "blobs")) as uow:
        again, following = uow.tickets.get(old.number), uow.tickets.get(new.number)
    assert again is not None and following is not None
    assert (again.satisfaction, again.follows) == (old.satisfaction, None)
    assert (following.satisfaction, following.follows) == (None, 1)

    shown = admin.show_ticket(engine, old.number)
    assert shown is not None
    assert shown["satisfaction"] == {"score": 4, "comment": "quick, thanks",
                                     "at": "2026-03-02T11:00:00Z"}
    assert shown["follows"] is None
    shown = admin.show_ticket(engine, new.number)
    assert shown is not None
    assert (shown["follows"], shown["satisfaction"]) == ("TI-1", None)
