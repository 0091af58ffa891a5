"""The corpus suite needs the shared corpus; a missing corpus is a failure, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.email.normalize import Limits
from tests.support.defaults import default_limits
from tests.support.peers import missing

from .expectations import corpus_dir

REPORT: list[str] = []  # figures the corpus tests measured, shown in the summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("email corpus figures")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def corpus() -> Path:
    root = corpus_dir()
    if not (root / "INDEX.tsv").is_file():
        missing(f"the email corpus is not at {root}",
                "set GATEWAY_CORPUS to the folder that holds INDEX.tsv")
    return root


@pytest.fixture(scope="session")
def limits() -> Limits:
    return default_limits()
