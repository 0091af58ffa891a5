"""What the gateway made of what it stored: "no reply" is proved by the inbox items' outcomes
and an empty outbox, not by a sleep."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from store import inbox, outbox
from store.inbox import InboxStatus
from store.outbox import OutboxStatus
from tests.support.waiting import wait_until


def wait_for_outcomes(engine: Engine, *, count: int = 0, channel: str | None = None,
                      timeout: float = 15, log: Callable[[], str] = lambda: "") -> None:
    """Until at least `count` items (of `channel`) are stored and none is still `received`."""
    def decided() -> bool:
        rows = [r for r in inbox.rows(engine) if channel is None or r.channel == channel]
        return len(rows) >= count and all(r.status != InboxStatus.RECEIVED for r in rows)

    def state() -> str:
        return f"inbox: {[(r.id, r.status) for r in inbox.rows(engine)]}\n{log()}"
    wait_until(decided, timeout, f"{count or 'every'} inbox item(s) processed", state, interval=0.05)


def wait_for_delivery(engine: Engine, *, timeout: float = 15,
                      log: Callable[[], str] = lambda: "") -> None:
    """Until no outbox row is pending: each was sent, or failed for good."""
    def state() -> str:
        return f"outbox: {[(r.id, r.kind, r.status) for r in outbox.rows(engine)]}\n{log()}"
    wait_until(lambda: not outbox.rows(engine, OutboxStatus.PENDING), timeout, "the outbox delivered",
               state, interval=0.05)


def assert_no_outbox_rows_to(engine: Engine, recipient: str, *, besides: frozenset[str] = frozenset()
                             ) -> None:
    """No message (of a kind not in `besides`) was queued for `recipient`."""
    queued = [(r.kind, r.status) for r in outbox.rows(engine)
              if r.recipient == recipient and r.kind not in besides]
    assert queued == [], f"outbox rows to {recipient}: {queued}"


def kinds_to(engine: Engine, recipient: str) -> list[str]:
    """The kinds of every outbox row queued for `recipient`, oldest first."""
    return [r.kind for r in reversed(outbox.rows(engine)) if r.recipient == recipient]
