"""The parse budget's child process: a CPU budget that holds even inside C, deaths, stop, orphans.

The jobs are standard-library functions (picklable by name), run in a real child process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.parse_budget import BudgetClosed, ChildDied, ParseBudget, RemoteTraceback, TooSlow

CATASTROPHIC = (r"(a+)+$", "a" * 40 + "b")  # exponential backtracking inside the C regex engine
ROOT = Path(__file__).resolve().parent.parent.parent


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # dead; a zombie waits only for its reaper


def wait_until_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def budget() -> Iterator[ParseBudget]:
    parse_budget = ParseBudget(0.2, wall_seconds=10)
    yield parse_budget
    parse_budget.close()


def test_a_job_over_its_cpu_budget_is_stopped_inside_a_c_regex_loop_and_the_next_one_runs(
        budget: ParseBudget) -> None:
    assert budget.run(len, b"warm") == 4
    first = budget.pid
    started = time.monotonic()
    with pytest.raises(TooSlow):
        budget.run(re.match, *CATASTROPHIC)
    assert time.monotonic() - started < 5  # the regex alone would run for hours
    assert first is not None and wait_until_gone(first, 5)
    assert budget.run(len, b"next") == 4
    assert budget.pid not in (None, first)


def test_exceptions_come_back_with_the_child_traceback(budget: ParseBudget) -> None:
    with pytest.raises(ValueError, match="invalid literal") as raised:
        budget.run(int, "not a number")
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "Traceback" in str(raised.value.__cause__)
    with pytest.raises(MemoryError):  # the address-space cap, not the machine's memory
        budget.run(bytearray, 2 * 1024 ** 3)
    assert budget.run(len, b"still here") == 10


def test_a_child_that_dies_or_blocks_is_reported_then_replaced() -> None:
    budget = ParseBudget(0.2, wall_seconds=1)
    try:
        with pytest.raises(ChildDied, match="exit code 3"):
            budget.run(os._exit, 3)
        with pytest.raises(ChildDied, match="no answer within"):
            budget.run(time.sleep, 60)  # sleeping uses no CPU: the wall clock catches it
        assert budget.run(len, b"ok") == 2
    finally:
        budget.close()


def test_close_stops_a_busy_child_at_once_and_later_jobs_are_refused() -> None:
    budget = ParseBudget(60, wall_seconds=120)
    outcome: list[BaseException] = []

    def busy() -> None:
        try:
            budget.run(re.match, *CATASTROPHIC)
        except BaseException as error:  # checked below
            outcome.append(error)

    thread = threading.Thread(target=busy)
    thread.start()
    deadline = time.monotonic() + 30
    while budget.pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = budget.pid
    assert pid is not None
    time.sleep(0.3)  # well inside the regex
    started = time.monotonic()
    budget.close()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert [type(error) for error in outcome] == [BudgetClosed]
    assert gone(pid)
    with pytest.raises(BudgetClosed):
        budget.run(len, b"")


def test_the_child_does_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    script = (
        "import os, re, signal, sys\n"
        "from adapters.parse_budget import ParseBudget\n"
        "budget = ParseBudget(2.0)\n"
        "budget.run(len, b'')\n"
        "print(budget.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == -9
    assert wait_until_gone(int(result.stdout.split()[0]), 10)


def test_a_job_may_be_given_a_larger_budget_of_its_own() -> None:
    """The worker grows the budget with the mail's size: parsing is linear, big mail is slow."""
    budget = ParseBudget(0.05, wall_seconds=10)
    work = range(40_000_000)  # a few hundred ms of CPU in C
    try:
        with pytest.raises(TooSlow, match=r"over 0\.05 s"):
            budget.run(sum, work)
        assert budget.run(sum, work, cpu_seconds=20) == sum(work)
    finally:
        budget.close()
