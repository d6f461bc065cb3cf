"""Fixtures of the HTTP lane: the sandbox in-process over ASGI on the test's clock, one headless
Chromium for the browser tests, the blob-store tests' sandbox per test module whose clock the
tests move, and the hostile tests' stand-in of the service that answers as an attacker would."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.testing import ManualClock
from tests.hostile import Hostile
from tests.http.blob_helpers import Box, box_over, served
from tests.oidc_helpers import oidc_provider, oidc_provider_of_session  # noqa: F401 (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

T = TypeVar("T")
CHROMIUM = os.environ.get("FIRMAIO_CHROMIUM", "/usr/bin/chromium")


@dataclass(frozen=True)
class DemoRun:
    """``make demo``'s flows, stored once for the session's report and evidence tests (which
    only read the store)."""

    db: str
    ids: list[str]
    output: str
    work: Path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    from firmaio.adapters.cli import main

    work = tmp_path_factory.mktemp("demo")
    db = str(work / "demo.sqlite")
    out = io.StringIO()
    argv = ["demo", "--db", db, "--activation-delay", "0.2", "--qr-dir", str(work)]
    code, shown = main(argv, out=out), out.getvalue()
    assert code == 0, shown
    ids = re.findall(r"== .*: flow (\w+), signature request", shown)
    assert len(ids) == 3
    return DemoRun(db, ids, shown, work)


@pytest.fixture
def asgi(firmaio_asgi_sandbox: AsgiSandbox, clock: ManualClock) -> AsgiSandbox:
    """A fresh sandbox for one test, in-process over ASGI (no socket), whose time is ``clock``:
    a driver on ``clock`` sees requests activate and uploads validated as it sleeps, at once."""
    firmaio_asgi_sandbox.use_clock(clock)
    return firmaio_asgi_sandbox


def chromium_or_skip() -> str:
    """Chromium's path; the test is skipped with the reason where it or Playwright is missing,
    or fails where ``FIRMAIO_REQUIRE_CHROMIUM=1`` makes it mandatory."""
    reason = ""
    if not Path(CHROMIUM).is_file():
        reason = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "Playwright is not installed (the dev extra has it)"
    if reason:
        if os.environ.get("FIRMAIO_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_CHROMIUM=1 makes this test mandatory")
        pytest.skip(f"{reason}; .ci/run installs it and makes this test mandatory")
    return CHROMIUM


class Chromium:
    """Debian's Chromium, headless, driven by Playwright in a thread of its own: Playwright's
    sync API makes its thread's event loop look running, and ``asyncio.run`` (which the tests
    call) then refuses to start. :meth:`run` hands work to that thread and waits for it."""

    def __init__(self, executable: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._started = self._thread.submit(self._start, executable).result()

    @staticmethod
    def _start(executable: str) -> tuple[Playwright, Browser]:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        try:
            return playwright, playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"]
            )
        except BaseException:
            playwright.stop()
            raise

    def run(self, work: Callable[[Browser], T]) -> T:
        """``work(browser)`` in Chromium's thread; what it returns or raises."""
        return self._thread.submit(work, self._started[1]).result()

    def close(self) -> None:
        def stop() -> None:
            playwright, browser = self._started
            try:
                browser.close()
            finally:
                playwright.stop()

        try:
            self._thread.submit(stop).result()
        finally:
            self._thread.shutdown()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """One Chromium for every browser test of the run (each opens a context of its own);
    skipped with the reason where it is missing."""
    browser = Chromium(chromium_or_skip())
    try:
        yield browser
    finally:
        browser.close()


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
