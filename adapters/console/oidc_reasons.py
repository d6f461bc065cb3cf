"""Why a login through the identity provider failed, in words that name what was wrong (never
text a token or the provider wrote), and the login's secrets kept out of other libraries' logs:
the callback's code and state in the server's access log, the PKCE verifier Authlib logs at
DEBUG. Used by :mod:`firmaio.adapters.console.oidc`."""

from __future__ import annotations

import importlib
import json
import logging
import re
import warnings
from typing import Any

import httpx
from joserfc import errors as jose

# Authlib would rather call on httpx2 and says so on stderr at import; it works on httpx, as the
# rest of the library does. Its client is imported here, that line left unsaid, for oidc.py.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401 (sets Authlib's own warnings to "always")

    warnings.filterwarnings("ignore", "The httpx module is deprecated", DeprecationWarning)
    from authlib.integrations.base_client.errors import MismatchingStateError
    from authlib.integrations.starlette_client import OAuth, OAuthError

__all__ = [
    "MaskedCallback",
    "OAuth",
    "OAuthError",
    "Refused",
    "code_of",
    "mask_callback",
    "reason_for",
]

_ERROR_CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class Refused(Exception):
    """A failure the login names itself; ``args[0]`` is the reason."""


def _http_modules() -> tuple[Any, ...]:
    """httpx, and httpx2 where it is installed: Authlib then calls the provider with it."""
    try:
        return (httpx, importlib.import_module("httpx2"))
    except ImportError:
        return (httpx,)


_HTTP_ERRORS = tuple(module.HTTPError for module in _http_modules())
_STATUS_ERRORS = tuple(module.HTTPStatusError for module in _http_modules())


_CLAIMS = {
    "nonce": "the ID token's nonce is not the one this login sent (a replayed token?)",
    "iss": "the ID token was issued by another issuer",
    "aud": "the ID token is meant for another client",
    "azp": "the ID token was issued to another client (azp)",
    "at_hash": "the ID token does not match the access token it came with (at_hash)",
}


def reason_for(error: Exception) -> str:
    """What was wrong, for ``on_failure`` and the log: named from the error's type and the
    claim's name, never from text a token or the provider wrote."""
    if isinstance(error, Refused):
        return str(error.args[0])
    if isinstance(error, MismatchingStateError):
        return (
            "the callback's state is not the one this browser's login started with "
            "(an old tab, a second login, a replay or a forged link)"
        )
    if isinstance(error, OAuthError):  # the token endpoint's error answer
        return f"the identity provider refused the code exchange: {code_of(error.error)}"
    if isinstance(error, _HTTP_ERRORS):
        return _http_reason(error)
    if isinstance(error, json.JSONDecodeError):
        return "the identity provider answered with something that is not JSON"
    if isinstance(error, jose.JoseError):
        return _token_reason(error)
    return f"the login failed unexpectedly ({type(error).__name__})"


def _token_reason(error: jose.JoseError) -> str:
    if isinstance(error, jose.ExpiredTokenError):
        return "the ID token has expired"
    if isinstance(error, jose.InvalidClaimError):
        claim = code_of(error.claim)
        return _CLAIMS.get(claim, f"the ID token's {claim} claim is not valid")
    if isinstance(error, jose.MissingClaimError):
        return f"the ID token lacks its {code_of(error.claim)} claim"
    if isinstance(error, jose.BadSignatureError):
        return "the ID token's signature does not verify with the provider's published keys"
    if isinstance(error, jose.InvalidKeyIdError | jose.MissingKeyError):
        return "the ID token is signed with a key the provider does not publish"
    if isinstance(error, jose.UnsupportedAlgorithmError):
        return "the ID token is signed with an algorithm the provider does not announce"
    return f"the ID token is not valid ({code_of(error.error)})"


def _http_reason(error: Any) -> str:
    try:
        url = error.request.url
        where = f" at {url.scheme}://{url.netloc.decode()}{url.path}"
    except RuntimeError:  # an error raised before a request was made
        where = ""
    if isinstance(error, _STATUS_ERRORS):
        return f"the identity provider answered HTTP {error.response.status_code}{where}"
    return f"the identity provider cannot be reached{where} ({type(error).__name__})"


def code_of(value: object) -> str:
    """An OAuth error code or a claim's name as said: a token of safe characters, or not said."""
    text = str(value) if value is not None else ""
    return text if _ERROR_CODE.fullmatch(text) else "an unnamed error"


_CALLBACK_SECRETS = re.compile(r"(?<=[?&])(code|state|session_state)=[^&\s\"']*")


def mask_callback(text: str) -> str:
    """``text`` with a callback URL's code and state masked."""
    return _CALLBACK_SECRETS.sub(r"\1=[masked]", text)


class MaskedCallback(logging.Filter):
    """The server's access log (uvicorn's) prints each request's path whole: the callback's
    code and state are masked in a record's arguments. Set on ``uvicorn.access`` at import."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_callback(a) if isinstance(a, str) else a for a in record.args)
        return True


logging.getLogger("uvicorn.access").addFilter(MaskedCallback())


class _NoVerifier(logging.Filter):
    """Authlib logs the PKCE verifier it makes at DEBUG; that line is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "code_verifier" not in record.getMessage()


logging.getLogger("authlib.integrations.base_client.sync_app").addFilter(_NoVerifier())
