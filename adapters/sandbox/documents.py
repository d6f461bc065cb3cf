"""The simulated service's documents: upload URLs, uploads, their validation, signed copies.

A part of :class:`~.service.IssuerService`, kept apart to keep each module short: it uses the
service's requests, clock and base URL, and the blob store of :mod:`.blobs`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ulid import ULID

from .blobs import SIGNED, UPLOADS, BlobStore
from .pdf import document_violations
from .records import ApiKey, Document, Json, Problem, SignatureRequest

SIGNED_MARK = b"%%firmaio-sandbox: signed %s\n"
"""Appended to each uploaded document to make its signed copy: a PDF comment (after ``%%EOF``,
where incremental updates go), so the copy still starts with ``%PDF``, still reads as the same
PDF, and differs from the upload."""


class DocumentRules:
    """Upload URLs, uploads, the validation that follows, and the signed copies' URLs."""

    if TYPE_CHECKING:  # the service's, see IssuerService
        base_url: str
        requests: dict[str, SignatureRequest]
        blobs: BlobStore
        validation_delay: float
        validation_hangs: bool
        upload_url_ttl: float
        download_url_ttl: float

        def _now(self) -> datetime: ...
        def _request(self, key: ApiKey, request_id: str) -> SignatureRequest: ...

    def upload_url(self, key: ApiKey, request_id: str, document_id: str) -> str:
        """``GET .../documents/{documentId}/upload_url``: a SAS URL of the blob store's stand-in,
        for a new blob in ``uploaded-documents``, valid ``upload_url_ttl`` seconds."""
        request = self._request(key, request_id)
        if request.status != "DRAFT":
            status = request.status
            raise Problem(
                400, f"Unable to get the Upload Url. The Signature Request is in {status} status"
            )
        if not any(d.id == document_id for d in request.documents):
            raise Problem(404, "Document")
        upload_id = str(ULID())
        self.blobs.slots[upload_id] = (request_id, document_id)
        return self.blobs.sign(
            self.base_url, f"{UPLOADS}/{upload_id}", "racw", self._now(), self.upload_url_ttl
        )

    def upload_target(self, upload_id: str) -> tuple[SignatureRequest, Document]:
        """The request and document an upload id was made for: 404 ``BlobNotFound`` if none,
        400 if the document cannot take an upload now (its request left DRAFT, or it is being
        validated)."""
        target = self.blobs.slots.get(upload_id)
        if target is None:
            raise Problem(404, "BlobNotFound")
        request = self.requests[target[0]]
        document = next(d for d in request.documents if d.id == target[1])
        if request.status != "DRAFT" or document.status == "WAIT_FOR_VALIDATION":
            raise Problem(400, "The document cannot be uploaded now")
        return request, document

    def upload(self, upload_id: str, content: bytes, *, hang: bool = False) -> None:
        """The blob store's ``PUT``: the document waits for validation (forever with ``hang``,
        the ``validateUpload`` fault, or while ``validation_hangs``: the service's blob trigger
        that never ran)."""
        request, document = self.upload_target(upload_id)
        hang = hang or self.validation_hangs
        now = self._now()
        document.content, document.status = content, "WAIT_FOR_VALIDATION"
        document.uploaded_at = document.updated_at = now
        document.validation_hangs = hang
        self.blobs.count_upload(request.id)
        if self.validation_delay <= 0 and not hang:
            self._validate_document(document, now)

    def uploads_received(self, request_id: str) -> int:
        """How many uploads the blob store stored for a request's documents (tests prove that
        a client uploaded each document once)."""
        return self.blobs.received.get(request_id, 0)

    def _settle_documents(self, request: SignatureRequest, now: datetime) -> None:
        """Finish the validations whose delay has passed."""
        delay = timedelta(seconds=self.validation_delay)
        for document in request.documents:
            uploaded = document.uploaded_at
            if (
                document.status == "WAIT_FOR_VALIDATION"
                and not document.validation_hangs
                and uploaded is not None
                and now >= uploaded + delay
            ):
                self._validate_document(document, now)

    @staticmethod
    def _validate_document(document: Document, now: datetime) -> None:
        """The service's validate-upload: READY, or REJECTED with every violation, one a line."""
        fields = document.metadata.get("signature_fields", [])
        violations = document_violations(document.content or b"", fields)
        document.updated_at = now
        if violations:
            document.status, document.rejected_at = "REJECTED", now
            document.reject_reason = "\n".join(violations)
        else:
            document.status = "READY"

    # -- signed documents -------------------------------------------------------------------

    def _sign_documents(self, request: SignatureRequest) -> None:
        """The signed copies of a request that became SIGNED, as the QTSP would return them."""
        mark = SIGNED_MARK % request.id.encode()
        for document in request.documents:
            content = document.content or b""
            self.blobs.signed[f"{request.id}/{document.id}.pdf"] = (
                content + (b"" if content.endswith(b"\n") else b"\n") + mark
            )

    def signed_document(self, request_id: str, document_id: str) -> bytes | None:
        """The signed copy of a document, if its request was signed."""
        return self.blobs.signed.get(f"{request_id}/{document_id}.pdf")

    def _with_download_urls(self, request: SignatureRequest, view: Json) -> Json:
        """A SIGNED request's view: each document's ``url`` a new read SAS URL on its signed
        copy, valid ``download_url_ttl`` seconds (the real service's five minutes)."""
        if request.status != "SIGNED":
            return view
        now = self._now()
        for document in view["documents"]:
            blob = f"{SIGNED}/{request.id}/{document['id']}.pdf"
            if blob.split("/", 1)[1] in self.blobs.signed:
                document["url"] = self.blobs.sign(
                    self.base_url, blob, "r", now, self.download_url_ttl
                )
        return view
