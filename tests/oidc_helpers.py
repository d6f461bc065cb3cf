"""A real OpenID provider for the console's login tests: ``oidc-provider-mock`` (Authlib's server
in a Flask app) served by werkzeug on loopback, with one operator, Giulia Rossi, and clients
registered as a console registers at its provider (redirect URIs, a secret checked at the token
endpoint). A WSGI layer in front records what the provider was sent and answered, and can forge
the ID token it hands out: claims changed and signed again with a key the provider then
publishes too (a token that verifies, with a claim that is wrong), or with a key it does not
publish (a signature that does not verify). The ``oidc_provider`` fixture is one provider for the
session; each test's records and forgery start empty."""

from __future__ import annotations

import base64
import functools
import io
import json
import socket
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from firmaio.adapters.console.oidc import DISCOVERY, OidcIdentity, OidcSettings, oidc_routes

with warnings.catch_warnings():  # the mock imports an Authlib module Authlib says is deprecated
    import authlib.deprecate  # noqa: F401 (sets Authlib's warnings to "always")

    warnings.simplefilter("ignore", DeprecationWarning)
    from oidc_provider_mock import User, app

OPERATOR = User(
    sub="op-giulia",
    claims={
        "email": "giulia.rossi@comune.example.it",
        "email_verified": True,
        "name": "Giulia Rossi",
    },
)
"""The provider's one predefined user (its login page shows a button for her)."""
FORGER_KID = "forger"


@functools.cache
def key(name: str) -> RSAKey:
    """``forger``: the key forged tokens are signed with, which the provider publishes beside
    its own; ``rogue``: a key of the same id it never publishes. Made at first use."""
    return RSAKey.generate_key(2048, parameters={"kid": FORGER_KID})


@dataclass(frozen=True)
class Seen:
    """A request the provider received: its path, query and form fields."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]


@dataclass
class Recorder:
    """The WSGI layer in front of the mock: records requests and token answers, forges."""

    app: Callable[..., Iterable[bytes]]
    seen: list[Seen] = field(default_factory=list)
    token_answers: list[dict[str, Any]] = field(default_factory=list)
    forge: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Claims in, claims out: the ID token is signed again with ``signer``."""
    signer: str | None = "forger"
    """The :func:`key` forged tokens are signed with; None: not signed (``alg: none``)."""
    issuer_said: str | None = None
    """An issuer the discovery document names instead of the provider's own."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        form = dict(parse_qsl(body.decode())) if b"=" in body and b"{" not in body else {}
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        self.seen.append(Seen(environ["REQUEST_METHOD"], environ["PATH_INFO"], query, form))
        caught: dict[str, Any] = {}

        def catch(status: str, headers: list[tuple[str, str]], _exc: object = None) -> Any:
            caught.update(status=status, headers=headers)
            return lambda _data: None

        answer = self.app(environ, catch)
        try:
            content = b"".join(answer)
        finally:
            getattr(answer, "close", lambda: None)()
        content = self._rewritten(environ["PATH_INFO"], caught["status"], content)
        headers = [(k, v) for k, v in caught["headers"] if k.lower() != "content-length"]
        start_response(caught["status"], [*headers, ("Content-Length", str(len(content)))])
        return [content]

    def _rewritten(self, path: str, status: str, content: bytes) -> bytes:
        if not status.startswith("200") or path not in ("/oauth2/token", "/jwks", DISCOVERY):
            return content
        said = json.loads(content)
        if path == DISCOVERY and self.issuer_said is not None:
            said["issuer"] = self.issuer_said
        elif path == "/jwks" and self.forge is not None:  # the provider's key, and the forger's
            said["keys"].append(key("forger").as_dict(private=False))
        elif path == "/oauth2/token":
            if self.forge is not None and "id_token" in said:
                claims = self.forge(unverified_claims(said["id_token"]))
                said["id_token"] = signed(claims, self.signer)
            self.token_answers.append(said)
        return json.dumps(said).encode()


def signed(claims: dict[str, Any], signer: str | None) -> str:
    """``claims`` as a compact JWT signed by :func:`key` ``signer`` (RS256), or unsigned."""
    if signer is not None:
        return jwt.encode({"alg": "RS256", "kid": FORGER_KID}, claims, key(signer))
    parts = ({"alg": "none", "kid": FORGER_KID}, claims)
    encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
    return b".".join(encoded).decode() + "."


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWT, read without checking anything."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


@dataclass
class Provider:
    """The provider on loopback: its issuer URL, its recorder, clients registered at it."""

    url: str
    recorder: Recorder
    server: werkzeug.serving.BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving (again: nothing); the port then refuses connections."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()

    def register(self, *redirect_uris: str) -> tuple[str, str]:
        """A new client for ``redirect_uris``: its id and secret (the provider checks both)."""
        answer = httpx.post(
            f"{self.url}/oauth2/clients", json={"redirect_uris": list(redirect_uris)}
        )
        answer.raise_for_status()
        made = answer.json()
        return made["client_id"], made["client_secret"]

    def settings(self, redirect_uri: str, **changed: str) -> OidcSettings:
        """A console's settings for a client registered for ``redirect_uri``."""
        client_id, secret = self.register(redirect_uri)
        fields = {"issuer": self.url, "client_id": client_id, "client_secret": secret}
        return OidcSettings(**{**fields, **changed})

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.recorder.seen if seen.path == path]

    def reset(self) -> None:
        self.recorder.seen.clear()
        self.recorder.token_answers.clear()
        self.recorder.forge = None
        self.recorder.signer = "forger"
        self.recorder.issuer_said = None


@contextmanager
def serve_provider() -> Iterator[Provider]:
    """A fresh provider on a free loopback port, for the ``with`` block."""
    provider_app = app(require_client_registration=True, require_nonce=True, user_claims=[OPERATOR])
    recorder = Recorder(provider_app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, recorder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="oidc-provider")
    thread.start()
    provider = Provider(f"http://127.0.0.1:{server.server_port}", recorder, server, thread)
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture(scope="session")
def oidc_provider_of_session() -> Iterator[Provider]:
    with serve_provider() as provider:
        yield provider


@pytest.fixture
def oidc_provider(oidc_provider_of_session: Provider) -> Provider:
    """The session's provider, its records and forgery reset for this test."""
    oidc_provider_of_session.reset()
    return oidc_provider_of_session


# -- the console's stand-in: a tiny app with the login routes ------------------------------------


@dataclass
class Outcomes:
    """What the app's callbacks were handed."""

    identities: list[OidcIdentity] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def console_app(settings: OidcSettings) -> tuple[Starlette, Outcomes]:
    """A Starlette app behind SessionMiddleware whose only routes are :func:`oidc_routes`':
    a login answers a page greeting the identity (200), a failure a page with the reason
    (401); both are recorded."""
    outcomes = Outcomes()

    async def on_login(request: Request, identity: OidcIdentity) -> Response:
        outcomes.identities.append(identity)
        request.session.clear()  # a new session for the operator
        request.session["operator"] = identity.subject
        return HTMLResponse(f"<h1>Benvenuta, {identity.name}</h1>")

    async def on_failure(request: Request, reason: str) -> Response:
        outcomes.reasons.append(reason)
        return HTMLResponse(f"<h1>Login failed</h1><p>{reason}</p>", status_code=401)

    middleware = [Middleware(SessionMiddleware, secret_key="test-session-key", https_only=False)]
    return Starlette(
        routes=oidc_routes(settings, on_login, on_failure), middleware=middleware
    ), outcomes


@contextmanager
def served(make_app: Callable[[str], Starlette], *, access_log: bool = False) -> Iterator[str]:
    """The app ``make_app(root URL)`` makes, served by uvicorn on a free loopback port (known
    before the app is made: its redirect URI is registered first) in the thread
    ``oidc-console``; yields its root URL. ``access_log``: uvicorn's, at INFO."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listening.getsockname()[1]}"
    config = uvicorn.Config(
        make_app(url),
        log_config=None,
        log_level="info" if access_log else "critical",
        lifespan="off",
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listening]}, name="oidc-console", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the console stand-in could not start")
            thread.join(0.01)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()
