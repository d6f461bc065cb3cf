"""The console's OpenID Connect login in a real browser (Debian's Chromium, driven by Playwright;
never a downloaded browser): the console's stand-in served by uvicorn on loopback, the provider's
own login page, the operator's click there, and back to the console logged in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette

from firmaio.adapters.console import ConsoleSettings
from firmaio.adapters.console import console_app as console_of
from firmaio.adapters.store import open_store
from firmaio.adapters.store.accounts import Account
from tests.http.conftest import Chromium
from tests.oidc_helpers import OPERATOR, Outcomes, Provider, console_app, served

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route


def test_an_operator_logs_in_through_the_providers_page_in_chromium(
    oidc_provider: Provider, chromium: Chromium
) -> None:
    """Chromium opens the console's login, lands on the provider's page (its stylesheet from a
    CDN refused: nothing leaves the host), clicks the operator's button and comes back to the
    console greeted by name, holding the console's session cookie (HttpOnly, SameSite=Lax)."""
    made: dict[str, Outcomes] = {}

    def make(url: str) -> Starlette:
        app, made["outcomes"] = console_app(oidc_provider.settings(f"{url}/login/oidc/callback"))
        return app

    left: list[str] = []

    def loopback_only(route: Route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    with served(make) as console:

        def work(browser: Browser) -> tuple[str, str, str, list[dict[str, object]]]:
            context = browser.new_context()
            try:
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.route("**/*", loopback_only)
                page.goto(f"{console}/login/oidc")
                at_provider = page.url
                page.get_by_role("button", name=OPERATOR.sub).click()
                page.wait_for_url(f"{console}/login/oidc/callback?*")
                cookies = [dict(cookie) for cookie in context.cookies(console)]
                return at_provider, page.url, page.inner_text("h1"), cookies
            finally:
                context.close()

        at_provider, back, greeting, cookies = chromium.run(work)

    assert at_provider.startswith(f"{oidc_provider.url}/oauth2/authorize?")
    assert back.startswith(f"{console}/login/oidc/callback?code=")
    assert greeting == "Benvenuta, Giulia Rossi"
    assert made["outcomes"].reasons == []
    assert [identity.subject for identity in made["outcomes"].identities] == [OPERATOR.sub]
    (session,) = cookies
    assert session["name"] == "session"
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    # what tried to leave the host: the provider's page's stylesheet, and nothing of the console
    assert left
    assert all(url.startswith("https://cdn.jsdelivr.net/") for url in left), left


def test_the_console_signs_an_operator_in_through_the_provider_in_chromium(
    oidc_provider: Provider,
    chromium: Chromium,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The console itself (``firmaio console --oidc-issuer``): its sign-in page offers the
    provider; Chromium clicks it, picks the operator at the provider's page and lands on the
    console's overview, signed in as the account registered for that identity."""
    db = str(tmp_path / "console.sqlite")
    store = open_store(db)
    try:
        account = Account("giulia", None, oidc_provider.url, OPERATOR.sub, None, {"a": "operator"})
        store.save_account(account, now=0.0)
    finally:
        store.close()

    def make(url: str) -> Starlette:
        client_id, secret = oidc_provider.register(f"{url}/login/oidc/callback")
        monkeypatch.setenv("FIRMAIO_TEST_OIDC_SECRET", secret)
        return console_of(ConsoleSettings(
            db, "s" * 40, secure_cookies=False, oidc_issuer=oidc_provider.url,
            oidc_client_id=client_id, oidc_client_secret_env="FIRMAIO_TEST_OIDC_SECRET",
        ))  # fmt: skip

    with served(make) as console:

        def work(browser: Browser) -> tuple[str, str, str]:
            context = browser.new_context()
            try:
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.goto(f"{console}/login")
                page.click("#sso")
                at_provider = page.url
                page.get_by_role("button", name=OPERATOR.sub).click()
                page.wait_for_url(f"{console}/")
                return at_provider, page.url, page.content()
            finally:
                context.close()

        at_provider, landed, overview = chromium.run(work)

    assert at_provider.startswith(f"{oidc_provider.url}/oauth2/authorize?")
    assert landed == f"{console}/"
    assert "giulia" in overview
