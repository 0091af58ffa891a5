from __future__ import annotations

import pytest

from .fakes import FakeClock, World


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> World:
    return World(clock)
