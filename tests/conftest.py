"""Shared fixtures: a clean structlog, fakes of the ports, and the sandbox on loopback."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog

from firmaio.adapters.client import IssuerClient, RetryPolicy
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import AsyncStore, Store, open_store
from firmaio.fsm import Driver, Engine, default_engine
from firmaio.fsm.testing import ManualClock, ScriptedApi

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
def sandbox(firmaio_sandbox: Sandbox) -> Sandbox:
    """The pytest plugin's sandbox, on a free loopback port for the session, no throttling, and
    a READY request activated at once: no test waits for it for real (one that needs a request
    to stay READY sets a longer ``issuer.activation_delay`` for its own while)."""
    firmaio_sandbox.issuer.activation_delay = 0.0
    return firmaio_sandbox


@pytest.fixture
def api_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """The sandbox, with the command's key and base URL in the environment, run from a fresh
    folder (a command's QR codes and stores land there)."""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    monkeypatch.chdir(tmp_path)
    return sandbox


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


# -- stores: the same suite on SQLite and on PostgreSQL -------------------------------------------

POSTGRES_URL = os.environ.get("FIRMAIO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
"""Where the PostgreSQL tests run; each test gets a schema of its own."""


def _postgres_or_skip() -> None:
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception as exc:  # any reason it cannot be used: say it, then skip or fail
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}: {exc})"
        if os.environ.get("FIRMAIO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_POSTGRES=1 makes these tests mandatory")
        pytest.skip(f"{reason}; set FIRMAIO_TEST_POSTGRES to run them")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    _postgres_or_skip()
    import psycopg

    schema = f"firmaio_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store location: a SQLite file, or a PostgreSQL URL with its own schema."""
    if request.param == "sqlite":
        return str(tmp_path / "flows.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def open_db(db: str) -> Iterator[Callable[[], Store]]:
    """Opens stores on ``db`` (one per simulated process); all are closed after the test."""
    opened: list[Store] = []

    def opener() -> Store:
        store = open_store(db)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def open_async_db(db: str) -> Iterator[Callable[[], AsyncStore]]:
    """Opens async stores on ``db``, one connection each (one per simulated process)."""
    opened: list[AsyncStore] = []

    def opener() -> AsyncStore:
        store = AsyncStore(lambda: open_store(db), threads=1)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        asyncio.run(store.close())


# -- lanes ----------------------------------------------------------------------------------------

LANES = ("unit", "store", "http", "process")
"""tests/<lane>/: unit (pure, seconds), store (SQLite files, PostgreSQL), http (the sandbox on
loopback), process (real processes, a fresh venv). ``pytest -m unit`` runs one lane."""


FLEETS = frozenset(
    {"test_queue_workers.py", "test_store_restart.py", "test_webhook_receiver.py",
     "test_many_tenants.py"}
)  # fmt: skip
"""Process tests that start several workers on PostgreSQL (about 20 connections each): run on
one pytest-xdist worker one after the other, so that two of them never hold more than the
server's default 100 connections between them."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its lane, from its folder; the docs' doctests are unit tests. A
    process test's xdist group (``--dist loadgroup``) is its file, or ``fleets`` for
    :data:`FLEETS`."""
    for item in items:
        parts = item.path.parts
        lane = next((p for p in LANES if p in parts[-2:-1]), "unit")
        item.add_marker(getattr(pytest.mark, lane))
        if lane == "process":
            group = "fleets" if item.path.name in FLEETS else item.path.name
            item.add_marker(pytest.mark.xdist_group(group))
