"""The blob store's HTTP face: the ``PUT`` behind the upload URLs and the ``GET`` behind the
documents' URLs, answering as Azure Blob Storage does (XML error bodies, ``x-ms-*`` headers).

Each request is checked in this order: the blob exists (404 ``BlobNotFound``), the SAS URL is
honoured (403 ``AuthenticationFailed``), then the faults queued for ``uploadDocument`` /
``downloadDocument`` (and, once an upload is stored, ``validateUpload``) apply.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .blobs import (
    AUTHENTICATION_FAILED,
    BLOB_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    SAS_VERSION,
    SIGNED,
    UPLOADS,
    VALIDATED,
    SasRefused,
    azure_error,
)
from .faults import Dropped, Fault, SandboxState, Truncated
from .records import Problem

FAULT_ERRORS = {
    403: AUTHENTICATION_FAILED,
    404: BLOB_NOT_FOUND,
    503: (
        "ServerBusy",
        "The server is currently unable to receive requests. Please retry your request.",
    ),
}
INTERNAL_ERROR = (
    "InternalError",
    "The server encountered an internal error. Please retry the request.",
)
MISSING_HEADER = (
    "MissingRequiredHeader",
    "An HTTP header that's mandatory for this request is not specified.",
)


def azure(status: int, error: tuple[str, str]) -> Response:
    """An Azure Storage error answer: XML body, ``application/xml``, ``x-ms-error-code``."""
    code, message = error
    return Response(
        azure_error(code, message),
        status_code=status,
        media_type="application/xml",
        headers={"x-ms-error-code": code, "x-ms-version": SAS_VERSION},
    )


def _etag(content: bytes) -> str:
    return '"0x' + hashlib.sha256(content).hexdigest()[:15].upper() + '"'


class Storage:
    """The blob routes over one :class:`~.faults.SandboxState`."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.issuer = state.issuer

    def _honoured(self, blob: str, request: Request) -> Response | None:
        """``None`` if the request's SAS query grants ``blob`` now, else Azure's 403."""
        try:
            now = datetime.fromtimestamp(self.issuer.now(), UTC)
            self.issuer.blobs.check(blob, request.query_params, now)
        except SasRefused:
            return azure(403, AUTHENTICATION_FAILED)
        return None

    @staticmethod
    async def _fault_before(fault: Fault | None, operation: str) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "latency":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "drop":
            return Dropped(operation)
        elif fault.kind == "status":
            code, message = FAULT_ERRORS.get(fault.status, INTERNAL_ERROR)
            return azure(fault.status, (code, fault.detail or message))
        return None

    async def upload(self, request: Request) -> Response:
        """``PUT`` a document's bytes to its upload URL: 201, and the validation starts."""
        upload_id = request.path_params["upload"]
        target = self.issuer.blobs.slots.get(upload_id)
        if target is None:
            return azure(404, BLOB_NOT_FOUND)
        refused = self._honoured(f"{UPLOADS}/{upload_id}", request)
        if refused is not None:
            return refused
        fault = self.state.take_fault("uploadDocument", target[0])
        early = await self._fault_before(fault, "uploadDocument")
        if early is not None:
            return early
        if request.headers.get("x-ms-blob-type") != "BlockBlob":
            return azure(400, MISSING_HEADER)
        content = await request.body()
        try:
            self.issuer.upload_target(upload_id)
        except Problem as problem:  # the sandbox's own refusal: Azure would store it anyway
            return Response(problem.detail, status_code=problem.status)
        hang = self.state.take_fault("validateUpload", target[0]) is not None
        self.issuer.upload(upload_id, content, hang=hang)
        if fault is not None and fault.kind == "drop_after":
            return Dropped("uploadDocument")
        digest = base64.b64encode(hashlib.md5(content).digest()).decode()  # Azure's Content-MD5
        return Response(
            status_code=201,
            headers={
                "Content-MD5": digest,
                "ETag": _etag(content),
                "x-ms-version": SAS_VERSION,
                "x-ms-request-server-encrypted": "true",
            },
        )

    async def download_signed(self, request: Request) -> Response:
        """``GET`` a signed document at the URL of a SIGNED request's view."""
        request_id, name = request.path_params["request"], request.path_params["name"]
        content = self.issuer.blobs.signed.get(f"{request_id}/{name}")
        if content is None:
            return azure(404, BLOB_NOT_FOUND)
        refused = self._honoured(f"{SIGNED}/{request_id}/{name}", request)
        if refused is not None:
            return refused
        self.state.downloads += 1
        fault = self.state.take_fault("downloadDocument", request_id)
        early = await self._fault_before(fault, "downloadDocument")
        if early is not None:
            return early
        headers = {
            "ETag": _etag(content),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-version": SAS_VERSION,
        }
        if fault is not None and fault.kind == "truncated":
            return Truncated(content, {**headers, "Content-Type": "application/pdf"})
        kind = "text/html" if fault is not None and fault.kind == "malformed" else "application/pdf"
        return Response(content, media_type=kind, headers=headers)

    async def download_validated(self, request: Request) -> Response:
        """A READY document's ``url``: the real service gives the blob's plain URL, no SAS, and
        the container is private, so Azure answers it as an anonymous read of a private blob."""
        if "sig" in request.query_params:  # the sandbox never signs these
            return azure(403, AUTHENTICATION_FAILED)
        return azure(404, RESOURCE_NOT_FOUND)

    def routes(self, prefix: str) -> list[Route]:
        blob = prefix + "/__blob"
        return [
            Route(f"{blob}/{UPLOADS}/{{upload}}", self.upload, methods=["PUT"]),
            Route(f"{blob}/{SIGNED}/{{request}}/{{name}}", self.download_signed, methods=["GET"]),
            Route(
                f"{blob}/{VALIDATED}/{{request}}/{{name}}",
                self.download_validated,
                methods=["GET"],
            ),
        ]
