"""The settings checked before the first step: one cheap authenticated call, at start.

``run``, ``serve``, ``worker``, ``send`` and the sync facade call :func:`check_settings` once per
key before they touch any flow. It asks ``GET /dossiers/{id}`` for an id no dossier has
(:data:`PROBE_DOSSIER`): the gateway checks the key first, then the issuer API answers its
documented problem (404, ``application/problem+json``, :data:`DOSSIER_NOT_FOUND`), one point
read for the service, counted in the key's rate window like any call. Anything else says which
setting is wrong:

* 401 or 403: the key (or, for 403, the network the key is allowed from);
* another answer (a 404 of another server or path, HTML or text from a proxy, a redirect, a JSON
  of another shape), or a host that does not resolve: the base URL;
* no answer after the client's retries (a refused connection, a timeout, 5xx or 429): the
  service cannot be reached now, :class:`~firmaio.fsm.errors.ApiUnavailable`.

The error names the setting, the URL asked and what came back (status, content type, the
body's first bytes, escaped); never the key. The outcome is logged
(``firmaio.settings_checked`` or ``firmaio.settings_wrong``), never recorded in a flow.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx

from firmaio.fsm.errors import ApiConfigurationError, ApiUnavailable
from firmaio.fsm.logs import get_logger
from firmaio.fsm.redact import redact_text

from .answers import Transient, retry_after
from .evidence import body_of
from .limits import TooLarge
from .transport import DEFAULT_BASE_URL, Transport

PROBE_DOSSIER = "00000000000000000000000000"
"""A dossier id no issuer has (a ULID of time zero): the check's call asks for it."""

DOSSIER_NOT_FOUND = "The specified dossier was not found"
"""The issuer API's detail for a dossier it does not have (API-NOTES §1.3.2)."""

TEMPLATE = "/dossiers/{dossierId}"

_log = get_logger("firmaio.adapters.settings_check")


async def check_settings(
    client: Transport,
    *,
    base_url_named: str = "Settings.base_url",
    key_named: str = "the API key",
    tenant: str | None = None,
) -> None:
    """Check ``client``'s base URL and key with one call (see the module docstring); raise
    :class:`ApiConfigurationError` naming the wrong setting (``base_url_named``,
    ``key_named``), or :class:`ApiUnavailable` when the service gives no answer."""
    url = client.base_url + client._path(TEMPLATE, dossierId=PROBE_DOSSIER)
    where = {"base_url": client.base_url, "tenant": tenant}

    async def attempt(_n: int) -> httpx.Response:
        request = client.http.build_request("GET", url)
        try:
            async with client.rate_limit.slot():
                response = await client.exchange(
                    client.http, request, client.limits.api_json, client.limits.call_seconds
                )
        except httpx.ConnectError as error:
            if _no_such_host(error):
                raise _wrong(f"{base_url_named} is {client.base_url}, whose host cannot be "
                             "found (DNS)", where) from None  # fmt: skip
            raise
        except TooLarge as error:
            raise _wrong(
                f"{base_url_named} is {client.base_url}, which does not look like the issuer API: "
                f"GET {url} answered HTTP {error.status} with a body larger than any of its "
                "answers", where,
            ) from None  # fmt: skip
        if response.status_code == 429 or response.status_code >= 500:
            raise Transient(f"HTTP {response.status_code}", wait=retry_after(response))
        return response

    try:
        response = await client._retrying("the settings check", attempt)
    except ApiUnavailable as error:
        _log.warning("firmaio.settings_wrong", setting="unreachable", error=str(error), **where)
        raise ApiUnavailable(
            f"the issuer API at {client.base_url} cannot be reached now ({error}): check "
            f"{base_url_named} and the network; nothing was done"
        ) from None
    _judge(response, url, client.base_url, base_url_named, key_named, where)
    _log.info("firmaio.settings_checked", status=response.status_code, **where)


def _judge(
    response: httpx.Response,
    url: str,
    base_url: str,
    base_url_named: str,
    key_named: str,
    where: dict[str, Any],
) -> None:
    """Raise unless ``response`` is the issuer API's own answer to the check's call."""
    status = response.status_code
    if status in (401, 403):
        said = body_of(response) or "no body"
        advice = (
            "the key is unknown or its subscription is not active: copy it again from the "
            "Firma con IO reserved area"
            if status == 401
            else "the gateway refused it: check the IP addresses the key is allowed from"
        )
        _log.warning("firmaio.settings_wrong", setting="key", status=status, **where)
        raise ApiConfigurationError(
            f"{key_named} was refused by the issuer API at {response.request.url.host} "
            f"(HTTP {status}: {said}): {advice}; nothing was done"
        )
    if _documented(response):
        return
    raise _wrong(
        f"{base_url_named} is {base_url}, which does not look like the issuer API: GET {url} "
        f"answered {_evidence(response)}, not its documented 404 problem; the base URL ends in "
        f"/api/v1/sign (production: {DEFAULT_BASE_URL})",
        {**where, "status": status},
    )


def _documented(response: httpx.Response) -> bool:
    """Whether ``response`` is the documented answer: the 404 problem for a dossier it does not
    have, or (a dossier of that id after all) the dossier itself."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    if not isinstance(body, dict):
        return False
    if response.status_code == 404:
        return (
            kind in ("application/problem+json", "application/json")
            and body.get("status") == 404
            and body.get("detail") == DOSSIER_NOT_FOUND
        )
    return response.status_code == 200 and body.get("id") == PROBE_DOSSIER


def _evidence(response: httpx.Response) -> str:
    """Status, content type and the body's first bytes, escaped, fiscal codes masked."""
    kind = response.headers.get("content-type") or "no content type"
    head = redact_text(response.content[:80].decode("utf-8", "replace"))
    body = repr(head) if head else "an empty body"
    cut = "..." if len(response.content) > 80 else ""
    location = response.headers.get("location")
    moved = f" to {location!r}" if location and 300 <= response.status_code < 400 else ""
    return f"HTTP {response.status_code}{moved} ({kind}) {body}{cut}"


def _wrong(message: str, where: dict[str, Any]) -> ApiConfigurationError:
    _log.warning("firmaio.settings_wrong", setting="base_url", **where)
    return ApiConfigurationError(message + "; nothing was done")


def _no_such_host(error: BaseException) -> bool:
    """Whether a connection failed because the host name does not resolve."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
