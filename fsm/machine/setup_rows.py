"""The rows of the issuer's set-up (a PDF to READY): declared here, joined to
:data:`fsm.machine.table.TABLE`.

The set-up joins the card's spine at READY and never passes through it: each of its steps is one
issuer-API call (API-NOTES §1.2), and each ends a flow it cannot go on from, with the service's
own words as the reason. Two of its calls have effects the service does not make idempotent
(creating a request, uploading the PDF): their steps open an intent, and after a crash the flow
reads before it calls again (``recover_request``, ``recover_upload``), so one flow makes one
request and uploads its PDF once.
"""

from __future__ import annotations

from . import reasons as why
from . import setup_guards as s
from .states import State, Trigger
from .types import Basis, Guard, Row

SETUP_BASIS: dict[str, Basis] = {
    "api.signer": Basis(
        False,
        "A request names its signer by the id POST /signers gives for a fiscal code (API-NOTES "
        '§1.3.3); 404 "User profile not found!" means the citizen never used IO.',
    ),
    "api.validate_document": Basis(
        False,
        "POST /validate-document checks a PDF and its signature fields before anything is made "
        "(API-NOTES §1.3.7): a field not in the PDF, or one off its page, is refused with the "
        "service's own words.",
    ),
    "api.dossier": Basis(
        False,
        "A request belongs to a dossier: POST /dossiers makes one, GET /dossiers/{id} reads an "
        "existing one (API-NOTES §1.3.2).",
    ),
    "api.create_request": Basis(
        False,
        "POST /signature-requests makes the request in DRAFT, one document per metadata entry "
        "(API-NOTES §1.3.4). It is not idempotent: after a crash the dossier's listing is read "
        "for the signer's request before another is made.",
    ),
    "api.upload": Basis(
        False,
        "GET .../upload_url gives a blob URL valid 15 minutes, and the PDF is PUT there "
        "(API-NOTES §1.2, §1.3.6); an expired URL is refused, and a new one is asked for. "
        "After a crash the document's status tells whether the upload arrived.",
    ),
    "api.validation": Basis(
        False,
        "The service validates an upload asynchronously: WAIT_FOR_VALIDATION, then READY or "
        "REJECTED with its reasons (API-NOTES §1.3.6). A validation that never ends meets the "
        "flow's own deadline.",
    ),
    "api.documents": Basis(
        False,
        "A request may carry several documents, one per documents_metadata entry; each is "
        "uploaded to its own URL and validated on its own, and the request is marked READY "
        "once every one is READY (API-NOTES §1.3.4, §1.3.6).",
    ),
    "api.mark_ready": Basis(
        False,
        'PUT .../status "READY" is allowed once every document is READY (API-NOTES §1.3.5, '
        "§2.2); the request then becomes WAIT_FOR_SIGNATURE by itself, where the page starts.",
    ),
}
"""Why the rows below exist (joined to :data:`fsm.machine.table.BASIS`)."""

_S, _T = State, Trigger


def _fails(source: State, trigger: Trigger, guard: Guard, basis: str) -> Row:
    return Row(source, trigger, _S.FAILED, guard, (basis,), why.set_up_failed)


SETUP_ROWS: tuple[Row, ...] = (
    # RECEIVED: the citizen's signer id (the fiscal code is not needed after this).
    Row(_S.RECEIVED, _T.FIND_SIGNER, _S.SIGNER_FOUND, s.signer_was_found, ("api.signer",)),
    Row(
        _S.RECEIVED,
        _T.FIND_SIGNER,
        _S.FAILED,
        s.citizen_is_not_on_io,
        ("api.signer", "api.no_profile"),
        why.not_on_io,
    ),
    _fails(_S.RECEIVED, _T.FIND_SIGNER, s.set_up_was_refused, "api.signer"),
    # SIGNER_FOUND: the PDF and its fields, checked before anything is made.
    Row(
        _S.SIGNER_FOUND,
        _T.CHECK_DOCUMENT,
        _S.DOCUMENT_CHECKED,
        s.document_is_valid,
        ("api.validate_document",),
    ),
    Row(
        _S.SIGNER_FOUND,
        _T.CHECK_DOCUMENT,
        _S.DOCUMENT_REFUSED,
        s.document_is_invalid,
        ("api.validate_document",),
        why.document_refused,
    ),
    _fails(_S.SIGNER_FOUND, _T.CHECK_DOCUMENT, s.set_up_was_refused, "api.validate_document"),
    # DOCUMENT_CHECKED: a new dossier, or the existing one read back.
    Row(
        _S.DOCUMENT_CHECKED,
        _T.OPEN_DOSSIER,
        _S.DOSSIER_CHOSEN,
        s.dossier_is_known,
        ("api.dossier",),
    ),
    Row(
        _S.DOCUMENT_CHECKED,
        _T.OPEN_DOSSIER,
        _S.FAILED,
        s.dossier_not_found,
        ("api.dossier",),
        why.dossier_not_found,
    ),
    _fails(_S.DOCUMENT_CHECKED, _T.OPEN_DOSSIER, s.set_up_was_refused, "api.dossier"),
    # DOSSIER_CHOSEN: the request (an intent first: the call is not idempotent).
    Row(
        _S.DOSSIER_CHOSEN,
        _T.CREATE_REQUEST,
        _S.DRAFT_CREATED,
        s.request_was_created,
        ("api.create_request",),
    ),
    _fails(_S.DOSSIER_CHOSEN, _T.CREATE_REQUEST, s.set_up_was_refused, "api.create_request"),
    Row(
        _S.DOSSIER_CHOSEN,
        _T.RECOVER_REQUEST,
        _S.DRAFT_CREATED,
        s.request_was_created,
        ("api.create_request", "api.recover"),
    ),
    Row(
        _S.DOSSIER_CHOSEN,
        _T.RECOVER_REQUEST,
        _S.DOSSIER_CHOSEN,
        s.request_was_not_created,
        ("api.create_request", "api.recover"),
    ),
    _fails(_S.DOSSIER_CHOSEN, _T.RECOVER_REQUEST, s.creation_is_ambiguous, "api.create_request"),
    # DRAFT_CREATED: where to put the PDF.
    Row(
        _S.DRAFT_CREATED,
        _T.GET_UPLOAD_URL,
        _S.UPLOAD_URL_ISSUED,
        s.upload_url_was_issued,
        ("api.upload",),
    ),
    _fails(_S.DRAFT_CREATED, _T.GET_UPLOAD_URL, s.set_up_request_vanished, "api.not_found"),
    _fails(_S.DRAFT_CREATED, _T.GET_UPLOAD_URL, s.set_up_was_refused, "api.upload"),
    # UPLOAD_URL_ISSUED: the upload (an intent first: it must arrive once).
    Row(
        _S.UPLOAD_URL_ISSUED,
        _T.UPLOAD_DOCUMENT,
        _S.DOCUMENT_UPLOADED,
        s.document_was_uploaded,
        ("api.upload",),
    ),
    Row(
        _S.UPLOAD_URL_ISSUED,
        _T.UPLOAD_DOCUMENT,
        _S.DRAFT_CREATED,
        s.upload_url_expired,
        ("api.upload",),
    ),
    _fails(_S.UPLOAD_URL_ISSUED, _T.UPLOAD_DOCUMENT, s.set_up_was_refused, "api.upload"),
    Row(
        _S.UPLOAD_URL_ISSUED,
        _T.RECOVER_UPLOAD,
        _S.DOCUMENT_UPLOADED,
        s.upload_arrived,
        ("api.upload", "api.recover"),
    ),
    Row(
        _S.UPLOAD_URL_ISSUED,
        _T.RECOVER_UPLOAD,
        _S.DRAFT_CREATED,
        s.upload_did_not_arrive,
        ("api.upload", "api.recover"),
    ),
    _fails(_S.UPLOAD_URL_ISSUED, _T.RECOVER_UPLOAD, s.request_is_gone, "api.not_found"),
    # DOCUMENT_UPLOADED: the service's validation, under the flow's own deadline.
    Row(
        _S.DOCUMENT_UPLOADED,
        _T.CHECK_VALIDATION,
        _S.DOCUMENT_UPLOADED,
        s.is_still_validating,
        ("api.validation",),
    ),
    Row(
        _S.DOCUMENT_UPLOADED,
        _T.CHECK_VALIDATION,
        _S.DOCUMENT_VALIDATED,
        s.document_was_validated,
        ("api.validation",),
    ),
    Row(  # several documents: the loop is this row, the next document's id its data
        _S.DOCUMENT_UPLOADED,
        _T.CHECK_VALIDATION,
        _S.DRAFT_CREATED,
        s.another_document_to_upload,
        ("api.validation", "api.documents"),
    ),
    Row(
        _S.DOCUMENT_UPLOADED,
        _T.CHECK_VALIDATION,
        _S.DOCUMENT_REFUSED,
        s.document_was_rejected,
        ("api.validation",),
        why.document_refused,
    ),
    Row(
        _S.DOCUMENT_UPLOADED,
        _T.CHECK_VALIDATION,
        _S.FAILED,
        s.validation_deadline_passed,
        ("api.validation",),
        why.validation_deadline,
    ),
    _fails(_S.DOCUMENT_UPLOADED, _T.CHECK_VALIDATION, s.set_up_request_vanished, "api.not_found"),
    # DOCUMENT_VALIDATED: READY, where the card's spine starts.
    Row(
        _S.DOCUMENT_VALIDATED,
        _T.MARK_READY,
        _S.READY,
        s.request_was_marked_ready,
        ("api.mark_ready",),
    ),
    _fails(_S.DOCUMENT_VALIDATED, _T.MARK_READY, s.set_up_was_refused, "api.mark_ready"),
)
"""From a PDF to READY."""
