"""firmaio's pytest plugin: fixtures for test suites that drive flows (yours, not only ours).

Installed with the package as a ``pytest11`` entry point, so pytest finds it; every fixture is
opt-in: nothing runs, starts or is imported until a test asks for it by name, and every name
starts with ``firmaio_``. ``pytest -p no:firmaio`` turns the plugin off.

* ``firmaio_clock``: a :class:`~firmaio.fsm.testing.ManualClock` (sleeps return at once).
* ``firmaio_api``: a :class:`~firmaio.fsm.testing.ScriptedApi` (script the answers).
* ``firmaio_answer``: an answer under which a guard holds: ``firmaio_answer("is_signed")``.
* ``firmaio_driver``: a :class:`~firmaio.fsm.Driver` over the two above.
* ``firmaio_flow_in``: a flow already in any state, with a valid history:
  ``firmaio_flow_in("FALLBACK_SUGGESTED")``; a state of the issuer's set-up is reached by a flow
  from ``fsm.testing.EXAMPLE_ORDER``, from RECEIVED.
* ``firmaio_sandbox``: the local issuer API on a loopback port for the session (needs the
  ``[sandbox]`` extra; skipped with the reason without it); ``.url``, ``.issuer``.
* ``firmaio_asgi_sandbox``: a fresh sandbox for one test, served in-process over ASGI (no
  socket): ``firmaio_asgi_sandbox.client()`` makes an ``IssuerClient`` of it;
  ``firmaio_asgi_sandbox.use_clock(firmaio_clock)`` runs its time on the test's clock, so a
  driver on that clock waits for no activation or validation for real.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from firmaio.fsm.driving import Driver, Engine, Flow, default_engine
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import TABLE, Answer, Guard, State
from firmaio.fsm.ports import Clock
from firmaio.fsm.testing import EXAMPLE_REQUEST_ID, ManualClock, ScriptedApi, flow_in, witness

if TYPE_CHECKING:
    from .client import IssuerClient
    from .sandbox import Sandbox

SANDBOX_KEY = "sandbox-key"


def _sandbox_class() -> type[Sandbox]:
    try:
        from .sandbox import Sandbox
    except ImportError as missing:
        pytest.skip(f"the sandbox needs firmaio-fsm[sandbox] ({missing})")
    return Sandbox


@pytest.fixture
def firmaio_clock() -> ManualClock:
    """A clock that moves only when slept on or advanced."""
    return ManualClock()


@pytest.fixture
def firmaio_api() -> ScriptedApi:
    """A fake issuer API answering from a script (``.script(answer, ...)``; ``.calls``)."""
    return ScriptedApi()


_GUARDS = {row.guard_name: row.guard for row in TABLE if row.guard is not None}


@pytest.fixture
def firmaio_answer() -> Callable[[Guard | str], Answer]:
    """An answer under which a guard (the function, or its name) holds: a guard of the card's
    of the table (:data:`firmaio.fsm.TABLE`)."""

    def answer(guard: Guard | str) -> Answer:
        found = _GUARDS.get(guard) if isinstance(guard, str) else guard
        if found is None or not callable(found):
            raise InvalidInput(f"no guard named {guard!r} in the table (firmaio.fsm.TABLE)")
        return witness(found)

    return answer


@pytest.fixture
def firmaio_engine() -> Engine:
    """The engine of the built-in table."""
    return default_engine()


@pytest.fixture
def firmaio_driver(
    firmaio_api: ScriptedApi, firmaio_clock: ManualClock, firmaio_engine: Engine
) -> Driver:
    """A driver over the scripted API and the manual clock."""
    return Driver(firmaio_api, firmaio_clock, engine=firmaio_engine)


@pytest.fixture
def firmaio_flow_in(firmaio_engine: Engine, firmaio_clock: ManualClock) -> Callable[..., Flow]:
    """``firmaio_flow_in(state, request_id=...)``: a flow in ``state`` with a valid history."""

    def make(state: State | str, request_id: str = EXAMPLE_REQUEST_ID) -> Flow:
        return flow_in(state, request_id, engine=firmaio_engine, now=firmaio_clock.now())

    return make


@pytest.fixture(scope="session")
def firmaio_sandbox() -> Iterator[Sandbox]:
    """The sandbox on a free loopback port for the session: fast activation, no throttling."""
    sandbox_class = _sandbox_class()
    with sandbox_class(activation_delay=0.2, validation_delay=0, rate_calls=100_000) as served:
        yield served


class AsgiSandbox:
    """A sandbox served in-process over ASGI: ``issuer`` to set it up, ``client()`` to call it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.issuer = sandbox.issuer
        self.state = sandbox.state
        self.url = sandbox.url
        sandbox.issuer.base_url = self.url  # its blob URLs on the origin its clients call

    def client(self, key: str = SANDBOX_KEY, **options: Any) -> IssuerClient:
        """An ``IssuerClient`` whose calls go straight to the app (close it when done)."""
        import httpx

        from .client import IssuerClient

        transport = httpx.ASGITransport(app=self.sandbox.app)
        return IssuerClient(key, base_url=self.url, transport=transport, **options)

    def use_clock(self, clock: Clock) -> None:
        """Take the sandbox's time from ``clock`` (``firmaio_clock``, say): requests activate,
        uploads are validated and URLs expire as that clock moves, not as real time does."""
        self.issuer.now = clock.now


@pytest.fixture
def firmaio_asgi_sandbox() -> AsgiSandbox:
    """A fresh sandbox for one test, over ASGI (activation after 0.2 s)."""
    return AsgiSandbox(_sandbox_class()(activation_delay=0.2, validation_delay=0))
