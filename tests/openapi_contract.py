"""Checks HTTP exchanges against the issuer API's OpenAPI spec (openapi-core).

The spec is ``tests/contract/apim-issuer-v1.openapi.yaml``, a verbatim copy of the one imported
into the API gateway (``tests/contract/SOURCE.txt``). Where the real service departs from it
(API-NOTES §1.2, §3.1, §8), the exchange is adjusted before validation, and only there:

* ``sendNotification`` and ``getSignerByFiscalCode`` answer 200 where the spec says 201: their
  200 is validated as the spec's 201;
* problem bodies come as ``application/problem+json`` where the spec says ``application/json``;
* statuses the spec does not list for an operation (404 and 422 of ``sendNotification``) are
  validated against its ``default`` response, as OpenAPI prescribes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path(__file__).parent / "contract" / "apim-issuer-v1.openapi.yaml"
SPEC_HOST = "http://localhost:7071"
"""The spec's local server; the sandbox's random port is mapped onto it."""

CREATED_IN_SPEC = {"/api/v1/sign/signers", "/notification"}


class _Request:
    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        url = urlsplit(str(request.url))
        self.host_url = SPEC_HOST
        self.path = url.path
        self.method = request.method.lower()
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "application/json")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, request: httpx.Request, response: httpx.Response) -> None:
        path = request.url.path
        status = response.status_code
        departs = path.endswith("/notification") or path == "/api/v1/sign/signers"
        self.status_code = 201 if (departs and status == 200) else status
        content_type = response.headers.get("content-type", "application/json")
        self.content_type = content_type.replace("application/problem+json", "application/json")
        self.headers = Headers(dict(response.headers))
        self.data = response.content or None


_SPEC: list[OpenAPI] = []


def spec() -> OpenAPI:
    if not _SPEC:
        _SPEC.append(OpenAPI.from_file_path(str(SPEC_PATH)))
    return _SPEC[0]


def validate_request(request: httpx.Request) -> None:
    """Raise if the request does not fit the spec."""
    spec().validate_request(_Request(request))


def validate_response(request: httpx.Request, response: httpx.Response) -> None:
    """Raise if the response does not fit the spec (with the departures above)."""
    spec().validate_response(_Request(request), _Response(request, response))


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real transport that keeps every (request, response) that went through it."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()  # multipart bodies are streamed: keep them for validation
        response = await super().handle_async_request(request)
        await response.aread()
        self.exchanges.append((request, response))
        return response

    def api_exchanges(self) -> list[tuple[httpx.Request, httpx.Response]]:
        """The exchanges with the issuer API (not the blob store's stand-in)."""
        return [(q, r) for q, r in self.exchanges if "/__blob/" not in q.url.path]
