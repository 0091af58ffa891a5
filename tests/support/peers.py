"""A real peer the tests need but this machine lacks: skipped here with how to enable it,
a failure under CI (CI=true), where .ci/run provides every peer."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, how: str) -> NoReturn:
    message = f"{what}: {how}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must provide it)", pytrace=False)
    pytest.skip(message)
