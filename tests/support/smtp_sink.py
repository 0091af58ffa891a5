"""A real aiosmtpd relay on loopback that keeps every envelope and message the gateway sends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.ports import free_port
from tests.support.waiting import wait_until


class Sink:
    """The handler: keeps each message and its envelope (mail from, rcpt tos, SMTPUTF8), in
    order; refuses the recipients in `refuse` with 550."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, tuple[str, ...], bool]] = []
        self.refuse: set[str] = set()
        self.port = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.envelopes.append((str(envelope.mail_from), tuple(envelope.rcpt_tos),
                                   envelope.smtp_utf8))
            self.messages.append(parsed)
        return "250 2.0.0 OK"

    def to(self, recipient: str, timeout: float = 15, count: int = 1) -> list[EmailMessage]:
        """The messages whose To is `recipient`, once there are at least `count`."""
        def found() -> list[EmailMessage]:
            with self.lock:
                matching = [m for m in self.messages if m["To"] == recipient]
            return matching if len(matching) >= count else []
        return wait_until(found, timeout, f"{count} relayed mail(s) to {recipient}")

    def paths_to(self, recipient: str, count: int, timeout: float = 15) -> list[str]:
        """The MAIL FROM of the envelopes to `recipient` alone, once there are `count`."""
        def found() -> list[str]:
            with self.lock:
                paths = [path for path, rcpts, _ in self.envelopes if rcpts == (recipient,)]
            return paths if len(paths) >= count else []
        return wait_until(found, timeout, f"{count} envelopes to {recipient}")


class SinkServer:
    """The sink listening on a fixed loopback port; it can go down and come back on it."""

    def __init__(self, sink: Sink | None = None, *, utf8: bool = False) -> None:
        self.sink = sink if sink is not None else Sink()
        self.port = self.sink.port = free_port()
        self.utf8 = utf8  # offer SMTPUTF8
        self._controller: Controller | None = None

    def up(self) -> None:
        self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.port,
                                      enable_SMTPUTF8=self.utf8)
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextmanager
def running_sink(*, utf8: bool = False) -> Iterator[Sink]:
    server = SinkServer(utf8=utf8)
    server.up()
    try:
        yield server.sink
    finally:
        server.down()
