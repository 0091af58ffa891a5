"""IMAP fetch state: the checkpoint per mailbox, and the lock that lets one process fetch it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from store import locks
from store.tables_imap import ImapCheckpointRow


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


def load_checkpoint(engine: Engine, mailbox: str) -> Checkpoint | None:
    with Session(engine) as session:
        row = session.get(ImapCheckpointRow, mailbox)
        return Checkpoint(row.uidvalidity, row.last_uid) if row else None


def save_checkpoint(engine: Engine, mailbox: str, checkpoint: Checkpoint, now: datetime) -> None:
    """Only the lock holder writes a mailbox's row, so get-then-write is race free."""
    with Session(engine) as session:
        row = session.get(ImapCheckpointRow, mailbox)
        if row is None:
            row = ImapCheckpointRow(mailbox=mailbox, uidvalidity=checkpoint.uidvalidity,
                                    last_uid=checkpoint.last_uid, updated_at=now)
        row.uidvalidity, row.last_uid, row.updated_at = (checkpoint.uidvalidity,
                                                         checkpoint.last_uid, now)
        session.add(row)
        session.commit()


def lock_key(mailbox: str) -> int:
    """A signed 64-bit advisory-lock key from the mailbox name."""
    return locks.lock_key(b"gateway-imap", mailbox)


class MailboxLock(locks.AdvisoryLock):
    """The lock that lets one process fetch a mailbox (store/locks.py)."""

    def __init__(self, engine: Engine, mailbox: str) -> None:
        super().__init__(engine, lock_key(mailbox), "imap mailbox")
