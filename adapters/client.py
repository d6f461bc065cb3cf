"""The Firma con IO issuer API over httpx: the core's ``SignatureApi`` port, and more.

One pooled ``httpx.AsyncClient`` per key, explicit timeouts, the key sent as
``Ocp-Apim-Subscription-Key``. Every answer of API-NOTES §3.2 becomes a typed outcome:

* refusals (messages off, no IO profile), "not found" and closed requests are
  :class:`~fsm.answers.Answer` values for the guards;
* a 422 to the notification ("not notifiable now") is resolved by reading the request;
* 401 and 403 raise :class:`~fsm.errors.ApiConfigurationError` at once;
* 429 waits as ``x-rate-limit-retry-after`` / ``Retry-After`` say; 5xx, timeouts, dropped
  connections and malformed bodies are retried with capped exponential backoff and jitter
  (stamina), then raise :class:`~fsm.errors.ApiUnavailable` or
  :class:`~fsm.errors.ApiProtocolError`.

**Never two messages to one citizen.** When a notification attempt may have reached the service
(a timeout after sending, a connection dropped before the answer, a 5xx, a garbled 200), the
client lets it settle (``RetryPolicy.notification_grace``), then reads the request before sending
again; a notification found there is the answer.

A client-side sliding window keeps the key under the gateway's 150 calls per 5 seconds, so a busy
run gets no 429 at all. One structlog event per HTTP call (``issuer_api.call``): method, path
template, status, duration, attempt. The key never appears in logs, records or exceptions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import stamina
import structlog

from firmaio.fsm.answers import Answer, Kind, RequestStatus
from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiProtocolError,
    ApiRefused,
    ApiUnavailable,
    InvalidInput,
)
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.redact import redact_text

from .ratelimit import SlidingWindow

DEFAULT_BASE_URL = "https://api.io.pagopa.it/api/v1/sign"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_CONNECTIONS = 20
"""Connections to the issuer API by default, and so requests in flight at once."""
MESSAGES_DISABLED = "It is not allowed to send a message to this user."
NO_IO_PROFILE = "User profile not found!"

T = TypeVar("T")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left: the service cannot have acted on it."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried (stamina's capped exponential backoff with jitter)."""

    attempts: int = 5
    timeout: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 30.0
    """A 429's ``Retry-After`` longer than this is capped."""
    notification_grace: float = 5.0
    """After a notification attempt whose outcome is unknown, wait this long (from when it was
    sent) before reading the request back: the service may still be processing it (its own call
    to IO has a 3 s timeout, API-NOTES §3.1), and the service has no guard against two
    overlapping calls both sending a message."""


class _Transient(Exception):
    """A transient answer (5xx, 429, garbled body): worth another attempt."""

    def __init__(self, message: str, *, wait: float | None = None, malformed: bool = False):
        super().__init__(message)
        self.wait = wait
        self.malformed = malformed


def _retry_after(response: httpx.Response) -> float | None:
    for header in ("x-rate-limit-retry-after", "retry-after"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None


def _detail(response: httpx.Response) -> str | None:
    """The problem detail (or APIM message) of an error answer, with fiscal codes masked."""
    try:
        body = response.json()
    except ValueError:
        return redact_text(response.text[:200]) if response.text else None
    if isinstance(body, dict):
        for key in ("detail", "message", "title"):
            if isinstance(body.get(key), str):
                return redact_text(body[key])
    return None


def request_answer(view: dict[str, Any], http_status: int = 200) -> Answer:
    """The core's Answer for a ``SignatureRequestDetailView``; unknown statuses are kept as is."""
    notification = view.get("notification")
    io_message_id = notification.get("io_message_id") if isinstance(notification, dict) else None
    qr_code_url = view.get("qr_code_url")
    return Answer(
        Kind.REQUEST,
        http_status=http_status,
        status=str(view["status"]),
        qr_code_url=qr_code_url if isinstance(qr_code_url, str) else None,
        io_message_id=io_message_id if isinstance(io_message_id, str) and io_message_id else None,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise _Transient(
            f"HTTP {response.status_code} with a body that is not JSON", malformed=True
        ) from None
    if not isinstance(body, dict):
        raise _Transient(
            f"HTTP {response.status_code} with a JSON body that is not an object", malformed=True
        )
    return body


def _request_view(response: httpx.Response) -> dict[str, Any]:
    view = _json_object(response)
    if not isinstance(view.get("status"), str):
        raise _Transient("a signature request without a status", malformed=True)
    return view


class IssuerClient:
    """An async client of the Firma con IO issuer API for one API key.

    Use it as an async context manager, or call :meth:`aclose`. ``transport`` is handed to httpx
    as is (``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests). ``max_connections``
    bounds the requests in flight: at 150 calls per 5 s, 20 cover answers up to 0.6 s long.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limit: SlidingWindow | None = None,
        retry: RetryPolicy | None = None,
        logger: Any = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if max_connections < 1:
            raise InvalidInput(f"max_connections must be at least 1, got {max_connections}")
        if not api_key or not api_key.strip():
            raise InvalidInput("the API key is empty: set FIRMAIO_API_KEY or pass api_key")
        if any(c.isspace() or not c.isprintable() for c in api_key):
            raise InvalidInput("the API key contains whitespace or control characters")
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Ocp-Apim-Subscription-Key": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self._connections = asyncio.Semaphore(max_connections)
        """Requests wait here, not in httpcore's pool: the pool rescans every queued request
        each time it hands out a connection (quadratic; encode/httpcore#1035), which with
        3,000 flows in flight cost more CPU than the flows themselves."""
        self._timeout, self._transport = timeout, transport
        self._blob: httpx.AsyncClient | None = None
        """For uploads to storage, made on first upload: flows never need it, and a client's
        TLS context takes 40 ms of CPU to build."""
        self.rate_limit = rate_limit if rate_limit is not None else SlidingWindow(150, 5.0)
        self.retry = retry if retry is not None else RetryPolicy()
        self._log = logger if logger is not None else structlog.get_logger(__name__)

    def __repr__(self) -> str:
        return f"IssuerClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> IssuerClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()
        if self._blob is not None:
            await self._blob.aclose()

    # -- one HTTP call, and retries around it -----------------------------------------------

    async def _once(
        self, method: str, template: str, path: str, attempt: int, **kwargs: Any
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            async with self._connections, self.rate_limit.slot():
                # an absolute URL is parsed once; a path would be parsed, then merged
                response = await self._http.request(method, self.base_url + path, **kwargs)
        except httpx.TransportError as exc:
            self._log.info(
                "issuer_api.call",
                method=method,
                path=template,
                status=None,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                attempt=attempt,
                error=type(exc).__name__,
            )
            raise
        self._log.info(
            "issuer_api.call",
            method=method,
            path=template,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            attempt=attempt,
        )
        self._check(response, method, template)
        return response

    def _check(self, response: httpx.Response, method: str, template: str) -> None:
        """Raise for answers that are not the operation's own: 401/403, 429, 5xx."""
        status = response.status_code
        if status == 401:
            raise ApiConfigurationError(
                f"{method} {template}: the API key was refused (401: {_detail(response)}). "
                "Check FIRMAIO_API_KEY and that the key belongs to an active subscription."
            )
        if status == 403:
            raise ApiConfigurationError(
                f"{method} {template}: forbidden (403: {_detail(response)}). Check the key's IP "
                "allow-list and, for a test key, that the fiscal code is among its testers."
            )
        if status == 429:
            wait = _retry_after(response)
            raise _Transient(f"HTTP 429 ({_detail(response)})", wait=wait)
        if status >= 500:
            raise _Transient(f"HTTP {status} ({_detail(response)})")

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: whether to retry, and for a 429, how long to wait."""
        if isinstance(exc, _Transient):
            if exc.wait is not None:
                return min(exc.wait, self.retry.max_retry_after) or True
            return True
        return isinstance(exc, httpx.TransportError)

    async def _retrying(self, operation: str, attempt_fn: Callable[[int], Awaitable[T]]) -> T:
        tries = 0
        try:
            async for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.retry.attempts,
                timeout=self.retry.timeout,
                wait_initial=self.retry.wait_initial,
                wait_max=self.retry.wait_max,
                wait_jitter=self.retry.wait_jitter,
            ):
                with attempt:
                    tries += 1
                    return await attempt_fn(tries)
        except _Transient as exc:
            kind = ApiProtocolError if exc.malformed else ApiUnavailable
            raise kind(f"{operation}: {exc} after {tries} attempt(s)") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"{operation}: {type(exc).__name__} after {tries} attempt(s)"
            ) from exc
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    @staticmethod
    def _path(template: str, **ids: str) -> str:
        return template.format(
            **{name: quote(check_request_id(value), safe="") for name, value in ids.items()}
        )

    # -- the port: what a flow's triggers call -----------------------------------------------

    async def get_request(self, request_id: str) -> Answer:
        """``GET /signature-requests/{id}``: REQUEST, or NOT_FOUND."""
        template = "/signature-requests/{id}"
        path = self._path(template, id=request_id)

        async def attempt(n: int) -> Answer:
            response = await self._once("GET", template, path, n)
            return self._read_answer(response)

        return await self._retrying("getSignatureRequest", attempt)

    def _read_answer(self, response: httpx.Response) -> Answer:
        if response.status_code == 200:
            return request_answer(_request_view(response))
        if response.status_code == 404:
            return Answer.not_found()
        return Answer.refused(response.status_code, _detail(response))

    async def send_notification(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/notification`` with an empty body; at most one message."""
        template = "/signature-requests/{id}/notification"
        path = self._path(template, id=request_id)
        maybe_sent = False
        sent_at = 0.0

        async def attempt(n: int) -> Answer:
            nonlocal maybe_sent, sent_at
            if maybe_sent:  # the last attempt may have reached the service: look before resending
                settle = sent_at + self.retry.notification_grace - time.monotonic()
                if settle > 0:
                    await asyncio.sleep(settle)
                seen = await self.get_request(request_id)
                untouched = (
                    seen.kind is Kind.REQUEST
                    and seen.status == RequestStatus.WAIT_FOR_SIGNATURE
                    and seen.io_message_id is None
                )
                if not untouched:
                    return seen
            sent_at = time.monotonic()
            try:
                response = await self._once("PUT", template, path, n, content=b"")
            except _NOT_SENT:
                raise
            except httpx.TransportError:
                maybe_sent = True
                raise
            except _Transient as exc:
                maybe_sent = maybe_sent or exc.wait is None  # 5xx may come after the send; 429 not
                raise
            try:
                return await self._notification_answer(request_id, response)
            except _Transient:
                maybe_sent = True
                raise

        return await self._retrying("sendNotification", attempt)

    async def _notification_answer(self, request_id: str, response: httpx.Response) -> Answer:
        status = response.status_code
        if status in (200, 201):  # the service answers 200, its spec says 201
            io_message_id = _json_object(response).get("io_message_id")
            if not isinstance(io_message_id, str) or not io_message_id:
                raise _Transient("a notification answer without io_message_id", malformed=True)
            return Answer.sent(io_message_id, http_status=status)
        detail = _detail(response)
        if status == 400 and detail == MESSAGES_DISABLED:
            return Answer.messages_disabled()
        if status == 404:
            return Answer.no_io_profile() if detail == NO_IO_PROFILE else Answer.not_found()
        if status == 422:  # not notifiable now: already notified? closed? still READY?
            return await self.get_request(request_id)
        return Answer.refused(status, detail)

    async def cancel_request(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/status`` with ``"CANCELLED"``."""
        template = "/signature-requests/{id}/status"
        path = self._path(template, id=request_id)
        maybe_done = False

        async def attempt(n: int) -> Answer:
            nonlocal maybe_done
            if maybe_done:
                seen = await self.get_request(request_id)
                if seen.kind is Kind.REQUEST and seen.status == RequestStatus.CANCELLED:
                    return Answer.cancel_accepted()
            try:
                response = await self._once("PUT", template, path, n, json="CANCELLED")
            except _NOT_SENT:
                raise
            except (httpx.TransportError, _Transient):
                maybe_done = True
                raise
            if response.status_code == 204:
                return Answer.cancel_accepted()
            if response.status_code == 404:
                return Answer.not_found()
            return Answer.refused(response.status_code, _detail(response))

        return await self._retrying("setSignatureRequestStatus", attempt)

    # -- the rest of the issuer API, for setting requests up ---------------------------------

    async def _json_call(
        self,
        operation: str,
        method: str,
        template: str,
        path: str,
        expect: tuple[int, ...],
        **kwargs: Any,
    ) -> httpx.Response:
        async def attempt(n: int) -> httpx.Response:
            response = await self._once(method, template, path, n, **kwargs)
            if response.status_code not in expect:
                detail = _detail(response)
                raise ApiRefused(
                    f"{operation}: HTTP {response.status_code}: {detail}",
                    status=response.status_code,
                    detail=detail,
                )
            return response

        return await self._retrying(operation, attempt)

    async def create_dossier(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /dossiers`` (201): the dossier, with its ``id``."""
        response = await self._json_call(
            "createDossier", "POST", "/dossiers", "/dossiers", (201,), json=body
        )
        return _json_object(response)

    async def get_signer_id(self, fiscal_code: str) -> str:
        """``POST /signers``: the signer id of a fiscal code (200 or 201)."""
        response = await self._json_call(
            "getSignerByFiscalCode",
            "POST",
            "/signers",
            "/signers",
            (200, 201),
            json={"fiscal_code": fiscal_code},
        )
        signer_id = _json_object(response).get("id")
        if not isinstance(signer_id, str):
            raise ApiProtocolError("getSignerByFiscalCode: an answer without id")
        return signer_id

    async def create_signature_request(
        self, dossier_id: str, signer_id: str, *, expires_at: str | None = None
    ) -> dict[str, Any]:
        """``POST /signature-requests`` (201): a DRAFT request with its documents."""
        body: dict[str, Any] = {"dossier_id": dossier_id, "signer_id": signer_id}
        if expires_at is not None:
            body["expires_at"] = expires_at
        response = await self._json_call(
            "createSignatureRequest",
            "POST",
            "/signature-requests",
            "/signature-requests",
            (201,),
            json=body,
        )
        return _json_object(response)

    async def get_request_view(self, request_id: str) -> dict[str, Any]:
        """``GET /signature-requests/{id}``: the whole ``SignatureRequestDetailView``."""
        template = "/signature-requests/{id}"
        response = await self._json_call(
            "getSignatureRequest", "GET", template, self._path(template, id=request_id), (200,)
        )
        return _request_view(response)

    async def get_upload_url(self, request_id: str, document_id: str) -> str:
        """``GET .../documents/{documentId}/upload_url``: where to ``PUT`` the PDF."""
        template = "/signature-requests/{id}/documents/{doc}/upload_url"
        path = self._path(template, id=request_id, doc=document_id)
        response = await self._json_call("getDocumentUploadUrl", "GET", template, path, (200,))
        try:
            url = json.loads(response.text)
        except ValueError:
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string") from None
        if not isinstance(url, str):
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string")
        return url

    async def upload_document(self, upload_url: str, pdf: bytes) -> None:
        """``PUT`` the PDF to the upload URL (the blob store): the API key is not sent there."""
        if self._blob is None:
            self._blob = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        response = await self._blob.put(
            upload_url,
            content=pdf,
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"},
        )
        if response.status_code not in (200, 201):
            raise ApiRefused(
                f"upload: HTTP {response.status_code}",
                status=response.status_code,
                detail=_detail(response),
            )

    async def mark_ready(self, request_id: str) -> None:
        """``PUT /signature-requests/{id}/status`` with ``"READY"`` (204)."""
        template = "/signature-requests/{id}/status"
        await self._json_call(
            "setSignatureRequestStatus",
            "PUT",
            template,
            self._path(template, id=request_id),
            (204,),
            json="READY",
        )

    async def list_dossier_requests(
        self, dossier_id: str, *, limit: int = 100
    ) -> AsyncGenerator[dict[str, Any], None]:
        """``GET /dossiers/{id}/signature-requests``, every page (``limit`` 25..100)."""
        if not 25 <= limit <= 100:
            raise InvalidInput(f"limit must be between 25 and 100, got {limit}")
        template = "/dossiers/{id}/signature-requests"
        path = self._path(template, id=dossier_id)
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if token:
                params["continuationToken"] = token
            response = await self._json_call(
                "getRequestsByDossier", "GET", template, path, (200,), params=params
            )
            page = _json_object(response)
            items = page.get("items")
            if not isinstance(items, list):
                raise ApiProtocolError("getRequestsByDossier: a page without items")
            for item in items:
                yield item
            token = page.get("continuation_token")
            if not token:
                return
