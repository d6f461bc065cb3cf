"""The issuer's set-up calls over HTTP, with typed results (:mod:`.models`).

They raise :class:`~firmaio.fsm.errors.ApiRefused` (with the HTTP status and the service's
problem detail) for an answer other than the operation's own, and retry what is safe to retry:
a call that may have reached the service is never repeated when repeating it would make
something twice (a signature request, an upload): it raises
:class:`~firmaio.fsm.errors.ApiUnavailable` and the caller reads before calling again (the
flows' ``recover_request`` and ``recover_upload`` do). Uploads and downloads go to the blob
store, not the API host: the API key is never sent there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import httpx

from firmaio.fsm.errors import ApiProtocolError, ApiRefused, ApiUnavailable, InvalidInput

from .answers import Transient, problem_detail
from .answers import json_object as _json_object
from .models import DocumentValidation, Dossier, SignatureRequestView, UploadUrl
from .transport import NOT_SENT, Transport

_SIGNATURE = re.compile(r"(?i)\b(sig=)[^&\s\"']+")


def mask_signatures(text: str) -> str:
    """``text`` with the signature of any shared-access URL masked (``sig=...``)."""
    return _SIGNATURE.sub(r"\1[masked]", text)


class MaskedSignatures(logging.Filter):
    """A logging filter masking shared-access signatures in a record's arguments: on httpx's own
    logger (``HTTP Request: PUT <url> ...``, at INFO) and the sandbox's access log, an upload or
    download URL's signature is a bearer credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_signatures(str(a)) if isinstance(a, str | httpx.URL) else a
                for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(MaskedSignatures())

MAX_DOWNLOAD = 50 * 1024 * 1024
"""Bytes a signed document may have at most (the service takes bundles of up to 10 MB)."""


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a set-up call's answer; a garbled one is an ApiProtocolError (the call
    may have done its work: it is not retried)."""
    try:
        return _json_object(response)
    except Transient as garbled:
        raise ApiProtocolError(f"{response.request.url.path}: {garbled}") from None


class IncompleteDownload(ApiUnavailable):
    """A download whose body ended short of its declared ``Content-Length``."""


class SetupCalls(Transport):
    """The set-up calls of one API key: dossiers, signers, requests, documents."""

    async def _json_call(
        self,
        operation: str,
        method: str,
        template: str,
        path: str,
        expect: tuple[int, ...],
        *,
        once: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call; ``once``: a failure after the request may have been sent is not retried."""

        async def attempt(n: int) -> httpx.Response:
            try:
                response = await self._once(method, template, path, n, **kwargs)
            except NOT_SENT:
                raise
            except httpx.TransportError as exc:
                if once:
                    raise ApiUnavailable(
                        f"{operation}: {type(exc).__name__}; it may have reached the service"
                    ) from exc
                raise
            except Transient as exc:
                if once and exc.wait is None:  # a 5xx may come after the work is done
                    raise ApiUnavailable(f"{operation}: {exc}; it may have been done") from exc
                raise
            if once and response.status_code not in expect and response.is_success:
                raise ApiProtocolError(  # done, perhaps, but not as the service says it is
                    f"{operation}: an unexpected HTTP {response.status_code}; it may have been done"
                )
            if response.status_code not in expect:
                detail = problem_detail(response)
                raise ApiRefused(
                    f"{operation}: HTTP {response.status_code}: {detail}",
                    status=response.status_code,
                    detail=detail,
                )
            return response

        return await self._retrying(operation, attempt)

    async def create_dossier(self, body: dict[str, Any]) -> Dossier:
        """``POST /dossiers`` (201): the new dossier."""
        response = await self._json_call(
            "createDossier", "POST", "/dossiers", "/dossiers", (201,), json=body
        )
        return Dossier.from_json(json_object(response))

    async def get_dossier(self, dossier_id: str) -> Dossier:
        """``GET /dossiers/{id}`` (200); 404 (another issuer's, or none) raises ApiRefused."""
        template = "/dossiers/{dossierId}"
        path = self._path(template, dossierId=dossier_id)
        response = await self._json_call("getDossier", "GET", template, path, (200,))
        return Dossier.from_json(json_object(response))

    async def get_signer_id(self, fiscal_code: str) -> str:
        """``POST /signers``: the signer id of a fiscal code (200 or 201). The fiscal code is
        sent in the body only: never in a path, a log or an exception."""
        response = await self._json_call(
            "getSignerByFiscalCode",
            "POST",
            "/signers",
            "/signers",
            (200, 201),
            json={"fiscal_code": fiscal_code},
        )
        signer_id = json_object(response).get("id")
        if not isinstance(signer_id, str) or not signer_id:
            raise ApiProtocolError("getSignerByFiscalCode: an answer without id")
        return signer_id

    async def create_signature_request(
        self,
        dossier_id: str,
        signer_id: str,
        *,
        expires_at: str | None = None,
        documents_metadata: Sequence[dict[str, Any]] | None = None,
    ) -> SignatureRequestView:
        """``POST /signature-requests`` (201): a DRAFT request with its documents. Not retried
        once it may have reached the service (a second try could make a second request)."""
        body: dict[str, Any] = {"dossier_id": dossier_id, "signer_id": signer_id}
        if expires_at is not None:
            body["expires_at"] = expires_at
        if documents_metadata is not None:
            body["documents_metadata"] = list(documents_metadata)
        response = await self._json_call(
            "createSignatureRequest",
            "POST",
            "/signature-requests",
            "/signature-requests",
            (201,),
            once=True,
            json=body,
        )
        return SignatureRequestView.from_json(json_object(response))

    async def get_request_view(self, request_id: str) -> SignatureRequestView:
        """``GET /signature-requests/{id}``: the whole request, its documents included."""
        template = "/signature-requests/{id}"
        response = await self._json_call(
            "getSignatureRequest", "GET", template, self._path(template, id=request_id), (200,)
        )
        return SignatureRequestView.from_json(json_object(response))

    async def get_upload_url(self, request_id: str, document_id: str) -> UploadUrl:
        """``GET .../documents/{documentId}/upload_url``: where to ``PUT`` the PDF."""
        template = "/signature-requests/{id}/documents/{documentId}/upload_url"
        path = self._path(template, id=request_id, documentId=document_id)
        response = await self._json_call("getDocumentUploadUrl", "GET", template, path, (200,))
        try:
            url = json.loads(response.text)
        except ValueError:
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string") from None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string")
        return UploadUrl.parse(url)

    def _blob_client(self) -> httpx.AsyncClient:
        if self._blob is None:
            self._blob = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
        return self._blob

    async def upload_document(self, upload_url: str | UploadUrl, pdf: bytes) -> None:
        """``PUT`` the PDF to the upload URL (the blob store), once: a failure after sending
        raises ApiUnavailable (the document's status tells whether it arrived); a refusal
        (403 for an expired or wrong signature) raises ApiRefused."""
        url = upload_url.url if isinstance(upload_url, UploadUrl) else upload_url
        try:
            response = await self._blob_client().put(
                url,
                content=pdf,
                headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "application/pdf"},
            )
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"upload: {type(exc).__name__}; the document's status tells if it arrived"
            ) from exc
        self._log.info("blob.upload", status=response.status_code, size=len(pdf))
        if response.status_code not in (200, 201):
            raise ApiRefused(
                f"upload: HTTP {response.status_code}",
                status=response.status_code,
                detail=_blob_error(response),
            )

    async def download_document(self, url: str, *, max_bytes: int = MAX_DOWNLOAD) -> httpx.Response:
        """``GET`` a document from the blob store (a signed document's 5-minute URL); the body
        is read up to ``max_bytes``. Raises ApiRefused for an answer other than 200."""
        try:
            async with self._blob_client().stream("GET", url) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise ApiRefused(
                        f"download: HTTP {response.status_code}",
                        status=response.status_code,
                        detail=_blob_error(response),
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise ApiRefused(
                            f"download: larger than {max_bytes} bytes", status=200, detail=None
                        )
        except httpx.RemoteProtocolError as exc:  # the body ended before its declared length
            raise IncompleteDownload(f"download: {exc}") from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"download: {type(exc).__name__}") from exc
        self._log.info("blob.download", status=200, size=len(body))
        return httpx.Response(200, headers=response.headers, content=bytes(body))

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

    async def validate_document(
        self, pdf: bytes, fields: Sequence[dict[str, Any]] | None = None
    ) -> DocumentValidation:
        """``POST /validate-document``: the PDF (and its signature fields) checked by the
        service. Parts are told apart by content type, as the service reads them."""
        files: list[tuple[str, tuple[str, bytes, str]]] = [
            ("document", ("document.pdf", pdf, "application/pdf"))
        ]
        if fields is not None:
            payload = json.dumps(list(fields)).encode()
            files.append(("signature_fields", ("fields.json", payload, "application/json")))
        response = await self._json_call(
            "validateDocument", "POST", "/validate-document", "/validate-document", (200,),
            files=files,
        )  # fmt: skip
        return DocumentValidation.from_json(json_object(response))

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


def _blob_error(response: httpx.Response) -> str | None:
    """The blob store's error code (``AuthenticationFailed``, ``BlobNotFound``...), if any."""
    text = response.text
    start, end = text.find("<Code>"), text.find("</Code>")
    if 0 <= start < end:
        return text[start + len("<Code>") : end]
    return text[:80] or None
