"""The console's login through the administration's identity provider: OpenID Connect's
authorization code flow with PKCE (S256), state and nonce, made by Authlib.

:func:`oidc_routes` gives two routes. ``GET /login/oidc`` reads the provider's discovery document
(``{issuer}/.well-known/openid-configuration``: the issuer it names must be the configured one,
its endpoints https unless the issuer is on loopback) and sends the browser to the provider with
a fresh state, nonce and PKCE verifier, kept in ``request.session`` (Starlette's
SessionMiddleware; its cookie must be ``SameSite=Lax``, the default: a strict cookie does not come
back with the provider's redirect). The callback checks the state, exchanges the code (the client
authenticated by its secret, the verifier sent), checks the ID token (its signature with the
provider's published keys, its issuer, audience, expiry and nonce) and hands the caller's
``on_login`` an :class:`OidcIdentity`.

Every failure (the provider refused, a stale or forged state, a bad token, a provider that cannot
be reached) ends in the caller's ``on_failure`` with a reason naming what was wrong, also logged
as a structlog warning. No reason and no log line holds a token, a code, a verifier, the client
secret or a claim of the person (their subject may be a fiscal code).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from firmaio.adapters.console.oidc_reasons import OAuth, Refused, code_of, reason_for
from firmaio.adapters.key_files import read_key_file
from firmaio.fsm.errors import InvalidInput

LOGIN_PATH = "/login/oidc"
"""Where a browser starts a login (``GET``)."""
DISCOVERY = "/.well-known/openid-configuration"
"""The discovery document's path under the issuer."""
TIMEOUT = 10.0
"""Seconds each call to the provider (discovery, keys, token) may take."""
LEEWAY = 60
"""Seconds of clock difference with the provider that an ID token's times tolerate."""
CALLBACK_ROUTE = "oidc_callback"
"""The callback route's name (``request.url_for`` builds the redirect URI from it)."""
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
_log = structlog.get_logger("firmaio.adapters.console.oidc")


@dataclass(frozen=True)
class OidcSettings:
    """The console's client at the identity provider. ``issuer`` is an https URL (http only on
    loopback); ``scopes`` includes ``openid``; the redirect URI registered at the provider is the
    console's address followed by ``redirect_path``. Checked when made: a bad value raises
    :class:`~firmaio.fsm.errors.InvalidInput` naming it (never the secret)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str = "openid email profile"
    redirect_path: str = "/login/oidc/callback"

    def __post_init__(self) -> None:
        problem = _settings_problem(self)
        if problem:
            raise InvalidInput(f"OpenID Connect settings: {problem}; nothing was started")


@dataclass(frozen=True)
class OidcIdentity:
    """Who logged in, as the provider's checked ID token says: ``subject`` is unique within
    ``issuer``; ``email`` may be absent or unverified (``email_verified``)."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


OnLogin = Callable[[Request, OidcIdentity], Awaitable[Response]]
OnFailure = Callable[[Request, str], Awaitable[Response]]


def oidc_routes(settings: OidcSettings, on_login: OnLogin, on_failure: OnFailure) -> list[Route]:
    """``GET /login/oidc`` and ``GET {settings.redirect_path}``, for an app behind Starlette's
    SessionMiddleware (see the module docstring). ``on_login`` answers a checked login (the
    console starts its session there, a new one); ``on_failure`` answers any failure, with the
    reason. The provider's discovery document is read at the first login and kept."""
    client = OAuth().register(
        name="oidc",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.issuer.rstrip("/") + DISCOVERY,
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "timeout": TIMEOUT,
            "verify": _tls(),
        },
    )

    async def fail(request: Request, error: Exception) -> Response:
        reason = reason_for(error)
        _log.warning("firmaio.console.oidc_failed", issuer=settings.issuer, reason=reason)
        return await on_failure(request, reason)

    async def start(request: Request) -> Response:
        if "session" not in request.scope:  # a wiring mistake, not a failed login
            raise RuntimeError("oidc_routes needs Starlette's SessionMiddleware in front of them")
        try:
            await _discovered(client, settings)
            redirect_uri = str(request.url_for(CALLBACK_ROUTE))
            response: Response = await client.authorize_redirect(request, redirect_uri)
        except Exception as error:  # every failure is the caller's to answer, with its reason
            return await fail(request, error)
        return response

    async def callback(request: Request) -> Response:
        try:
            identity = await _identity(client, settings, request)
        except Exception as error:  # every failure is the caller's to answer, with its reason
            return await fail(request, error)
        _log.info("firmaio.console.oidc_login", issuer=identity.issuer)
        return await on_login(request, identity)

    return [
        Route(LOGIN_PATH, start, methods=["GET"], name="oidc_login"),
        Route(settings.redirect_path, callback, methods=["GET"], name=CALLBACK_ROUTE),
    ]


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client Authlib makes (one per call to the provider), not the
    CA bundle read again for each: 0.1 s of CPU every time."""
    return httpx.create_ssl_context()


def read_client_secret(*, env: str | None = None, file: str | Path | None = None) -> str:
    """The client secret, from the environment variable named ``env`` or from ``file`` (exactly
    one; a file its group or others may read is refused, as a tenant's key file is), never from
    the command line. Raises :class:`~firmaio.fsm.errors.InvalidInput` naming the variable or
    the file, never the secret."""
    if (env is None) == (file is None):
        raise InvalidInput(
            "the OpenID Connect client secret is read from one place: an environment variable "
            "or a file"
        )
    if env is not None:
        where, secret = f"the environment variable {env}", os.environ.get(env, "")
    else:
        assert file is not None
        where = f"the OpenID Connect client secret file {str(file)!r}"
        try:
            secret = read_key_file(file, "the OpenID Connect client secret file").decode()
        except UnicodeDecodeError:
            raise InvalidInput(f"{where} is not UTF-8 text") from None
    secret = secret.strip()
    if not secret:
        raise InvalidInput(f"{where} holds no OpenID Connect client secret (empty or unset)")
    return secret


async def _identity(client: Any, settings: OidcSettings, request: Request) -> OidcIdentity:
    query = request.query_params
    state = query.get("state")
    if "error" in query:
        if state:  # this login is over: its state cannot be used again
            await client.framework.clear_state_data(request.session, state)
        raise Refused(f"the identity provider refused the login: {code_of(query['error'])}")
    if not state:
        raise Refused("the callback carries no state")
    if not query.get("code"):
        raise Refused("the callback carries no authorization code")
    metadata = await _discovered(client, settings)
    token = await client.authorize_access_token(
        request, claims_options=_claims_options(metadata["issuer"], settings.client_id),
        leeway=LEEWAY,
    )  # fmt: skip
    claims = token.get("userinfo")
    if not claims:
        raise Refused("the provider's token answer carries no ID token")
    return OidcIdentity(
        issuer=claims["iss"],
        subject=claims["sub"],
        email=_text(claims.get("email")),
        email_verified=claims.get("email_verified") in (True, "true"),
        name=_text(claims.get("name")),
    )


async def _discovered(client: Any, settings: OidcSettings) -> dict[str, Any]:
    """The provider's discovery document, checked: its issuer is ours, its endpoints present
    and secure. A document that fails is forgotten (the next login reads it again)."""
    metadata: dict[str, Any] = await client.load_server_metadata()
    problem = _metadata_problem(metadata, settings.issuer)
    if problem:
        client.server_metadata.clear()
        raise Refused(f"the provider's discovery document {problem}")
    return metadata


def _metadata_problem(metadata: dict[str, Any], issuer: str) -> str | None:
    said = metadata.get("issuer")
    if not isinstance(said, str) or said.rstrip("/") != issuer.rstrip("/"):
        shown = repr(said)[:120] if said is not None else "none"
        return f"names the issuer {shown}, not {issuer!r}"
    for key in _ENDPOINTS:
        url = metadata.get(key)
        if not isinstance(url, str) or not url:
            return f"has no {key}"
        if not _secure(url):
            return f"gives a {key} that is not an https URL"
    return None


def _claims_options(issuer: str, client_id: str) -> dict[str, dict[str, Any]]:
    """What the ID token's claims must be: issued by ``issuer``, to ``client_id``, for a
    subject, with an expiry and an issue time (the nonce is checked by Authlib)."""
    return {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def _settings_problem(settings: OidcSettings) -> str | None:
    parts = urlsplit(settings.issuer)
    if not parts.hostname or parts.query or parts.fragment or not _secure(settings.issuer):
        return (
            f"the issuer {settings.issuer!r} is not an https URL (http only on loopback) "
            "without query or fragment"
        )
    if not settings.client_id or settings.client_id != settings.client_id.strip():
        return "the client id is empty or has spaces around it"
    if not settings.client_secret.strip():
        return "the client secret is empty"
    if "openid" not in settings.scopes.split():
        return f"the scopes {settings.scopes!r} lack openid"
    if not settings.redirect_path.startswith("/") or settings.redirect_path == LOGIN_PATH:
        return f"the redirect path {settings.redirect_path!r} is not a path of its own"
    return None


def _secure(url: str) -> bool:
    """https, or http to this host's loopback (a provider run for tests or on the host)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
