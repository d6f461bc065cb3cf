"""The "Firma con IO" button page the command writes for a refused flow, read as text and clicked
in a real browser (Debian's chromium, driven by Playwright; never a downloaded browser).

PagoPA's component (https://assets.cdn.io.pagopa.it/sign/io-sign.js) is not reachable offline,
and a test must not depend on it: the browser tests answer its URL with a stand-in written here
from its documented API and its source (pagopa/io-sign, packages/web-sdk/src/io-sign.ts): an ES
module that defines the custom element ``io-sign``, whose button, when clicked, dispatches the
bubbling, composed event ``io-sign.cta.click`` and enters ``loading``; its
``redirectOrShowQrCode(id)`` records the id on ``window`` instead of showing a QR code or opening
the app. So these tests check our snippet's wiring against that API (the script tag, the element,
the listener, the id handed over intact), not PagoPA's component itself.
"""

from __future__ import annotations

import functools
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.cli.output import button_page
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Fallback, Kind
from tests.http.test_report import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.http.conftest import Chromium
from tests.sandbox_helpers import ready_request

CDN_SCRIPT = "https://assets.cdn.io.pagopa.it/sign/io-sign.js"

STAND_IN = r"""
// A stand-in for PagoPA's io-sign.js, for tests: the element, its event and its methods as the
// component documents them; no QR code, no redirect, no theme fetched.
window.__ioSign = { calls: [], events: 0 };
export class IOSignElement extends HTMLElement {
  static get observedAttributes() { return ["disabled"]; }
  constructor() {
    super();
    this.state = "idle";
    const root = this.attachShadow({ mode: "open" });
    this.button = document.createElement("button");
    this.button.textContent = "Firma con IO";
    this.button.addEventListener("click", (event) => this.handleClick(event));
    this.shown = document.createElement("output");
    root.append(this.button, this.shown);
  }
  attributeChangedCallback() { this.button.disabled = this.hasAttribute("disabled"); }
  handleClick(event) {
    event.preventDefault();
    if (this.hasAttribute("disabled") || this.state !== "idle") return;
    this.state = "loading";
    window.__ioSign.events += 1;
    this.dispatchEvent(new Event("io-sign.cta.click", { bubbles: true, composed: true }));
  }
  reset() { this.state = "idle"; this.shown.textContent = ""; }
  redirectOrShowQrCode(signatureRequestId) {
    this.state = "idle";
    window.__ioSign.calls.push(signatureRequestId);
    this.shown.textContent = " QR code for " + signatureRequestId;
  }
}
customElements.define("io-sign", IOSignElement);
"""


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


# -- the files the command writes ---------------------------------------------------------------


def test_notify_writes_the_button_page_and_prints_its_path(
    api_env: Sandbox, tmp_path: Path
) -> None:
    """Messages off: beside the QR code, ``<id>-button.html``, its path printed; the request it
    wires is WAIT_FOR_SIGNATURE, as the button needs."""
    request_id = ready_request(api_env, messages_on=False)
    qr_dir = tmp_path / "qr"
    code, text = _run("notify", request_id, "--qr-dir", str(qr_dir))
    assert code == 10, text
    page = qr_dir / f"{request_id}-button.html"
    assert f"    button page written: {page}\n" in text
    assert text.index("QR code written:") < text.index("button page written:")
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert Fallback.for_refusal(request_id, Kind.MESSAGES_DISABLED).button_html() in html
    assert "Pulsante «Firma con IO»" in html
    assert '"Firma con IO" button' in html
    assert api_env.issuer.requests[request_id].status == "WAIT_FOR_SIGNATURE"


def test_the_json_names_the_button_page(api_env: Sandbox, tmp_path: Path) -> None:
    request_id = ready_request(api_env, messages_on=False)
    code, text = _run("notify", request_id, "--qr-dir", str(tmp_path), "--json")
    fallback = json.loads(text)["flow"]["fallback"]
    assert code == 10
    assert fallback["button_html"] == str(tmp_path / f"{request_id}-button.html")
    assert request_id in Path(fallback["button_html"]).read_text(encoding="utf-8")


def test_a_notified_flow_gets_no_button_page(api_env: Sandbox, tmp_path: Path) -> None:
    request_id = ready_request(api_env)
    code, text = _run("notify", request_id, "--qr-dir", str(tmp_path))
    assert code == 0, text
    assert "button page written" not in text
    assert not list(tmp_path.glob("*-button.html"))


# -- in a real browser --------------------------------------------------------------------------


@dataclass(frozen=True)
class Clicked:
    calls: list[str]
    """The ids ``redirectOrShowQrCode`` was called with, in order."""
    events: int
    """How many times the element dispatched ``io-sign.cta.click``."""
    requests: set[str]
    errors: list[str]
    code_shown: str
    text: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served on loopback, and its URL."""
    folder = tmp_path / "site"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _click(chromium: Chromium, url: str, screenshot: str | None = None) -> Clicked:
    """Open ``url`` in Chromium with the CDN's URL answered by the stand-in and every other
    address refused; click the button once."""
    from playwright.sync_api import Route

    requests: set[str] = set()
    errors: list[str] = []

    def route(route: Route) -> None:
        if route.request.url == url:
            route.continue_()  # to the loopback server
        elif route.request.url == CDN_SCRIPT:
            route.fulfill(
                status=200,
                content_type="text/javascript",
                headers={"Access-Control-Allow-Origin": "*"},
                body=STAND_IN,
            )
        else:
            route.abort()

    def work(browser: Browser) -> Clicked:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.route("**/*", route)
            page.on("request", lambda request: requests.add(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.goto(url, wait_until="load")
            page.wait_for_function("customElements.get('io-sign') !== undefined")
            assert page.evaluate("window.__ioSign.calls") == [], "called before any click"
            page.locator("io-sign").get_by_role("button", name="Firma con IO").click()
            page.wait_for_function("window.__ioSign.calls.length > 0")
            page.wait_for_timeout(200)  # a second call, if the wiring made one, lands here
            state = page.evaluate("window.__ioSign")
            code_shown = page.inner_text("pre")
            text = page.inner_text("body")
            if screenshot is not None:
                out = ROOT / "out"
                out.mkdir(exist_ok=True)
                page.screenshot(path=str(out / screenshot), full_page=True)
        finally:
            context.close()
        return Clicked(state["calls"], state["events"], requests, errors, code_shown, text)

    return chromium.run(work)


def test_the_written_page_hands_the_request_to_the_component_in_chromium(
    api_env: Sandbox, tmp_path: Path, served: tuple[Path, str], chromium: Chromium
) -> None:
    """The page ``notify`` wrote, served on loopback: one click, one ``io-sign.cta.click``, one
    ``redirectOrShowQrCode`` with the refused request's id; only the page and the component's
    URL are requested. A screenshot is saved under out/."""
    folder, base = served
    request_id = ready_request(api_env, messages_on=False)
    code, text = _run("notify", request_id, "--qr-dir", str(folder), "--json")
    assert code == 10, text
    page = Path(json.loads(text)["flow"]["fallback"]["button_html"])
    url = f"{base}/{page.name}"
    clicked = _click(chromium, url, screenshot="button-screenshot.png")
    assert clicked.calls == [request_id]
    assert clicked.events == 1
    assert clicked.errors == []
    assert clicked.requests == {url, CDN_SCRIPT}, f"fetched {clicked.requests - {url, CDN_SCRIPT}}"
    assert (
        clicked.code_shown.strip()
        == Fallback.for_refusal(request_id, Kind.MESSAGES_DISABLED).button_html().strip()
    )
    assert "WAIT_FOR_SIGNATURE" in clicked.text
    assert (ROOT / "out" / "button-screenshot.png").stat().st_size > 5_000


@pytest.mark.parametrize(
    "request_id",
    ['<!--<script>x"onclick=alert(1)', "x'-alert(1)-'", 'x");alert(1);("', "&lt;io-sign&gt;<b>"],
)
def test_a_hostile_id_reaches_the_component_intact_in_chromium(
    request_id: str, served: tuple[Path, str], chromium: Chromium
) -> None:
    """Ids check_request_id accepts that would break out of the attribute or the script if
    written unescaped: the browser parses the page as written, and the very same string reaches
    ``redirectOrShowQrCode``."""
    folder, base = served
    page = button_page(Fallback.for_refusal(request_id, Kind.MESSAGES_DISABLED))
    (folder / "hostile.html").write_text(page, encoding="utf-8")
    clicked = _click(chromium, f"{base}/hostile.html")
    assert clicked.calls == [request_id]
    assert clicked.events == 1
    assert clicked.errors == []
    assert clicked.requests == {f"{base}/hostile.html", CDN_SCRIPT}
