"""Fixtures of the HTTP lane: the sandbox in-process over ASGI on the test's clock, and the
blob-store tests' sandbox per test module whose clock the tests move."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.testing import ManualClock
from tests.http.blob_helpers import Box, box_over, served


@pytest.fixture
def asgi(firmaio_asgi_sandbox: AsgiSandbox, clock: ManualClock) -> AsgiSandbox:
    """A fresh sandbox for one test, in-process over ASGI (no socket), whose time is ``clock``:
    a driver on ``clock`` sees requests activate and uploads validated as it sleeps, at once."""
    firmaio_asgi_sandbox.use_clock(clock)
    return firmaio_asgi_sandbox


@pytest.fixture(scope="module")
def sandbox_of_module() -> Iterator[Sandbox]:
    with served() as sandbox:
        yield sandbox


@pytest.fixture
def box(sandbox_of_module: Sandbox) -> Iterator[Box]:
    with box_over(sandbox_of_module) as ready:
        yield ready
