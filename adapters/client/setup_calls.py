"""The issuer's set-up calls over HTTP, with typed results (:mod:`.models`).

Each call's ``try_`` twin hands the service's refusal (an answer other than the operation's own)
back as a :class:`~.answers.Refusal` value, with the HTTP status and the service's problem
detail; the typed call raises it as :class:`~firmaio.fsm.errors.ApiRefused`. Only the service's
own problems are refusals (:mod:`.problems`): any other error answer raises
:class:`~firmaio.fsm.errors.ApiConfigurationError` (or ApiUnavailable, a 5xx) with its evidence.

They retry what is safe to retry: a call that may have reached the service is never repeated
when repeating it would make something twice (a signature request, an upload): it raises
:class:`~firmaio.fsm.errors.ApiUnavailable` and the caller reads before calling again (the
flows' ``recover_request`` and ``recover_upload`` do). Uploads and downloads go to the blob
store, not the API host: the API key is never sent there, and only to a URL of the service's
documented hosts (:mod:`.urls`). Every answer is read within its limits (:mod:`.limits`): a
download goes to a file a piece at a time, never whole into memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

import httpx

from firmaio.fsm.errors import ApiProtocolError, ApiUnavailable, InvalidInput

from .answers import Refusal, Transient, bad_id, evidence, raised
from .answers import json_object as _json_object
from .blobs import BlobCalls
from .evidence import evidence_of
from .models import DocumentValidation, Dossier, SignatureRequestView, UploadUrl
from .problems import detail_or_error, said
from .transport import NOT_SENT

T = TypeVar("T")


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a set-up call's answer; a garbled one is an ApiProtocolError (the call
    may have done its work: it is not retried)."""
    try:
        return _json_object(response)
    except Transient as garbled:
        raise ApiProtocolError(f"{response.request.url.path}: {garbled}") from None


class SetupCalls(BlobCalls):
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
    ) -> httpx.Response | Refusal:
        """One call: its answer, or the service's refusal (a final answer other than
        ``expect``). ``once``: a failure after the request may have been sent is not retried."""

        async def attempt(n: int) -> httpx.Response | Refusal:
            try:
                response = await self._once(method, template, path, n, **kwargs)
            except NOT_SENT:
                raise
            except httpx.TransportError as exc:
                if once:
                    lost = ApiUnavailable(
                        f"{operation}: {type(exc).__name__}; it may have reached the service"
                    )
                    lost.retried = False
                    raise lost from exc
                raise
            except Transient as exc:
                if once and exc.wait is None:  # a 5xx may come after the work is done
                    lost = ApiUnavailable(f"{operation}: {exc}; it may have been done")
                    lost.retried = False
                    raise lost from exc
                raise
            status = response.status_code
            if once and status not in expect and response.is_success:
                error = ApiProtocolError(  # done, perhaps, but not as the service says it is
                    f"{operation}: an unexpected {evidence_of(response, self._secrets)}; it may "
                    "have been done"
                )
                error.http_status, error.retried = status, False
                raise error
            if status not in expect:
                detail = said(detail_or_error(operation, response, self._secrets), self._secrets)
                return Refusal(f"{operation}: HTTP {status}: {detail}", status, detail)
            return response

        return await self._retrying(operation, attempt)

    async def create_dossier(self, body: dict[str, Any]) -> Dossier:
        """``POST /dossiers`` (201): the new dossier; a refusal raises ApiRefused."""
        return raised(await self.try_create_dossier(body))

    async def try_create_dossier(self, body: dict[str, Any]) -> Dossier | Refusal:
        """``POST /dossiers`` (201): the new dossier, or the refusal."""
        response = await self._json_call(
            "createDossier", "POST", "/dossiers", "/dossiers", (201,), json=body
        )
        return _read(Dossier.from_json, response)

    async def get_dossier(self, dossier_id: str) -> Dossier:
        """``GET /dossiers/{id}`` (200); 404 (another issuer's, or none) raises ApiRefused."""
        return raised(await self.try_get_dossier(dossier_id))

    async def try_get_dossier(self, dossier_id: str) -> Dossier | Refusal:
        """``GET /dossiers/{id}`` (200), or the refusal (404: another issuer's, or none)."""
        template = "/dossiers/{dossierId}"
        path = self._path(template, dossierId=dossier_id)
        response = await self._json_call("getDossier", "GET", template, path, (200,))
        return _read(Dossier.from_json, response)

    async def get_signer_id(self, fiscal_code: str) -> str:
        """``POST /signers``: the signer id of a fiscal code (200 or 201); a refusal raises
        ApiRefused."""
        return raised(await self.try_get_signer_id(fiscal_code))

    async def try_get_signer_id(self, fiscal_code: str) -> str | Refusal:
        """``POST /signers``: the signer id of a fiscal code (200 or 201), or the refusal. The
        fiscal code is sent in the body only: never in a path, a log or an exception."""
        response = await self._json_call(
            "getSignerByFiscalCode",
            "POST",
            "/signers",
            "/signers",
            (200, 201),
            json={"fiscal_code": fiscal_code},
        )
        if isinstance(response, Refusal):
            return response
        signer_id = json_object(response).get("id")
        if not isinstance(signer_id, str) or not signer_id:
            raise ApiProtocolError("getSignerByFiscalCode: an answer without id")
        refused = bad_id(signer_id, "signer id")
        if refused is not None:
            raise ApiProtocolError(f"getSignerByFiscalCode: {refused}")
        return signer_id

    async def create_signature_request(
        self,
        dossier_id: str,
        signer_id: str,
        *,
        expires_at: str | None = None,
        documents_metadata: Sequence[dict[str, Any]] | None = None,
    ) -> SignatureRequestView:
        """``POST /signature-requests`` (201): a DRAFT request with its documents; a refusal
        raises ApiRefused."""
        return raised(
            await self.try_create_signature_request(
                dossier_id, signer_id, expires_at=expires_at, documents_metadata=documents_metadata
            )
        )

    async def try_create_signature_request(
        self,
        dossier_id: str,
        signer_id: str,
        *,
        expires_at: str | None = None,
        documents_metadata: Sequence[dict[str, Any]] | None = None,
    ) -> SignatureRequestView | Refusal:
        """``POST /signature-requests`` (201): a DRAFT request with its documents, or the
        refusal. Not retried once it may have reached the service (a second try could make a
        second request)."""
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
        return _read(SignatureRequestView.from_json, response)

    async def get_request_view(self, request_id: str) -> SignatureRequestView:
        """``GET /signature-requests/{id}``: the whole request, its documents included; a
        refusal raises ApiRefused."""
        return raised(await self.try_get_request_view(request_id))

    async def try_get_request_view(self, request_id: str) -> SignatureRequestView | Refusal:
        """``GET /signature-requests/{id}``: the whole request, or the refusal; an answer about
        another request is refused (ApiProtocolError)."""
        template = "/signature-requests/{id}"
        response = await self._json_call(
            "getSignatureRequest", "GET", template, self._path(template, id=request_id), (200,)
        )
        if isinstance(response, Refusal):
            return response
        view = SignatureRequestView.from_json(json_object(response))
        if view.id != request_id:
            raise ApiProtocolError(
                f"getSignatureRequest: the answer is about the request {evidence(view.id)}, "
                "not the one asked for"
            )
        return view

    async def get_upload_url(self, request_id: str, document_id: str) -> UploadUrl:
        """``GET .../documents/{documentId}/upload_url``: where to ``PUT`` the PDF; a refusal
        raises ApiRefused."""
        return raised(await self.try_get_upload_url(request_id, document_id))

    async def try_get_upload_url(self, request_id: str, document_id: str) -> UploadUrl | Refusal:
        """``GET .../documents/{documentId}/upload_url``: where to ``PUT`` the PDF, or the
        refusal."""
        template = "/signature-requests/{id}/documents/{documentId}/upload_url"
        path = self._path(template, id=request_id, documentId=document_id)
        response = await self._json_call("getDocumentUploadUrl", "GET", template, path, (200,))
        if isinstance(response, Refusal):
            return response
        try:
            url = json.loads(response.text)
        except (ValueError, RecursionError):
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string") from None
        if not isinstance(url, str):
            raise ApiProtocolError("getDocumentUploadUrl: the URL is not a JSON string")
        refused = self.urls.refusal(url, "blob")
        if refused is not None:
            raise ApiProtocolError(f"getDocumentUploadUrl: the upload URL is refused: {refused}")
        return UploadUrl.parse(url)

    async def mark_ready(self, request_id: str) -> None:
        """``PUT /signature-requests/{id}/status`` with ``"READY"`` (204); a refusal raises
        ApiRefused."""
        raised(await self.try_mark_ready(request_id))

    async def try_mark_ready(self, request_id: str) -> Refusal | None:
        """``PUT /signature-requests/{id}/status`` with ``"READY"`` (204): the refusal, or
        None."""
        template = "/signature-requests/{id}/status"
        response = await self._json_call(
            "setSignatureRequestStatus",
            "PUT",
            template,
            self._path(template, id=request_id),
            (204,),
            json="READY",
        )
        return response if isinstance(response, Refusal) else None

    async def validate_document(
        self, pdf: bytes, fields: Sequence[dict[str, Any]] | None = None
    ) -> DocumentValidation:
        """``POST /validate-document``: the PDF (and its signature fields) checked by the
        service; a refusal raises ApiRefused."""
        return raised(await self.try_validate_document(pdf, fields))

    async def try_validate_document(
        self, pdf: bytes, fields: Sequence[dict[str, Any]] | None = None
    ) -> DocumentValidation | Refusal:
        """``POST /validate-document``: the service's check of the PDF (and its signature
        fields), or the refusal. Parts are told apart by content type, as the service reads
        them."""
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
        return _read(DocumentValidation.from_json, response)

    async def list_dossier_requests(
        self, dossier_id: str, *, limit: int = 100
    ) -> AsyncGenerator[dict[str, Any], None]:
        """``GET /dossiers/{id}/signature-requests``, every page (``limit`` 25..100)."""
        async with aclosing(self.list_dossier_pages(dossier_id, limit=limit)) as pages:
            async for page in pages:
                for item in page:
                    yield item

    async def list_dossier_pages(
        self, dossier_id: str, *, limit: int = 100
    ) -> AsyncGenerator[list[Any], None]:
        """:meth:`list_dossier_requests` a page at a time: each page's items, as listed."""
        if not 25 <= limit <= 100:
            raise InvalidInput(f"limit must be between 25 and 100, got {limit}")
        template = "/dossiers/{id}/signature-requests"
        path = self._path(template, id=dossier_id)
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if token:
                params["continuationToken"] = token
            response = raised(
                await self._json_call(
                    "getRequestsByDossier", "GET", template, path, (200,), params=params
                )
            )
            page = json_object(response)
            items = page.get("items")
            if not isinstance(items, list):
                raise ApiProtocolError("getRequestsByDossier: a page without items")
            yield items
            following = page.get("continuation_token")
            if not following:
                return
            if not isinstance(following, str) or following == token:
                raise ApiProtocolError(
                    "getRequestsByDossier: a continuation token that leads nowhere"
                )
            token = following


def _read(parse: Callable[[dict[str, Any]], T], response: httpx.Response | Refusal) -> T | Refusal:
    """The typed result ``parse`` reads from ``response``'s JSON object, or the refusal."""
    return response if isinstance(response, Refusal) else parse(json_object(response))
