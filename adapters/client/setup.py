"""The core's :class:`~firmaio.fsm.ports.SetupApi` over an :class:`~.issuer.IssuerClient`.

Each set-up call becomes the :class:`~firmaio.fsm.machine.answers.Answer` its step's guards
read: the ids the service gave travel as facts; a refusal the flow can name (no IO profile, a PDF
the service refuses, an expired upload URL, a dossier that does not exist) is an answer; any
other refusal is ``REFUSED`` with the service's detail. The client hands a refusal back as a
value (its ``try_`` calls), so none is raised and caught on the way. The order's PDF is read
here, and refused
(:class:`~firmaio.fsm.errors.InvalidInput`, nothing sent) if it is no longer the file the flow
started from. Signed documents are downloaded into a
:class:`~firmaio.fsm.ports.DocumentSink` (a folder by default, :mod:`~firmaio.adapters.documents`),
each checked (a PDF, of the declared size) before any is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from firmaio.fsm.errors import ApiProtocolError, ApiUnavailable
from firmaio.fsm.machine import (
    Answer,
    Kind,
    Order,
    answer_of,
    document_answer,
)
from firmaio.fsm.ports import DocumentDraft, DocumentSink, KeptDocument

from ..documents import FolderSink
from .answers import NO_IO_PROFILE, Refusal, cut, epoch, evidence
from .blobs import Downloaded, DownloadRefused, IncompleteDownload
from .issuer import IssuerClient
from .models import RequestListItem, SignatureRequestView
from .orders import read_pdf

ALREADY_READY = "Signature Request is already in READY status"
PAST_READY = "MARK_AS_READY is prohibited if the signature request is in WAIT_FOR_SIGNATURE status"
"""What ``PUT .../status "READY"`` answers a request already READY, or already past it (a
lost answer's retry): the request is where the step wanted it (API-NOTES §2.3)."""


PDF_TYPES = frozenset({"application/pdf", "application/octet-stream"})
"""Content types a signed document may come with (a blob stored without a type is served as
``application/octet-stream``); its first bytes must be ``%PDF`` either way."""


class IssuerSetup:
    """The set-up calls of one :class:`IssuerClient`; signed documents go to ``documents``: a
    :class:`~firmaio.fsm.ports.DocumentSink`, or a folder (``<folder>/<request id>/``)."""

    def __init__(
        self, client: IssuerClient, documents: DocumentSink | str | Path = "signed"
    ) -> None:
        self.client = client
        self.sink: DocumentSink
        self.documents_dir: Path | None = None
        """The folder the documents go to, if a folder was given."""
        if isinstance(documents, str | Path):
            self.documents_dir = Path(documents)
            self.sink = FolderSink(documents)
        else:
            self.sink = documents

    # -- before READY --------------------------------------------------------------------

    async def find_signer(self, fiscal_code: str) -> Answer:
        signer_id = await self.client.try_get_signer_id(fiscal_code)
        if isinstance(signer_id, Refusal):
            if signer_id.status == 404 and signer_id.detail == NO_IO_PROFILE:
                return Answer.no_io_profile()
            return signer_id.answer()
        return answer_of(Kind.SIGNER, 200, signer_id=signer_id)

    async def validate_document(self, order: Order) -> Answer:
        """Each of the order's documents checked in turn (the call reads only): the first the
        service finds invalid is named, with the service's words."""
        several = len(order.documents) > 1
        for index in range(len(order.documents)):
            document = order.document(index)
            result = await self.client.try_validate_document(read_pdf(document), document.fields)
            if isinstance(result, Refusal):
                return result.answer()
            if not result.is_valid:
                said = cut("\n".join(result.violations)) or "the document is not valid"
                if several:
                    said = f"{order.describe(index)}: {said}"
                return Answer(Kind.DOCUMENT_INVALID, http_status=200, detail=said)
        return Answer(Kind.DOCUMENT_VALID, http_status=200)

    async def open_dossier(self, order: Order) -> Answer:
        if order.dossier_id is not None:
            dossier = await self.client.try_get_dossier(order.dossier_id)
            status = 200
        else:
            body: dict[str, object] = {
                "title": order.dossier_title,
                "documents_metadata": order.documents_metadata(),
            }
            if order.support_email is not None:
                body["support_email"] = order.support_email
            dossier = await self.client.try_create_dossier(body)
            status = 201
        if isinstance(dossier, Refusal):
            return _not_found_or_refused(dossier)
        return answer_of(Kind.DOSSIER, status, dossier_id=dossier.id)

    async def create_request(
        self, order: Order, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        request = await self.client.try_create_signature_request(
            dossier_id,
            signer_id,
            expires_at=expires_at,
            documents_metadata=order.documents_metadata(),
        )
        if isinstance(request, Refusal):
            return request.answer()
        return _created(request, 201)

    async def find_created_request(
        self, dossier_id: str, signer_id: str, expires_at: str
    ) -> Answer:
        """The request a lost answer made: of this signer, still DRAFT, expiring exactly at the
        flow's marked ``expires_at``. Exactly one: CREATED; none: NOT_FOUND; more: REFUSED
        (none is taken, none is made: which one is ours cannot be told)."""
        mark = epoch(expires_at)
        found = [
            item
            async for item in self._listed(dossier_id)
            if item.signer_id == signer_id
            and item.status == "DRAFT"
            and item.expires_at is not None
            and mark is not None
            and abs(item.expires_at - mark) < 0.0005
        ]
        if not found:  # the listing (200) shows none: nothing was made, no text stands for it
            return Answer(Kind.NOT_FOUND, http_status=200)
        if len(found) > 1:
            return Answer.refused(
                409,
                f"{len(found)} DRAFT requests of the dossier for this signer carry the flow's "
                "mark: which one the lost answer made cannot be told",
            )
        return _created(await self.client.get_request_view(found[0].id), 200)

    async def _listed(self, dossier_id: str) -> AsyncIterator[RequestListItem]:
        async for raw in self.client.list_dossier_requests(dossier_id):
            yield RequestListItem.from_json(raw)

    async def get_upload_url(self, request_id: str, document_id: str) -> Answer:
        upload = await self.client.try_get_upload_url(request_id, document_id)
        if isinstance(upload, Refusal):
            return _not_found_or_refused(upload)
        facts = () if upload.expires_at is None else (("upload_url_expires_at", upload.expires_at),)
        return Answer(Kind.UPLOAD_URL, http_status=200, upload_url=upload.url, facts=facts)

    async def upload_document(self, upload_url: str, order: Order) -> Answer:
        pdf = read_pdf(order)
        refused = await self.client.try_upload_document(upload_url, pdf)
        if refused is None:
            return Answer(Kind.UPLOADED, http_status=201)
        status = refused.status
        if status in (403, 404):  # an expired or unknown signature: a new URL
            return Answer(Kind.UPLOAD_URL_EXPIRED, http_status=status, detail=refused.detail)
        if status in (408, 429) or status >= 500:  # the blob store's passing trouble
            raise ApiUnavailable(
                f"upload: HTTP {status} ({refused.detail}); the document's status tells if "
                "it arrived"
            )
        return refused.answer()

    async def read_document(self, request_id: str, document_id: str) -> Answer:
        request = await self.client.try_get_request_view(request_id)
        if isinstance(request, Refusal):
            return _not_found_or_refused(request)
        document = request.document(document_id)
        if document is None:  # the service never drops a document: not an answer to close on
            raise ApiProtocolError(
                f"getSignatureRequest: the request has no document {evidence(document_id)}"
            )
        return document_answer(document.status, reject_reason=document.reject_reason)

    async def mark_ready(self, request_id: str) -> Answer:
        refused = await self.client.try_mark_ready(request_id)
        if refused is None:
            return Answer(Kind.MARKED_READY, http_status=204)
        if refused.status == 400 and refused.detail in (ALREADY_READY, PAST_READY):
            return Answer(Kind.MARKED_READY, http_status=400, detail=refused.detail)
        return refused.answer()

    # -- after SIGNED --------------------------------------------------------------------

    async def fetch_signed(self, request_id: str) -> Answer:
        """Download a SIGNED request's documents into the :attr:`sink`, as ``<request_id>/
        <document id>.pdf``: the folder is named by the id asked for, never by the answer, and
        every name is checked (a folder's: to stay under it) before anything is downloaded.
        Each document is kept whole or not at all; when any is refused, none is kept."""
        request = await self.client.try_get_request_view(request_id)
        if isinstance(request, Refusal):
            return request.answer()
        if request.status != "SIGNED":
            return Answer.request(request.status)
        for document in request.documents:
            if document.url is None:
                raise ApiProtocolError(f"the SIGNED request has no URL for document {document.id}")
        drafts: list[DocumentDraft] = []
        try:
            for document in request.documents:
                drafts.append(self.sink.draft(request_id, f"{document.id}.pdf"))
            for document, draft in zip(request.documents, drafts, strict=True):
                assert document.url is not None
                await self._download(document.id, document.url, draft)
            kept = [await draft.keep() for draft in drafts]
        except BaseException as error:
            for draft in drafts:
                draft.discard()
            if isinstance(error, OSError):  # the sink's disk: recorded, tried again later
                raise ApiUnavailable(
                    f"the signed documents could not be kept ({error.strerror or error}); "
                    "nothing was kept"
                ) from None
            raise
        return _fetched([(d.id, k) for d, k in zip(request.documents, kept, strict=True)])

    async def _download(self, document_id: str, url: str, sink: DocumentDraft) -> Downloaded:
        try:
            got = await self.client.download_document(url, sink)
        except IncompleteDownload as short:
            raise DownloadRefused(
                f"signed document {document_id}: the body ended before its declared size "
                f"({short}); nothing was written"
            ) from short
        except DownloadRefused as refused:
            raise DownloadRefused(
                f"signed document {document_id}: {refused}; nothing was written"
            ) from None
        if got.content_type not in PDF_TYPES or got.head != b"%PDF":
            raise DownloadRefused(
                f"signed document {document_id}: the blob store sent "
                f"{evidence(got.content_type) if got.content_type else 'no type'} "
                f"({got.head!r}...), not a PDF; nothing was written"
            )
        declared = got.declared
        if declared is None or not declared.isdigit() or int(declared) != got.size:
            raise DownloadRefused(
                f"signed document {document_id}: {got.size} bytes arrived, but "
                f"{evidence(declared) if declared else 'no size'} were declared; nothing was "
                "written"
            )
        return got


def _fetched(done: list[tuple[str, KeptDocument]]) -> Answer:
    """FETCHED, with where each document is kept, its SHA-256 and size (the record's public
    evidence: the ``documents.fetched`` event carries them)."""
    facts: list[tuple[str, str]] = []
    for document_id, kept in done:
        facts += [
            (f"signed.{document_id}.file", kept.where),
            (f"signed.{document_id}.sha256", kept.sha256),
            (f"signed.{document_id}.size", str(kept.size)),
        ]
    return Answer(Kind.FETCHED, http_status=200, facts=tuple(facts))


def _not_found_or_refused(refusal: Refusal) -> Answer:
    """404 as NOT_FOUND (with the service's detail), any other refusal as REFUSED."""
    if refusal.status == 404:
        return Answer(Kind.NOT_FOUND, http_status=404, detail=refusal.detail)
    return refusal.answer()


def _created(request: SignatureRequestView, status: int) -> Answer:
    if not request.documents:
        raise ApiProtocolError("createSignatureRequest: a request without documents")
    ids = {"document_id": request.documents[0].id}
    if len(request.documents) > 1:  # the others, in the order's order: uploaded one by one
        ids["document_ids"] = ",".join(d.id for d in request.documents)
    return answer_of(Kind.CREATED, status, request_id=request.id, **ids)


def setup_for(api: object, documents: DocumentSink | str | Path = "signed") -> IssuerSetup | None:
    """The set-up calls over ``api`` if it is an :class:`IssuerClient` (so a driver built on it
    can drive flows from a PDF, and fetch signed documents into ``documents``); None for
    another port."""
    return IssuerSetup(api, documents) if isinstance(api, IssuerClient) else None
