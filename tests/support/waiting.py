"""Wait for a condition instead of sleeping a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str,
               log: Callable[[], str] = lambda: "", interval: float = 0.1) -> T:
    """The first truthy value of `condition()`; fails naming `what` (and the log's tail) if
    there is none within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log()[-3000:]}")
        time.sleep(interval)
