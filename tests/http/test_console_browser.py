"""The console in headless Chromium, served on loopback over a store of real flows: an operator
signs in, filters, opens a flow and cancels it after the confirmation, and sees CANCELLED in its
trail with herself as the actor; the keyboard alone gets there (skip link, labels, visible focus);
a viewer cannot act, and a POST without the form's CSRF token changes nothing; another tenant's
operator sees none of it; no request leaves the host when a page opens.

One console server and one browser for the module. With ``FIRMAIO_CONSOLE_SCREENSHOTS=docs``
the screenshots docs/console.md shows are written into docs/console/ (``make
console-screenshots``); otherwise into out/console/."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from firmaio.adapters.console import console_app
from firmaio.adapters.console.app import themed
from firmaio.adapters.sandbox import Sandbox
from tests.http.conftest import Chromium
from tests.http.console_helpers import PASSWORD, World, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / (
    "docs/console" if os.environ.get("FIRMAIO_CONSOLE_SCREENSHOTS") == "docs" else "out/console"
)


@dataclass
class Served:
    url: str
    world: World


@pytest.fixture(scope="module")
def served(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The console on a free loopback port, in a thread of its own, over a new world."""
    import uvicorn

    folder = tmp_path_factory.mktemp("console")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIRMAIO_API_KEY", "sandbox-key")
        world = asyncio.run(make_world(sandbox, folder))
        ready = threading.Event()
        box: dict[str, uvicorn.Server] = {}

        def serve() -> None:
            app = console_app(world.settings)  # its store is opened in the server's thread
            config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
            server = box["server"] = uvicorn.Server(config)
            config.load()
            ready.set()
            server.run()

        thread = threading.Thread(target=serve, name="console", daemon=True)
        thread.start()
        ready.wait(30)
        server = box["server"]
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield Served(f"http://127.0.0.1:{port}", world)
        finally:
            server.should_exit = True
            thread.join(30)


@contextlib.contextmanager
def browsing(browser: Browser, base: str, elsewhere: list[str]) -> Iterator[Page]:
    """A page whose requests outside ``base`` are refused and noted in ``elsewhere``."""
    from playwright.sync_api import Route

    def route(route: Route) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.route("**/*", route)
        yield page
    finally:
        context.close()


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Nome utente").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(f"{base}/")


def shot(page: Page, name: str) -> None:
    page.wait_for_load_state("networkidle")  # the theme's font loaded, not a fallback shown
    page.evaluate("document.fonts.ready.then(() => true)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))


def test_an_operator_filters_opens_and_cancels_a_flow(served: Served, chromium: Chromium) -> None:
    base, flows = served.url, served.world.flows
    target, kept = flows["a_notified"], flows["a_refused"]
    elsewhere: list[str] = []

    def work(browser: Browser) -> tuple[str, str, str]:
        with browsing(browser, base, elsewhere) as page:
            sign_in(page, base, "maria")
            shot(page, "overview.png")
            page.goto(f"{base}/flows")
            page.get_by_label("Stato").select_option("NOTIFIED")
            page.get_by_role("button", name="Filtra").click()
            page.wait_for_url("**/flows?*state=NOTIFIED*")
            listed = page.inner_text("#flows")
            shot(page, "list.png")
            page.get_by_role("link", name=target).click()
            page.get_by_role("button", name="Annulla la richiesta").click()
            shot(page, "confirm.png")
            page.get_by_role("button", name="Conferma").click()
            page.wait_for_selector("#done")
            shot(page, "flow.png")
            return listed, page.inner_text("#state"), page.inner_text("#trail tbody tr:last-child")

    listed, state, last = chromium.run(work)
    assert target in listed
    assert kept not in listed  # FALLBACK_SUGGESTED, filtered out
    assert flows["b_notified"] not in listed  # another tenant's
    assert state == "CANCELLED"
    assert "CANCELLED" in last
    assert "console:maria" in last
    assert elsewhere == [], f"requests left the host: {elsewhere}"


def test_the_keyboard_alone_signs_in_and_focus_is_visible(
    served: Served, chromium: Chromium
) -> None:
    base = served.url
    elsewhere: list[str] = []

    def work(browser: Browser) -> tuple[str, str, str, bool]:
        with browsing(browser, base, elsewhere) as page:
            page.goto(f"{base}/login")
            page.keyboard.press("Tab")
            first = page.evaluate("document.activeElement.textContent")
            page.keyboard.press("Enter")
            after_skip = page.evaluate("document.activeElement.id")
            page.focus("#username")
            page.keyboard.type("bruno")
            page.keyboard.press("Tab")
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/")
            return first.strip(), after_skip, outline, "Panoramica" in page.inner_text("h1")

    first, after_skip, outline, signed = chromium.run(work)
    assert first == "Vai al contenuto principale"
    assert after_skip == "main"
    assert outline != "none"
    assert signed
    assert elsewhere == []


def test_another_tenant_s_operator_sees_none_of_it(served: Served, chromium: Chromium) -> None:
    base, flows = served.url, served.world.flows

    def work(browser: Browser) -> tuple[str, int, str]:
        with browsing(browser, base, []) as page:
            sign_in(page, base, "bruno")
            page.goto(f"{base}/flows")
            listed = page.inner_text("main")
            answer = page.goto(f"{base}/flows/{flows['a_refused']}")
            assert answer is not None
            return listed, answer.status, page.inner_text("#problem")

    listed, status, problem = chromium.run(work)
    assert flows["b_notified"] in listed
    assert not any(flows[name] in listed for name in ("a_notified", "a_refused", "a_other"))
    assert status == 404
    assert "non trovata" in problem


def test_the_theme_is_served_by_the_console_itself(served: Served, chromium: Chromium) -> None:
    if not themed():
        reason = "Bootstrap Italia is not installed (make console-assets needs npm)"
        if os.environ.get("FIRMAIO_REQUIRE_THEME") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_THEME=1 makes this test mandatory")
        pytest.skip(f"{reason}; .ci/run installs npm and makes this test mandatory")
    base = served.url
    elsewhere: list[str] = []

    def work(browser: Browser) -> tuple[str, list[str]]:
        loaded: list[str] = []
        with browsing(browser, base, elsewhere) as page:
            page.on("response", lambda r: loaded.append(f"{r.status} {r.url}"))
            page.goto(f"{base}/login", wait_until="networkidle")
            family = page.evaluate("getComputedStyle(document.body).fontFamily")
        return family, loaded

    family, loaded = chromium.run(work)
    assert f"200 {base}/static/bi/css/bootstrap-italia.min.css" in loaded
    assert "Titillium Web" in family
    assert elsewhere == []


def test_a_viewer_cannot_act_and_a_forged_post_changes_nothing(
    served: Served, chromium: Chromium
) -> None:
    base, flow = served.url, served.world.flows["a_other"]

    def work(browser: Browser) -> tuple[str, int, int, str]:
        with browsing(browser, base, []) as page:
            sign_in(page, base, "vera")  # a's viewer
            page.goto(f"{base}/flows/{flow}")
            viewer = page.inner_text("#h-actions + *")
            cancels = page.locator("#cancel").count()
            sign_in(page, base, "maria")  # a's operator, without the form's token
            forged = page.request.post(f"{base}/flows/{flow}/cancel", form={"confirm": "yes"})
            page.goto(f"{base}/flows/{flow}")
            return viewer, cancels, forged.status, page.inner_text("#state")

    viewer, cancels, forged, state = chromium.run(work)
    assert "consultare" in viewer
    assert cancels == 0
    assert forged == 403
    assert state == "NOTIFIED"
