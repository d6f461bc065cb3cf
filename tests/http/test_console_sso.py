"""The console signs an operator in through the administration's identity provider: the real
code flow against a provider on loopback (``oidc-provider-mock``, tests/oidc_helpers.py), the
console served in-process. The provider's login ends in the console account registered for
that identity (``add-user --oidc``), with its roles; an identity with no account is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from firmaio.adapters.console import ConsoleSettings, console_app
from firmaio.adapters.store import open_store
from firmaio.adapters.store.accounts import Account
from tests.oidc_helpers import OPERATOR, Provider

pytestmark = pytest.mark.http

CONSOLE = "http://console.test"
SECRET_ENV = "FIRMAIO_TEST_CONSOLE_OIDC_SECRET"


def _console(provider: Provider, folder: Path, subject: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    client_id, secret = provider.register(f"{CONSOLE}/login/oidc/callback")
    monkeypatch.setenv(SECRET_ENV, secret)
    db = str(folder / "console.sqlite")
    store = open_store(db)
    try:
        account = Account("giulia", None, provider.url, subject, None, {"a": "operator"})
        store.save_account(account, now=0.0)
    finally:
        store.close()
    settings = ConsoleSettings(
        db, "s" * 40, secure_cookies=False, oidc_issuer=provider.url,
        oidc_client_id=client_id, oidc_client_secret_env=SECRET_ENV,
    )  # fmt: skip
    return console_app(settings)


async def _through_the_provider(browser: httpx.AsyncClient) -> httpx.Response:
    page = await browser.get(f"{CONSOLE}/login")
    assert 'href="/login/oidc"' in page.text  # the sign-in page offers the provider
    start = await browser.get(f"{CONSOLE}/login/oidc")
    assert start.status_code == 302, start.text
    authorize = httpx.URL(start.headers["location"])
    assert (await browser.get(authorize)).status_code == 200
    back = await browser.post(authorize, data={"sub": OPERATOR.sub})
    assert back.status_code == 302, back.text
    return await browser.get(back.headers["location"])


def _run(app, work):  # type: ignore[no-untyped-def]
    async def main():  # type: ignore[no-untyped-def]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(mounts={CONSOLE: transport}, verify=False) as browser:
            return await work(browser)

    return asyncio.run(main())


def test_the_provider_s_login_signs_in_the_account_registered_for_it(
    oidc_provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _console(oidc_provider, tmp_path, OPERATOR.sub, monkeypatch)

    async def work(browser: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        callback = await _through_the_provider(browser)
        return callback, await browser.get(f"{CONSOLE}/")

    callback, overview = _run(app, work)
    assert callback.status_code == 303
    assert callback.headers["location"] == "/"
    assert overview.status_code == 200
    assert "giulia" in overview.text  # signed in as the registered account


def test_an_identity_with_no_account_is_refused_and_not_signed_in(
    oidc_provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _console(oidc_provider, tmp_path, "someone-else", monkeypatch)

    async def work(browser: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
        callback = await _through_the_provider(browser)
        return callback, await browser.get(f"{CONSOLE}/")

    callback, overview = _run(app, work)
    assert callback.status_code == 403
    assert overview.status_code in (302, 303)
    assert "/login" in overview.headers["location"]
