"""The mail channel's `Sender`: an outbox message -> its bytes -> the relay (or `.eml` files).

The bytes are built from the stored message (its Message-ID, its creation time as `Date`),
so a resend after a crash is the same mail. The envelope sender is a VERP return path that
names the outbox row, so a bounce is provably about it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from adapters.email.compose import compose
from gateway.desk import Desk
from gateway.errors import DeliveryError
from gateway.messages import OutboundMessage
from gateway.ports import UnitOfWork
from gateway.replykeys import return_path


class MailTransport(Protocol):
    """`smtp_sender.SmtpSender` or `FileSender`; failures are `DeliveryError`s."""

    async def send(self, *, sender: str, recipient: str, message: bytes) -> None: ...
    async def check(self) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class EmailSender:
    transport: MailTransport
    desk: Desk
    from_name: str
    load_blob: Callable[[str], bytes]

    async def send(self, message: OutboundMessage, outbox_id: int, created_at: datetime) -> None:
        sender = return_path(self.desk.address, self.desk.keys.bounce_token(outbox_id))
        try:
            raw = compose(message, from_address=self.desk.address, from_name=self.from_name,
                          load_blob=self.load_blob, now=created_at)
            await self.transport.send(sender=sender, recipient=message.recipient, message=raw)
        except (ValueError, OSError) as error:  # an address that can never go; a blob not read now
            raise DeliveryError(str(error), temporary=isinstance(error, OSError)) from error

    def fall_back(self, uow: UnitOfWork, message: OutboundMessage, error: DeliveryError,
                  now: datetime) -> None:
        """Mail is the last way there is: nothing else to send."""
