"""A worker process for the crash tests (not a test module): `python poison_worker.py URL`.

Runs inbox rounds like `gateway run`'s worker until nothing is left, but a mail whose
subject holds POISON, or a Telegram row holding "poison", kills this process (SIGKILL)
while it is being processed: what a parser stuck in C, the OOM killer or a segfault does.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime

from adapters.clock import UtcClock
from adapters.email.sender_auth import SenderCheck
from adapters.runners import incoming as incoming_module
from adapters.runners.incoming import IncomingRunner
from adapters.runtime import make_desk, make_limits
from config.settings import load_settings
from gateway.handlers import Outcome
from gateway.messages import InboundMessage
from store import inbox
from store.blobs import BlobStore
from store.engine import make_engine
from store.inbox import InboxStatus
from store.unit_of_work import SqlUnitOfWork

real_handle_inbound = getattr(incoming_module, "handle_inbound")  # noqa: B009


def handle_or_die(msg: InboundMessage, *args: object) -> Outcome:
    if "POISON" in msg.subject:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_handle_inbound(msg, *args)  # type: ignore[no-any-return]


class TelegramRows:
    """Stands in for the Telegram adapter: finishes its rows, dies on a poisoned one."""

    def __init__(self, worker: IncomingRunner) -> None:
        self.worker = worker

    def takes(self, item: inbox.Claimed) -> bool:
        return item.channel == "telegram"

    def process_one(self, item: inbox.Claimed, now: datetime) -> None:
        if b"poison" in item.raw:
            os.kill(os.getpid(), signal.SIGKILL)
        with SqlUnitOfWork(self.worker.engine, self.worker.blobs) as uow:
            row = inbox.take(uow.session, item.id)
            assert row is not None
            inbox.finish(uow.session, row, status=InboxStatus.DONE, reason="answered", ticket_ref="",
                         now=now)
            uow.commit()


def main() -> None:
    engine = make_engine(sys.argv[1])
    inbox.release_leases(engine)  # as `gateway run` does at start
    setattr(incoming_module, "handle_inbound", handle_or_die)  # noqa: B010
    settings = load_settings()
    data_dir = settings.data_dir
    worker = IncomingRunner(engine=engine, blobs=BlobStore(data_dir / "b"), desk=make_desk(settings),
                            limits=make_limits(settings), sender_check=SenderCheck("off"),
                            clock=UtcClock(), max_attempts=settings.worker.max_attempts)
    worker.telegram = TelegramRows(worker)
    while worker.process_inbox():
        pass


if __name__ == "__main__":
    main()
