"""The configured defaults, for tests that build a part by hand: read from the settings, never restated."""

from __future__ import annotations

from adapters.email.normalize import Limits
from adapters.runtime import make_limits
from config.settings import load_settings


def default_limits() -> Limits:
    """The parser's limits as `gateway run` builds them (`dataclasses.replace` to change one)."""
    return make_limits(load_settings())
