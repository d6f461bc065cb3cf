"""Fixtures of the blob-store tests (a sandbox per test module whose clock the tests move) and of
the hostile tests (a stand-in of the service that answers as an attacker would)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from firmaio.adapters.sandbox import Sandbox
from tests.hostile import Hostile
from tests.http.blob_helpers import Box, box_over, served


@pytest.fixture(scope="module")
def sandbox_of_module() -> Iterator[Sandbox]:
    with served() as sandbox:
        yield sandbox


@pytest.fixture
def box(sandbox_of_module: Sandbox) -> Iterator[Box]:
    with box_over(sandbox_of_module) as ready:
        yield ready


@pytest.fixture(scope="session")
def hostile() -> Iterator[Hostile]:
    """The hostile stand-in on loopback, for the session; each test's set-up mode is reset."""
    server = Hostile().start()
    yield server
    server.stop()


@pytest.fixture
def attacker(hostile: Hostile, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Hostile:
    """The stand-in as the command's service (key and base URL in the environment), run from a
    fresh folder; its record of requests starts empty."""
    hostile.hits.clear()
    hostile.mode = "benign"
    monkeypatch.setenv("FIRMAIO_API_KEY", "hostile-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", hostile.url)
    monkeypatch.delenv("FIRMAIO_TRUSTED_HOSTS", raising=False)
    monkeypatch.chdir(tmp_path)
    return hostile
