"""The console's OpenID Connect login (``firmaio.adapters.console.oidc``) against a real provider on
loopback (``oidc-provider-mock``, see tests/oidc_helpers.py), driven step by step by httpx as a
browser: the console's stand-in is served in-process (ASGI) at http://console.test, the provider
over real HTTP. A login succeeds only with the state, nonce, PKCE verifier and client secret of
its own start and an ID token that verifies; every other ending reaches ``on_failure`` with a
reason naming what was wrong, and nothing secret reaches a reason or a log line."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import structlog
from starlette.applications import Starlette

from firmaio.adapters.console.oidc import OidcIdentity, OidcSettings
from tests.oidc_helpers import (
    OPERATOR,
    Outcomes,
    Provider,
    console_app,
    serve_provider,
    served,
)

CONSOLE = "http://console.test"
CALLBACK = f"{CONSOLE}/login/oidc/callback"
T = TypeVar("T")


def run(work: Callable[[httpx.AsyncClient], Coroutine[Any, Any, T]], app: Starlette) -> T:
    """``work(browser)`` with a browser whose requests to the console go to ``app`` in-process
    and every other request over the network (to the provider on loopback)."""

    async def main() -> T:
        transport = httpx.ASGITransport(app=app)
        # no TLS on loopback: no CA bundle read for nothing
        async with httpx.AsyncClient(mounts={CONSOLE: transport}, verify=False) as browser:
            return await work(browser)

    return asyncio.run(main())


@dataclass
class Login:
    authorize: httpx.URL
    """Where the console sent the browser: the provider's authorization endpoint."""
    callback: httpx.URL
    """Where the provider sent it back."""
    answer: httpx.Response
    """The console's answer to the callback."""


async def log_in(
    browser: httpx.AsyncClient,
    tamper: Callable[[httpx.URL], httpx.URL] = lambda url: url,
    form: dict[str, str] | None = None,
    console: str = CONSOLE,
) -> Login:
    """Start at ``console``, see the provider's page, pick the operator there (or post
    ``form``), and follow the provider's redirect back to the console's callback."""
    start = await browser.get(f"{console}/login/oidc")
    assert start.status_code == 302, start.text
    authorize = tamper(httpx.URL(start.headers["location"]))
    page = await browser.get(authorize)
    assert page.status_code == 200, page.text
    assert "Authorize Client" in page.text
    back = await browser.post(authorize, data=form or {"sub": OPERATOR.sub})
    assert back.status_code == 302, back.text
    callback = httpx.URL(back.headers["location"])
    return Login(authorize, callback, await browser.get(callback))


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def refused(outcomes: Outcomes, answer: httpx.Response) -> str:
    """The one reason ``on_failure`` was given, checked to be all that happened."""
    assert answer.status_code == 401, answer.text
    assert outcomes.identities == [], "on_login was called"
    assert len(outcomes.reasons) == 1, outcomes.reasons
    return outcomes.reasons[0]


def test_an_operator_logs_in_with_the_code_flow_state_nonce_and_pkce(
    oidc_provider: Provider,
) -> None:
    """The console sends the browser to the provider with a code request, a state, a nonce and
    an S256 PKCE challenge; back with the code, it exchanges it with the verifier of that
    challenge and hands ``on_login`` who logged in, as the verified ID token says."""
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))
    login = run(log_in, app)

    assert login.answer.status_code == 200, login.answer.text
    assert "Benvenuta, Giulia Rossi" in login.answer.text
    assert outcomes.identities == [
        OidcIdentity(
            issuer=oidc_provider.url,
            subject="op-giulia",
            email="giulia.rossi@comune.example.it",
            email_verified=True,
            name="Giulia Rossi",
        )
    ]
    asked = dict(login.authorize.params)
    assert asked["response_type"] == "code"
    assert asked["scope"] == "openid email profile"
    assert asked["redirect_uri"] == CALLBACK
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["state"]) >= 20
    assert len(asked["nonce"]) >= 20
    (exchange,) = oidc_provider.requests_to("/oauth2/token")
    assert exchange.form["code"] == login.callback.params["code"]
    assert s256(exchange.form["code_verifier"]) == asked["code_challenge"]
    assert login.callback.params["state"] == asked["state"]


def test_a_callback_used_twice_is_refused_the_second_time(oidc_provider: Provider) -> None:
    """The state is spent by the first use: a replayed callback URL logs nobody in."""
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))

    async def twice(browser: httpx.AsyncClient) -> httpx.Response:
        login = await log_in(browser)
        assert login.answer.status_code == 200
        outcomes.identities.clear()
        return await browser.get(login.callback)

    assert "state" in refused(outcomes, run(twice, app))


@pytest.mark.parametrize("how", ["altered state", "another browser", "no state", "an older start"])
def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(
    oidc_provider: Provider, how: str
) -> None:
    """A callback whose state is not this browser's pending login's (changed, carried to
    another browser: a forged login link; missing; a login this browser started before its
    latest) is refused before the code is used."""
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))

    async def forged(browser: httpx.AsyncClient) -> httpx.Response:
        start = await browser.get(f"{CONSOLE}/login/oidc")
        authorize = httpx.URL(start.headers["location"])
        if how == "an older start":  # a second login started since, in another tab
            assert (await browser.get(f"{CONSOLE}/login/oidc")).status_code == 302
        back = await browser.post(authorize, data={"sub": OPERATOR.sub})
        callback = httpx.URL(back.headers["location"])
        if how == "altered state":
            return await browser.get(callback.copy_set_param("state", "x" * 30))
        if how == "no state":
            return await browser.get(callback.copy_remove_param("state"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(mounts={CONSOLE: transport}, verify=False) as other:
            return await other.get(callback)

    reason = refused(outcomes, run(forged, app))
    assert "state" in reason
    assert oidc_provider.requests_to("/oauth2/token") == [], "the code was exchanged"


def test_an_id_token_carrying_another_nonce_is_refused(oidc_provider: Provider) -> None:
    """The provider is asked for another nonce than the one this login keeps (the link was
    altered on its way): its ID token, though signed by the provider, is refused."""
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))

    def other_nonce(url: httpx.URL) -> httpx.URL:
        return url.copy_set_param("nonce", "n" * 30)

    login = run(lambda browser: log_in(browser, tamper=other_nonce), app)
    assert "nonce" in refused(outcomes, login.answer)


def _claims(**changed: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def forge(claims: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in {**claims, **changed}.items() if v is not None}

    return forge


FORGERIES = {
    # the same claims signed again with a key the provider publishes: the control, accepted
    "re-signed": (_claims(), None),
    "expired": (_claims(exp=int(time.time()) - 600, iat=int(time.time()) - 900), "has expired"),
    "another audience": (_claims(aud="another-console"), "meant for another client"),
    "another issuer": (_claims(iss="https://idp.example.org"), "issued by another issuer"),
    "another nonce": (_claims(nonce="n" * 30), "nonce"),
    "no subject": (_claims(sub=None), "lacks its sub claim"),
    "no expiry": (_claims(exp=None), "lacks its exp claim"),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_id_token_is_refused_naming_what_is_wrong(
    oidc_provider: Provider, forgery: str
) -> None:
    """The token answer's ID token is replaced by one signed with a key the provider publishes,
    one claim changed: each is refused with a reason naming that claim; the same claims
    unchanged are accepted (what fails is the claim, not the re-signing)."""
    forge, expected = FORGERIES[forgery]
    oidc_provider.recorder.forge = forge
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))
    login = run(log_in, app)
    if expected is None:
        assert login.answer.status_code == 200, login.answer.text
        assert outcomes.identities[0].subject == OPERATOR.sub
    else:
        assert expected in refused(outcomes, login.answer)


@pytest.mark.parametrize(
    ("signer", "expected"),
    [
        ("rogue", "the ID token's signature does not verify with the provider's published keys"),
        (None, "the ID token is signed with an algorithm the provider does not announce"),
    ],
    ids=["another key of the same id", "unsigned"],
)
def test_an_id_token_whose_signature_does_not_verify_is_refused(
    oidc_provider: Provider, signer: str | None, expected: str
) -> None:
    """Claims unchanged, signed with a key of the published key's id that the provider does not
    hold, or not signed at all (``alg: none``): refused before any claim is believed."""
    oidc_provider.recorder.forge = _claims()
    oidc_provider.recorder.signer = signer
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))
    assert refused(outcomes, run(log_in, app).answer) == expected


def test_the_operator_declining_at_the_provider_is_a_failure_naming_it(
    oidc_provider: Provider,
) -> None:
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))
    login = run(lambda browser: log_in(browser, form={"action": "deny"}), app)
    assert refused(outcomes, login.answer) == (
        "the identity provider refused the login: access_denied"
    )


def test_a_wrong_client_secret_is_refused_at_the_code_exchange(oidc_provider: Provider) -> None:
    app, outcomes = console_app(
        oidc_provider.settings(CALLBACK, client_secret="not-the-registered-secret")
    )
    reason = refused(outcomes, run(log_in, app).answer)
    assert reason == "the identity provider refused the code exchange: invalid_client"
    assert "not-the-registered-secret" not in reason


def test_a_provider_that_names_another_issuer_is_not_followed(oidc_provider: Provider) -> None:
    """Discovery says another issuer than the configured one: the browser is not sent there.
    The document is read again at the next login, and followed once it is right."""
    oidc_provider.recorder.issuer_said = "https://idp.example.org"
    app, outcomes = console_app(oidc_provider.settings(CALLBACK))
    answer = run(lambda browser: browser.get(f"{CONSOLE}/login/oidc"), app)
    reason = refused(outcomes, answer)
    assert "names the issuer 'https://idp.example.org'" in reason
    assert oidc_provider.url in reason

    oidc_provider.recorder.issuer_said = None  # the provider set right: no restart needed
    answer = run(lambda browser: browser.get(f"{CONSOLE}/login/oidc"), app)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(f"{oidc_provider.url}/oauth2/authorize?")


def test_a_provider_that_cannot_be_reached_is_a_failure_naming_it() -> None:
    """Nothing listens at the issuer: the login start fails, naming the discovery URL."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        issuer = f"http://127.0.0.1:{closed.getsockname()[1]}"
    app, outcomes = console_app(OidcSettings(issuer, "firmaio-console", "s3cr3t"))
    answer = run(lambda browser: browser.get(f"{CONSOLE}/login/oidc"), app)
    assert refused(outcomes, answer) == (
        f"the identity provider cannot be reached at {issuer}/.well-known/openid-configuration "
        "(ConnectError)"
    )


def test_a_provider_gone_before_the_code_exchange_is_a_failure_naming_it() -> None:
    """The provider stops while the browser comes back with the code: the exchange fails,
    naming the token endpoint."""
    with serve_provider() as provider:
        app, outcomes = console_app(provider.settings(CALLBACK))

        async def whole(browser: httpx.AsyncClient) -> httpx.Response:
            start = await browser.get(f"{CONSOLE}/login/oidc")
            back = await browser.post(start.headers["location"], data={"sub": OPERATOR.sub})
            await asyncio.to_thread(provider.stop)
            return await browser.get(back.headers["location"])

        answer = run(whole, app)
    assert refused(outcomes, answer) == (
        f"the identity provider cannot be reached at {provider.url}/oauth2/token (ConnectError)"
    )


def test_no_code_token_verifier_secret_or_personal_claim_reaches_a_log_or_a_reason(
    oidc_provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    """The console served by uvicorn in a thread of its own, its access log on: every record
    of that thread at DEBUG (uvicorn's, Authlib's, httpx's, ours through structlog) during a
    login and a refused one holds none of the secrets the flow handled, nor the operator's
    subject or e-mail; the callback's line in the access log is there, code and state masked;
    what ours says is the issuer and the reason."""
    made: dict[str, Any] = {}

    def make(url: str) -> Starlette:
        made["settings"] = oidc_provider.settings(f"{url}/login/oidc/callback")
        app, made["outcomes"] = console_app(made["settings"])
        return app

    async def twice(console: str) -> None:
        async with httpx.AsyncClient(verify=False) as browser:
            assert (await log_in(browser, console=console)).answer.status_code == 200
            oidc_provider.recorder.forge = _claims(aud="another-console")
            assert (await log_in(browser, console=console)).answer.status_code == 401

    caplog.set_level(logging.DEBUG)
    access = logging.getLogger("uvicorn.access")
    cut_off = not access.propagate  # by a server started before, without its access log
    if cut_off:
        access.addHandler(caplog.handler)
    try:
        with structlog.testing.capture_logs() as events, served(make, access_log=True) as url:
            asyncio.run(twice(url))
    finally:
        access.removeHandler(caplog.handler)

    ours = [r for r in caplog.records if r.threadName == "oidc-console"]
    said = [f"{r.name}: {r.getMessage()}" for r in ours] + [*map(repr, events)]
    said += made["outcomes"].reasons
    secrets = [made["settings"].client_secret, OPERATOR.sub, "giulia.rossi@"]
    for exchange in oidc_provider.requests_to("/oauth2/token"):
        secrets += [exchange.form["code"], exchange.form["code_verifier"]]
    for answer in oidc_provider.recorder.token_answers:
        secrets += [answer["access_token"], answer["id_token"], answer.get("refresh_token", "")]
    assert len(secrets) >= 13
    assert [line for line in said if any(secret and secret in line for secret in secrets)] == []
    callbacks = [line for line in said if "/login/oidc/callback?" in line]
    assert len(callbacks) == 2
    assert all("code=[masked]" in line and "state=[masked]" in line for line in callbacks)
    assert {r.name.split(".")[0] for r in ours} >= {"uvicorn", "httpx", "httpcore"}
    assert [(e["event"], e["log_level"]) for e in events] == [
        ("firmaio.console.oidc_login", "info"),
        ("firmaio.console.oidc_failed", "warning"),
    ]
    assert events[0]["issuer"] == events[1]["issuer"] == oidc_provider.url
    assert events[1]["reason"] == "the ID token is meant for another client"
