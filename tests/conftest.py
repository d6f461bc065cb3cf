"""Shared fixtures: a clean structlog, fakes of the ports, and the sandbox on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from adapters.client import IssuerClient, RetryPolicy
from adapters.sandbox import Sandbox
from fsm import Driver, Engine, default_engine
from fsm.testing import ManualClock, ScriptedApi

FAST_RETRY = RetryPolicy(
    attempts=4, timeout=20, wait_initial=0.01, wait_max=0.05, wait_jitter=0, notification_grace=1.0
)


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


# -- the sandbox, served for real on loopback ---------------------------------------------------


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox on a free loopback port for the session; fast activation, no throttling."""
    with Sandbox(activation_delay=0.2, validation_delay=0, rate_calls=100_000) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's injected faults never leak into the next test."""
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").state.faults.clear()


def make_client(sandbox: Sandbox, key: str = "sandbox-key", **kwargs: object) -> IssuerClient:
    """A client of the sandbox with fast retries (and the given overrides)."""
    options: dict[str, object] = {"retry": FAST_RETRY, "timeout": 2.0}
    options.update(kwargs)
    return IssuerClient(key, base_url=sandbox.url, **options)  # type: ignore[arg-type]
