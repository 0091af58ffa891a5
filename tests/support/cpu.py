"""A CPU-time limit for a block: hung code (a regex engine, a parser) becomes an exception."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class OverCpuLimit(Exception):
    pass


def _raise(signum: int, frame: object) -> None:
    raise OverCpuLimit


@contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` of CPU (the regex engine checks signals)."""
    assert threading.current_thread() is threading.main_thread(), "needs SIGPROF"
    previous = signal.signal(signal.SIGPROF, _raise)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
