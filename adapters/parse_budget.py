"""Run a job (parsing one message) in a child process under a CPU budget.

Why a process: a parser or regex stuck in C holds the GIL; from a thread it cannot be
interrupted, and it stops the whole gateway (SMTP included) and SIGTERM with it. The child
is a fresh interpreter (fork + exec: forking a process that has threads and carrying on is
unsafe; and unlike multiprocessing's `spawn` it never re-runs the gateway's `__main__`); it arms
ITIMER_PROF before each job: it counts only the child's own CPU, and SIGPROF's default
action ends the child wherever it is, even inside a C loop. The parent sees the death,
starts a fresh child for the next job, and goes on. A wall-clock limit catches a child that
blocks without using CPU; an address-space limit keeps one message from exhausting memory.
The child exits when its pipe closes, so it never outlives the gateway.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
START_SECONDS = 60.0  # spawning and importing, on a busy machine
# Address space allowed above the child's idle size. RELIABILITY asks 256 MB of RSS per
# message, but a 25 MB mail needs about 300 MB today (parsed twice: the MIME tree, then the
# headers again for sender authentication), and address space runs ahead of RSS.
MEMORY_BYTES = 512 * 1024 * 1024


class TooSlow(Exception):
    """The job used more CPU than the budget: the child was stopped."""


class ChildDied(Exception):
    """The child died another way (a crash, the OOM killer) or did not answer in time."""


class BudgetClosed(Exception):
    """The budget was closed (the gateway is stopping): the job was not done."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in the child, chained to the one re-raised."""


class ParseBudget:
    """`run(function, *args)` in the child; thread-safe for one caller plus `close()`."""

    def __init__(self, cpu_seconds: float, *, wall_seconds: float | None = None,
                 memory_bytes: int | None = MEMORY_BYTES) -> None:
        self.cpu_seconds = cpu_seconds
        self.wall_seconds = wall_seconds or max(30 * cpu_seconds, 5.0)
        self.memory_bytes = memory_bytes
        self._warm_up: tuple[Callable[..., object], tuple[Any, ...]] | None = None
        self._lock = threading.Lock()
        self._child: tuple[subprocess.Popen[bytes], Connection] | None = None
        self._closed = False

    def run(self, function: Callable[..., T], *args: Any, cpu_seconds: float | None = None) -> T:
        """`function(*args)` in the child under `cpu_seconds` (default: the budget's own)."""
        seconds = cpu_seconds or self.cpu_seconds
        process, connection = self._ensure_child()
        try:
            connection.send((function, args, seconds))
            if not wait([connection], timeout=self.wall_seconds * seconds / self.cpu_seconds):
                raise self._death(process, connection, timed_out=True, seconds=seconds)
            status, value, remote = connection.recv()  # EOFError: the child died
        except (EOFError, OSError):
            raise self._death(process, connection, timed_out=False, seconds=seconds) from None
        if status == "ok":
            return value  # type: ignore[no-any-return]
        error = value if isinstance(value, BaseException) else ChildDied("the job failed")
        raise error from RemoteTraceback(remote)

    def start(self) -> None:
        """Have a child ready now (a no-op when one is), so that no job waits for its start."""
        self._ensure_child()

    def warm_up(self, function: Callable[..., object], *args: Any) -> None:
        """A job each new child runs once before it is ready, untimed: the imports and lazy
        loads it triggers are not billed to the first real message."""
        self._warm_up = (function, args)

    def close(self) -> None:
        """Stop the child now, even mid-job; every later `run` raises BudgetClosed."""
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is not None:
            child[0].kill()
            child[0].wait(timeout=5)

    @property
    def pid(self) -> int | None:
        child = self._child
        return child[0].pid if child else None

    def _ensure_child(self) -> tuple[subprocess.Popen[bytes], Connection]:
        with self._lock:
            if self._closed:
                raise BudgetClosed("the parser is stopped")
            if self._child is None:
                self._child = self._start()
            return self._child

    def _start(self) -> tuple[subprocess.Popen[bytes], Connection]:
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
        with theirs:  # closed here once the child has its copy: else EOF could never come
            process = subprocess.Popen(
                [sys.executable, "-c", "from adapters.parse_budget import main; main()",
                 str(theirs.fileno())], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                env=env)
        connection = Connection(ours.detach())
        connection.send((self.cpu_seconds, self.memory_bytes, self._warm_up))
        if not connection.poll(START_SECONDS) or connection.recv() != "ready":
            process.kill()
            process.wait()
            raise ChildDied("the parser process did not start")
        log.info("parser process started", extra={"pid": process.pid})
        return process, connection

    def _death(self, process: subprocess.Popen[bytes], connection: Connection, *,
               timed_out: bool, seconds: float) -> Exception:
        if timed_out:
            process.kill()
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        connection.close()
        with self._lock:
            if self._child is not None and self._child[0] is process:
                self._child = None
            closed = self._closed
        if closed:
            return BudgetClosed("the parser was stopped")
        if code == -signal.SIGPROF:
            return TooSlow(f"over {seconds:.2f} s of CPU")
        if timed_out:
            return ChildDied(f"no answer within {self.wall_seconds * seconds / self.cpu_seconds:.0f} s")
        return ChildDied(f"the parser process died (exit code {code})")


def main() -> None:
    """The child's entry point: argv[1] is its end of the socket pair."""
    serve(Connection(int(sys.argv[1])))


def serve(connection: Connection) -> None:
    """The child: run jobs until the pipe closes, each under ITIMER_PROF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the gateway, which stops us
    _, memory_bytes, warm_up = connection.recv()
    if warm_up is not None:
        try:
            warm_up[0](*warm_up[1])
        except Exception:  # only a warm-up: the real job will say what is wrong
            log.debug("warm-up failed", exc_info=True)
    if memory_bytes:
        limit = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    connection.send("ready")
    while True:
        try:
            function, args, cpu_seconds = connection.recv()
        except (EOFError, OSError):
            return  # the gateway is gone
        signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
        try:
            reply: tuple[str, object, str] = ("ok", function(*args), "")
        except BaseException as error:  # everything goes back to the parent
            reply = ("raised", error, traceback.format_exc())
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            _send(connection, reply)
        except (BrokenPipeError, OSError):
            return


def _send(connection: Connection, reply: tuple[str, object, str]) -> None:
    try:
        connection.send(reply)
    except (pickle.PicklingError, TypeError, AttributeError):  # an exception that does not pickle
        status, value, remote = reply
        connection.send((status, ChildDied(f"{type(value).__name__}: {value}"), remote))


def _address_space() -> int:
    """The child's current virtual size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
