"""Shared fixtures: a clean structlog for every test, fakes of the ports, and a driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from fsm import Driver, Engine, default_engine
from fsm.testing import ManualClock, ScriptedApi


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults (the CLI configures it globally)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
def engine() -> Engine:
    return default_engine()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api() -> ScriptedApi:
    return ScriptedApi()


@pytest.fixture
def driver(api: ScriptedApi, clock: ManualClock, engine: Engine) -> Driver:
    return Driver(api, clock, engine=engine)
