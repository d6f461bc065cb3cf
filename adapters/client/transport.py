"""One HTTP call to the issuer API and the retries around it: the key, the pool, the timeouts,
the client-side rate window, 401/403 and redirects as configuration errors, 429 and 5xx retried
with capped exponential backoff and jitter (stamina), one structlog event per call. Every answer
is read within its limits (:mod:`.limits`): a size for its kind, a total time for the call. An
error quotes the answer's evidence (:func:`~.problems.evidence_of`), the key masked."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Self, TypeVar
from urllib.parse import quote

import httpx
import stamina

from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiProtocolError,
    ApiUnavailable,
    InvalidInput,
)
from firmaio.fsm.ids import check_request_id
from firmaio.fsm.logs import get_logger

from ..ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD, RateLimit, SlidingWindow
from . import limits as _limits
from .answers import Transient, retry_after
from .evidence import evidence_of, masked
from .jar import NoCookieClient
from .limits import (
    ACCEPT_ENCODING,
    AnswerLimits,
    TooLarge,
    TooSlow,
    closed,
    limit_for,
    read_whole,
)
from .problems import not_the_service
from .urls import UrlPolicy

DEFAULT_BASE_URL = "https://api.io.pagopa.it/api/v1/sign"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
NOTIFICATION_GRACE = 30.0
"""Seconds a notification call whose outcome is unknown is left to settle (see RetryPolicy)."""
MAX_CONNECTIONS = 20
"""Connections to the issuer API by default, and so requests in flight at once."""
KEEPALIVE_EXPIRY = 4.0
"""Seconds an idle connection is kept for the next call: under the 5 s after which many servers
close an idle one (uvicorn's, Apache's, Node's default). At 5 s on both sides, a call could go out
on a connection the server was closing that instant and lose its answer (a ``ReadError``)."""

T = TypeVar("T")

NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left: the service cannot have acted on it."""


class CallEvent(NamedTuple):
    """One HTTP call to the issuer API, as observers see it."""

    method: str
    path: str
    """The path template (``/signature-requests/{id}``): no id, so a label of few values."""
    status: int | None
    """The HTTP status, or ``None`` when no answer came (a timeout, a dropped connection)."""
    seconds: float


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
    notification_grace: float = NOTIFICATION_GRACE
    """After a notification attempt whose outcome is unknown, wait this long before reading the
    request back, counted from the moment the outcome became unknown (the timeout fired, the
    connection dropped, the 5xx came back): the service may still be working on the call.

    Its slowest path is its checks, a PDV lookup, two IO calls (3 s timeout each, API-NOTES
    §3.1), then the write of the notification, and it has no guard against two overlapping calls
    both sending a message. 30 s after a 10 s timeout covers a service that takes 40 s from the
    call to the write; a re-send happens only after a read that comes after the grace."""


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context every client of this process verifies the service with: httpx's default
    (certifi's bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as set when it is first needed),
    built once. Building one reads the whole CA bundle (40-80 ms of CPU); a worker or a test
    suite makes many clients."""
    return httpx.create_ssl_context()


class Transport:
    """An async client of the Firma con IO issuer API for one API key.

    Use it as an async context manager, or call :meth:`aclose`. ``transport`` is handed to httpx
    as is (``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests). ``max_connections``
    bounds the requests in flight: at 150 calls per 5 s, 20 cover answers up to 0.6 s long.
    ``limits`` bounds every answer's size and every call's time (:class:`AnswerLimits`);
    ``urls`` says which URLs of answers are followed (:class:`~.urls.UrlPolicy`: by default
    the service's documented hosts, the base URL's own, and ``$FIRMAIO_TRUSTED_HOSTS``).
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy | None = None,
        logger: Any = None,
        max_connections: int = MAX_CONNECTIONS,
        limits: AnswerLimits | None = None,
        urls: UrlPolicy | None = None,
    ) -> None:
        if max_connections < 1:
            raise InvalidInput(f"max_connections must be at least 1, got {max_connections}")
        if not api_key or not api_key.strip():
            raise InvalidInput("the API key is empty: set FIRMAIO_API_KEY or pass api_key")
        if any(c.isspace() or not c.isprintable() for c in api_key):
            raise InvalidInput("the API key contains whitespace or control characters")
        self.base_url = base_url.rstrip("/")
        self._secrets = (api_key,)
        """Masked wherever an answer is quoted (a proxy may echo the request's headers)."""
        self.limits = limits if limits is not None else _limits.DEFAULT_LIMITS
        self.urls = urls if urls is not None else UrlPolicy.from_env(self.base_url)
        self._http = NoCookieClient(
            base_url=self.base_url,
            headers={
                "Ocp-Apim-Subscription-Key": api_key,
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            timeout=timeout,
            transport=transport,
            verify=tls_context() if transport is None else True,
            follow_redirects=False,  # a redirect is an answer: never followed, never the service's
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY,
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
        self.rate_limit = (
            rate_limit if rate_limit is not None else SlidingWindow(GATEWAY_CALLS, GATEWAY_PERIOD)
        )
        self.retry = retry if retry is not None else RetryPolicy()
        self._log = logger if logger is not None else get_logger(__name__)
        self.observers: list[Callable[[CallEvent], None]] = []
        """Called after every HTTP call (metrics: ``observability.Metrics.instrument``)."""

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled httpx client the calls go through (to instrument it, say)."""
        return self._http

    def __repr__(self) -> str:
        return f"IssuerClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (and a rate window's own, if it holds one)."""
        await self._http.aclose()
        if self._blob is not None:
            await self._blob.aclose()
        closing = getattr(self.rate_limit, "aclose", None)
        if closing is not None:
            await closing()

    # -- one HTTP call, and retries around it -----------------------------------------------

    async def _once(
        self, method: str, template: str, path: str, attempt: int, **kwargs: Any
    ) -> httpx.Response:
        started = time.perf_counter()
        ids = _ids_in(template, path)
        try:
            async with self._connections, self.rate_limit.slot():
                # an absolute URL is parsed once; a path would be parsed, then merged
                request = self._http.build_request(method, self.base_url + path, **kwargs)
                response = await self.exchange(
                    self._http, request, self.limits.api_json, self.limits.call_seconds
                )
        except (httpx.TransportError, TooLarge) as exc:
            status = exc.status if isinstance(exc, TooLarge) else None
            self._log.info(
                "issuer_api.call",
                method=method,
                path=template,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                attempt=attempt,
                error=type(exc).__name__,
                **ids,
            )
            self._observe(method, template, status, started)
            raise
        self._log.info(
            "issuer_api.call",
            method=method,
            path=template,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            attempt=attempt,
            **ids,
        )
        self._observe(method, template, response.status_code, started)
        self._check(response, method, template)
        return response

    async def exchange(
        self, http: httpx.AsyncClient, request: httpx.Request, limit: int, seconds: float
    ) -> httpx.Response:
        """Send ``request`` and read its answer whole: at most ``limit`` bytes for a 2xx (a
        problem's limit otherwise), within ``seconds`` in all (else :class:`~.limits.TooSlow`,
        a read timeout). Redirects are never followed: a 3xx is an answer like any other."""
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                response = await http.send(request, stream=True)
                try:
                    limit = limit_for(response.status_code, limit, self.limits)
                    return await read_whole(response, limit)
                finally:
                    await closed(response)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise TooSlow(f"no whole answer within {seconds:g} s", request=request) from None

    def _observe(self, method: str, template: str, status: int | None, started: float) -> None:
        if self.observers:
            event = CallEvent(method, template, status, time.perf_counter() - started)
            for observer in self.observers:
                try:
                    observer(event)
                except Exception as error:  # an observer's bug must not lose the answer
                    self._log.error("issuer_api.observer_failed", error=type(error).__name__)

    def _check(self, response: httpx.Response, method: str, template: str) -> None:
        """Raise for answers that are not the operation's own: a redirect, 401/403, 429, 5xx."""
        status = response.status_code
        if 300 <= status < 400:
            raise not_the_service(f"{method} {template}", response, self._secrets)
        if status in (401, 403):
            said = evidence_of(response, self._secrets)
            error = ApiConfigurationError(
                f"{method} {template}: the API key was refused ({said}). Check FIRMAIO_API_KEY "
                "and that the key belongs to an active subscription."
                if status == 401
                else f"{method} {template}: forbidden ({said}). Check the key's IP allow-list "
                "and, for a test key, that the fiscal code is among its testers; a page that is "
                "not the service's says a proxy or gateway refused the call."
            )
            error.http_status = status
            raise error
        if status == 429:
            wait = retry_after(response)
            raise Transient(evidence_of(response, self._secrets), wait=wait, status=status)
        if status >= 500:
            raise Transient(evidence_of(response, self._secrets), status=status)

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: whether to retry, and for a 429, how long to wait."""
        if isinstance(exc, Transient):
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
        except Transient as exc:
            kind = ApiProtocolError if exc.malformed else ApiUnavailable
            error = kind(f"{operation}: {masked(str(exc), self._secrets)} after {tries} attempt(s)")
            error.http_status = exc.status
            raise error from exc
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


_ID_FIELDS = {"{id}": "request_id", "{dossierId}": "dossier_id", "{documentId}": "document_id"}


def _ids_in(template: str, path: str) -> dict[str, str]:
    """The ids a call's path carries, named for its log event (``request_id``, ...)."""
    if "{" not in template:
        return {}
    return {
        _ID_FIELDS.get(part, part.strip("{}")): value
        for part, value in zip(template.split("/"), path.split("/"), strict=False)
        if part.startswith("{")
    }
