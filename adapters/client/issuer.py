"""The Firma con IO issuer API over httpx: the core's ``SignatureApi`` port, and more.

One pooled ``httpx.AsyncClient`` per key, explicit timeouts, the key sent as
``Ocp-Apim-Subscription-Key``. Every answer of API-NOTES §3.2 becomes a typed outcome:

* refusals (messages off, no IO profile), "not found" and closed requests are
  :class:`~fsm.machine.answers.Answer` values for the guards, taken only from the service's own
  problems (:mod:`.problems`): any other error answer (a proxy's 404, a gateway's page, a
  redirect) raises :class:`~fsm.errors.ApiConfigurationError` with its evidence, and a flow
  never closes on it;
* a 422 to the notification ("not notifiable now") is resolved by reading the request;
* 401, 403 and redirects raise :class:`~fsm.errors.ApiConfigurationError` at once;
* 429 waits as ``x-rate-limit-retry-after`` / ``Retry-After`` say; 5xx, timeouts, dropped
  connections and malformed bodies are retried with capped exponential backoff and jitter
  (stamina), then raise :class:`~fsm.errors.ApiUnavailable` or
  :class:`~fsm.errors.ApiProtocolError`.

**Never two messages to one citizen.** When a notification attempt may have reached the service
(a timeout after sending, a connection dropped before the answer, a 5xx, a garbled 200), the
client lets it settle for ``RetryPolicy.notification_grace`` (30 s), counted from the moment the
outcome became unknown (the timeout, the dropped connection, the 5xx), then reads the request
before sending again; a notification found there is the answer.

A client-side sliding window keeps the key under the gateway's 150 calls per 5 seconds, so a busy
run gets no 429 at all. One structlog event per HTTP call (``issuer_api.call``): method, path
template, status, duration, attempt. The key never appears in logs, records or exceptions.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from firmaio.fsm.machine import Answer, Kind, RequestStatus

from .answers import (
    IO_CATCH_ALLS,
    MESSAGES_DISABLED,
    NO_IO_PROFILE,
    Transient,
    bad_id,
    json_object,
    request_answer,
    request_view,
)
from .problems import REQUEST_NOT_FOUND, detail_or_error, not_the_service, said
from .setup_calls import SetupCalls
from .transport import NOT_SENT


class IssuerClient(SetupCalls):
    """An async client of the Firma con IO issuer API for one API key (see :class:`Transport`
    for its options): the three calls a flow's triggers make, and the issuer's set-up calls
    (:class:`~.setup_calls.SetupCalls`, typed results).
    """

    # -- the port: what a flow's triggers call -----------------------------------------------

    async def get_request(self, request_id: str) -> Answer:
        """``GET /signature-requests/{id}``: REQUEST, or NOT_FOUND."""
        template = "/signature-requests/{id}"
        path = self._path(template, id=request_id)

        async def attempt(n: int) -> Answer:
            response = await self._once("GET", template, path, n)
            return self._read_answer(response, request_id)

        return await self._retrying("getSignatureRequest", attempt)

    def _read_answer(self, response: httpx.Response, request_id: str) -> Answer:
        if response.status_code == 200:
            return request_answer(request_view(response, request_id, self.urls))
        detail = detail_or_error("getSignatureRequest", response, self._secrets)
        if response.status_code == 404:
            return self._not_found("getSignatureRequest", response, detail)
        return Answer.refused(response.status_code, said(detail, self._secrets))

    def _not_found(self, operation: str, response: httpx.Response, detail: str) -> Answer:
        """NOT_FOUND, on the service's own words for a missing request only."""
        if detail != REQUEST_NOT_FOUND:
            raise not_the_service(operation, response, self._secrets)
        return Answer(Kind.NOT_FOUND, http_status=404, detail=detail)

    async def send_notification(self, request_id: str) -> Answer:
        """``PUT /signature-requests/{id}/notification`` with an empty body; at most one message."""
        template = "/signature-requests/{id}/notification"
        path = self._path(template, id=request_id)
        unknown_since: float | None = None  # when the last attempt's outcome became unknown

        async def attempt(n: int) -> Answer:
            nonlocal unknown_since
            if unknown_since is not None:  # it may have reached the service: look before resending
                settle = unknown_since + self.retry.notification_grace - time.monotonic()
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
                unknown_since = None  # read after the grace: nothing was sent, send again
            try:
                response = await self._once("PUT", template, path, n, content=b"")
            except NOT_SENT:
                raise
            except httpx.TransportError:  # a timeout or a dropped connection: maybe sent
                unknown_since = time.monotonic()
                raise
            except Transient as exc:
                if exc.wait is None:  # 5xx may come after the send; 429 not
                    unknown_since = time.monotonic()
                raise
            try:
                return await self._notification_answer(request_id, response)
            except Transient:
                unknown_since = time.monotonic()
                raise

        return await self._retrying("sendNotification", attempt)

    async def _notification_answer(self, request_id: str, response: httpx.Response) -> Answer:
        status = response.status_code
        if status in (200, 201):  # the service answers 200, its spec says 201
            io_message_id = json_object(response).get("io_message_id")
            if not isinstance(io_message_id, str) or not io_message_id:
                raise Transient("a notification answer without io_message_id", malformed=True)
            refused = bad_id(io_message_id, "io_message_id")
            if refused is not None:
                raise Transient(f"HTTP {status}: {refused}", malformed=True)
            return Answer.sent(io_message_id, http_status=status)
        detail = detail_or_error("sendNotification", response, self._secrets)
        if status == 400 and detail == MESSAGES_DISABLED:
            return Answer.messages_disabled()
        if status == 400 and detail in IO_CATCH_ALLS:
            return Answer.io_unavailable(detail)
        if status == 404 and detail == NO_IO_PROFILE:
            return Answer.no_io_profile()
        if status == 404:
            return self._not_found("sendNotification", response, detail)
        if status == 422:  # not notifiable now: already notified? closed? still READY?
            return await self.get_request(request_id)
        return Answer.refused(status, said(detail, self._secrets))

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
            except NOT_SENT:
                raise
            except (httpx.TransportError, Transient):
                maybe_done = True
                raise
            if response.status_code == 204:
                return Answer.cancel_accepted()
            try:
                detail = detail_or_error("setSignatureRequestStatus", response, self._secrets)
            except Transient:
                maybe_done = True  # a 2xx, but not the service's 204: it may have been done
                raise
            if response.status_code == 404:
                return self._not_found("setSignatureRequestStatus", response, detail)
            return Answer.refused(response.status_code, said(detail, self._secrets))

        return await self._retrying("setSignatureRequestStatus", attempt)
