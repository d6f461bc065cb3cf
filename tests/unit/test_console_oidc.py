"""The console's OpenID Connect settings, its client secret's sources, and the words a failed login
is given (firmaio.adapters.console.oidc, oidc_reasons): bad input named, never the secret. The
login itself, over HTTP against a real provider, is tests/http/test_oidc.py's."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import Response

from firmaio.adapters.console.oidc import OidcSettings, oidc_routes, read_client_secret
from firmaio.adapters.console.oidc_reasons import (
    MaskedCallback,
    OAuthError,
    mask_callback,
    reason_for,
)
from firmaio.fsm.errors import InvalidInput

SECRET = "s3cr3t-of-the-console"
GOOD = {"issuer": "https://idp.comune.example.it/realms/ops", "client_id": "firmaio-console"}


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (
            {"issuer": "http://idp.comune.example.it"},
            "'http://idp.comune.example.it' is not an https URL",
        ),
        ({"issuer": "idp.comune.example.it"}, "'idp.comune.example.it' is not an https URL"),
        ({"issuer": "https://idp.example.it/?realm=x"}, "without query or fragment"),
        ({"client_id": ""}, "the client id is empty"),
        ({"client_id": " firmaio "}, "has spaces around it"),
        ({"client_secret": "  "}, "the client secret is empty"),
        ({"scopes": "email profile"}, "the scopes 'email profile' lack openid"),
        ({"redirect_path": "callback"}, "the redirect path 'callback' is not a path of its own"),
        ({"redirect_path": "/login/oidc"}, "'/login/oidc' is not a path of its own"),
    ],
)
def test_settings_refuse_a_bad_value_naming_it_never_the_secret(
    changed: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        OidcSettings(**{**GOOD, "client_secret": SECRET, **changed})
    assert named in str(refused.value)
    assert str(refused.value).startswith("OpenID Connect settings: ")
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    "issuer",
    [
        "https://idp.example.it",
        "http://127.0.0.1:8080",
        "http://localhost:9000/",
        "http://[::1]:80",
    ],
)
def test_settings_take_https_or_loopback_http(issuer: str) -> None:
    settings = OidcSettings(issuer=issuer, client_id="c", client_secret=SECRET)
    assert settings.issuer == issuer
    assert settings.scopes == "openid email profile"
    assert settings.redirect_path == "/login/oidc/callback"


def test_the_secret_is_not_in_the_settings_repr() -> None:
    shown = repr(OidcSettings(**GOOD, client_secret=SECRET))
    assert SECRET not in shown
    assert "firmaio-console" in shown


def test_the_secret_is_read_from_the_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRMAIO_OIDC_CLIENT_SECRET", f"  {SECRET}\n")
    assert read_client_secret(env="FIRMAIO_OIDC_CLIENT_SECRET") == SECRET


@pytest.mark.parametrize("value", [None, "", "  \n"])
def test_an_unset_or_empty_variable_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("FIRMAIO_OIDC_CLIENT_SECRET", raising=False)
    else:
        monkeypatch.setenv("FIRMAIO_OIDC_CLIENT_SECRET", value)
    with pytest.raises(InvalidInput, match="the environment variable FIRMAIO_OIDC_CLIENT_SECRET"):
        read_client_secret(env="FIRMAIO_OIDC_CLIENT_SECRET")


def test_the_secret_is_read_from_a_file_only_its_owner_may_read(tmp_path: Path) -> None:
    file = tmp_path / "oidc-secret"
    file.write_text(SECRET + "\n")
    file.chmod(0o600)
    assert read_client_secret(file=file) == SECRET

    file.chmod(0o644)
    with pytest.raises(InvalidInput) as refused:
        read_client_secret(file=file)
    assert "may be read or changed by its group and every other user (mode 0644)" in str(
        refused.value
    )
    assert SECRET not in str(refused.value)


def test_an_empty_or_binary_file_is_refused_naming_it(tmp_path: Path) -> None:
    empty, binary = tmp_path / "empty", tmp_path / "binary"
    empty.write_text("\n")
    binary.write_bytes(b"\xff\xfe\x00secret")
    for file in (empty, binary):
        file.chmod(0o600)
    with pytest.raises(InvalidInput, match="holds no OpenID Connect client secret"):
        read_client_secret(file=empty)
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        read_client_secret(file=binary)


def test_the_secret_comes_from_exactly_one_place(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="from one place"):
        read_client_secret()
    with pytest.raises(InvalidInput, match="from one place"):
        read_client_secret(env="X", file=tmp_path / "x")


def test_a_reason_never_repeats_what_the_error_or_the_provider_said() -> None:
    """An unexpected error is named by its type; a provider's error code that is not a plain
    token (markup, a whole sentence, a token's text) is not repeated."""
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJSU1NNUkE4MEEwMUg1MDFVIn0.sig"
    assert reason_for(KeyError(token)) == "the login failed unexpectedly (KeyError)"
    assert reason_for(OAuthError(error="invalid_grant", description=token)) == (
        "the identity provider refused the code exchange: invalid_grant"
    )
    assert reason_for(OAuthError(error=f"<b>{token}</b>")) == (
        "the identity provider refused the code exchange: an unnamed error"
    )


def test_the_callbacks_code_and_state_are_masked_in_access_log_lines() -> None:
    line = '127.0.0.1:5 - "GET /login/oidc/callback?code=abc.DEF-1_x&state=Q9z&iss=x HTTP/1.1" 200'
    assert mask_callback(line) == (
        '127.0.0.1:5 - "GET /login/oidc/callback?code=[masked]&state=[masked]&iss=x HTTP/1.1" 200'
    )
    record = logging.makeLogRecord(
        {"msg": '%s - "%s %s"', "args": ("127.0.0.1:5", "GET", "/cb?state=s&code=c")}
    )
    assert MaskedCallback().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /cb?state=[masked]&code=[masked]"'


def test_the_routes_without_a_session_middleware_are_a_wiring_error() -> None:
    """Where would state, nonce and verifier be kept? Not a failed login: the app's mistake,
    raised as such before any call to the provider."""

    async def never(*_: object) -> Response:
        raise AssertionError("no callback is reached")

    settings = OidcSettings(**GOOD, client_secret=SECRET)
    app = Starlette(routes=oidc_routes(settings, never, never))

    async def start() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            await client.get("http://console.test/login/oidc")

    with pytest.raises(RuntimeError, match="needs Starlette's SessionMiddleware"):
        asyncio.run(start())
