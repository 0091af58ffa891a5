"""One closed family of errors: the sender's fault or ours."""

from __future__ import annotations


class GatewayError(Exception):
    """Something the operator must see; the sender is not to blame."""


class UserError(Exception):
    """Something the sender is told about, in one sentence."""


class ConfigError(GatewayError):
    """The configuration cannot work; the message says what to fix."""


class DeliveryError(GatewayError):
    """A send failed. `temporary` decides retry (4xx, network) or give up (5xx, refused)."""

    def __init__(self, message: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after
