"""A CPU-time limit for a block: hung code (a regex engine, a parser) becomes an exception."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
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


def cpu_seconds(call: Callable[[], object], limit: float = 2.0) -> float:
    """CPU spent by `call`; still running after `limit` CPU seconds raises OverCpuLimit."""
    started = time.process_time()
    with cpu_limit(limit):
        call()
    return time.process_time() - started


def assert_linear(call: Callable[[str], object], build: Callable[[int], str], n: int) -> None:
    """`call` on `build(n)` costs about 8 times `build(n // 8)`, not 64 (quadratic) or worse.

    A ratio, not an absolute budget: it holds on a slow or busy machine. The 24x bound and
    the 20 ms floor leave room for noise; a quadratic scan at these sizes is far above both.
    """
    small_input, big_input = build(max(n // 8, 1)), build(n)
    small = min(cpu_seconds(lambda: call(small_input)) for _ in range(3))
    big = cpu_seconds(lambda: call(big_input))
    assert big <= 24 * small + 0.02, f"{big:.3f} s at n={n} vs {small:.4f} s at n/8"
