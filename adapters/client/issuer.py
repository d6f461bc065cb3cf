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
client lets it settle for ``RetryPolicy.notification_grace`` (30 s), counted from the moment the
outcome became unknown (the timeout, the dropped connection, the 5xx), then reads the request
before sending again; a notification found there is the answer.

A client-side sliding window keeps the key under the gateway's 150 calls per 5 seconds, so a busy
run gets no 429 at all. One structlog event per HTTP call (``issuer_api.call``): method, path
template, status, duration, attempt. The key never appears in logs, records or exceptions.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from firmaio.fsm.answers import Answer, Kind, RequestStatus
from firmaio.fsm.errors import (
    ApiProtocolError,
    ApiRefused,
    InvalidInput,
)

from .answers import (
    IO_CATCH_ALLS,
    MESSAGES_DISABLED,
    NO_IO_PROFILE,
    Transient,
    json_object,
    problem_detail,
    request_answer,
    request_view,
)
from .transport import NOT_SENT, Transport


class IssuerClient(Transport):
    """An async client of the Firma con IO issuer API for one API key (see :class:`Transport`
    for its options): the three calls a flow's triggers make, and the issuer's set-up calls.
    """

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
            return request_answer(request_view(response))
        if response.status_code == 404:
            return Answer.not_found()
        return Answer.refused(response.status_code, problem_detail(response))

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
            return Answer.sent(io_message_id, http_status=status)
        detail = problem_detail(response)
        if status == 400 and detail == MESSAGES_DISABLED:
            return Answer.messages_disabled()
        if status == 400 and detail in IO_CATCH_ALLS:
            return Answer.io_unavailable(detail)
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
            except NOT_SENT:
                raise
            except (httpx.TransportError, Transient):
                maybe_done = True
                raise
            if response.status_code == 204:
                return Answer.cancel_accepted()
            if response.status_code == 404:
                return Answer.not_found()
            return Answer.refused(response.status_code, problem_detail(response))

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
                detail = problem_detail(response)
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
        return json_object(response)

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
        signer_id = json_object(response).get("id")
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
        return json_object(response)

    async def get_request_view(self, request_id: str) -> dict[str, Any]:
        """``GET /signature-requests/{id}``: the whole ``SignatureRequestDetailView``."""
        template = "/signature-requests/{id}"
        response = await self._json_call(
            "getSignatureRequest", "GET", template, self._path(template, id=request_id), (200,)
        )
        return request_view(response)

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
                detail=problem_detail(response),
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
            page = json_object(response)
            items = page.get("items")
            if not isinstance(items, list):
                raise ApiProtocolError("getRequestsByDossier: a page without items")
            for item in items:
                yield item
            token = page.get("continuation_token")
            if not token:
                return
