"""Guards of the issuer's set-up: from a PDF to READY.

Like :mod:`fsm.machine.spine_guards`: pure, named predicates over an
:class:`~fsm.machine.answers.Observation`, named as questions, each with its witness; the one API
call each trigger makes was made by the driver.
"""

from __future__ import annotations

from .answers import Answer, Kind, Observation, answer_of, document_answer
from .examples import (
    EXAMPLE_DOCUMENT_ID,
    EXAMPLE_DOSSIER_ID,
    EXAMPLE_NEW_REQUEST_ID,
    EXAMPLE_SIGNER_ID,
    EXAMPLE_UPLOAD_URL,
)
from .types import witnessed_by

_ARRIVED = frozenset({"WAIT_FOR_VALIDATION", "READY", "REJECTED"})
"""Document statuses that mean the blob store took the upload (API-NOTES §1.3.6)."""

_VALIDATING = ("WAIT_FOR_VALIDATION", "WAIT_FOR_UPLOAD")
"""What an uploaded document reads until the service's validation ends: the service sets
WAIT_FOR_VALIDATION in memory only and stores READY or REJECTED when done (validate-upload.ts),
so a read meanwhile shows WAIT_FOR_UPLOAD; its encoder has a WAIT_FOR_VALIDATION case too. Both
mean "not validated yet"."""


def _kind_is(obs: Observation, kind: Kind) -> bool:
    return obs.answer is not None and obs.answer.kind is kind


def _document_is(obs: Observation, *statuses: str) -> bool:
    answer = obs.answer
    return answer is not None and answer.kind is Kind.DOCUMENT and answer.status in statuses


# --- find_signer ------------------------------------------------------------------------------


@witnessed_by(answer_of(Kind.SIGNER, 200, signer_id=EXAMPLE_SIGNER_ID))
def signer_was_found(obs: Observation) -> bool:
    """``POST /signers`` answered a signer id."""
    return _kind_is(obs, Kind.SIGNER) and bool(obs.answer and obs.answer.fact("signer_id"))


@witnessed_by(Answer.no_io_profile())
def citizen_is_not_on_io(obs: Observation) -> bool:
    """404 "User profile not found!": the citizen has never used IO; Firma con IO cannot reach
    them."""
    return _kind_is(obs, Kind.NO_IO_PROFILE)


@witnessed_by(Answer.refused(400, "The request is not valid."))
def set_up_was_refused(obs: Observation) -> bool:
    """A final refusal of a set-up call (a 400 or 422 that retrying will not change)."""
    return _kind_is(obs, Kind.REFUSED)


# --- check_document ---------------------------------------------------------------------------


@witnessed_by(answer_of(Kind.DOCUMENT_VALID, 200))
def document_is_valid(obs: Observation) -> bool:
    """``POST /validate-document`` answered ``is_valid: true``."""
    return _kind_is(obs, Kind.DOCUMENT_VALID)


@witnessed_by(
    Answer(Kind.DOCUMENT_INVALID, http_status=200, detail="Field firma_richiedente not found")
)
def document_is_invalid(obs: Observation) -> bool:
    """``POST /validate-document`` answered violations (missing field, off the page, not a
    PDF)."""
    return _kind_is(obs, Kind.DOCUMENT_INVALID)


# --- open_dossier, create_request, recover_request --------------------------------------------


@witnessed_by(answer_of(Kind.DOSSIER, 201, dossier_id=EXAMPLE_DOSSIER_ID))
def dossier_is_known(obs: Observation) -> bool:
    """The dossier was created, or the existing one read back."""
    return _kind_is(obs, Kind.DOSSIER) and bool(obs.answer and obs.answer.fact("dossier_id"))


@witnessed_by(Answer(Kind.NOT_FOUND, http_status=404, detail="The specified dossier was not found"))
def dossier_not_found(obs: Observation) -> bool:
    """404 "The specified dossier was not found" (or it is another issuer's)."""
    return _kind_is(obs, Kind.NOT_FOUND)


@witnessed_by(
    answer_of(Kind.CREATED, 201, request_id=EXAMPLE_NEW_REQUEST_ID, document_id=EXAMPLE_DOCUMENT_ID)
)
def request_was_created(obs: Observation) -> bool:
    """The request exists in DRAFT: created now, or found again after a crash."""
    answer = obs.answer
    return (
        answer is not None
        and answer.kind is Kind.CREATED
        and bool(answer.fact("request_id") and answer.fact("document_id"))
    )


@witnessed_by(Answer.refused(409, "2 requests of the dossier for this signer since the intent"))
def creation_is_ambiguous(obs: Observation) -> bool:
    """More than one request of the dossier could be the one whose answer was lost: none is
    taken, none is made (a reviewer decides)."""
    return _kind_is(obs, Kind.REFUSED)


@witnessed_by(
    Answer(Kind.NOT_FOUND, http_status=200, detail="no request for the signer since the intent")
)
def request_was_not_created(obs: Observation) -> bool:
    """The dossier's listing has no request for this signer since the intent: none was made."""
    return _kind_is(obs, Kind.NOT_FOUND)


# --- get_upload_url, upload_document, recover_upload ------------------------------------------


@witnessed_by(Answer(Kind.UPLOAD_URL, http_status=200, upload_url=EXAMPLE_UPLOAD_URL))
def upload_url_was_issued(obs: Observation) -> bool:
    """The service gave an upload URL."""
    return _kind_is(obs, Kind.UPLOAD_URL) and bool(obs.answer and obs.answer.upload_url)


@witnessed_by(answer_of(Kind.UPLOADED, 201))
def document_was_uploaded(obs: Observation) -> bool:
    """The blob store took the PDF."""
    return _kind_is(obs, Kind.UPLOADED)


@witnessed_by(Answer(Kind.UPLOAD_URL_EXPIRED, http_status=403, detail="the upload URL has expired"))
def upload_url_expired(obs: Observation) -> bool:
    """The upload URL cannot be used (refused, past its 15 minutes, or lost in a restart)."""
    return _kind_is(obs, Kind.UPLOAD_URL_EXPIRED)


@witnessed_by(document_answer("WAIT_FOR_VALIDATION"))
def upload_arrived(obs: Observation) -> bool:
    """The document reads WAIT_FOR_VALIDATION, READY or REJECTED: the upload reached it."""
    return _document_is(obs, *_ARRIVED)


@witnessed_by(document_answer("WAIT_FOR_UPLOAD"))
def upload_did_not_arrive(obs: Observation) -> bool:
    """The document still reads WAIT_FOR_UPLOAD after the recovery's grace (40 s from the
    upload's last moment, far longer than the service's validation of an upload that arrived):
    nothing was uploaded; upload it again."""
    return _document_is(obs, "WAIT_FOR_UPLOAD")


# --- check_validation -------------------------------------------------------------------------


@witnessed_by(document_answer("WAIT_FOR_VALIDATION"))
def is_still_validating(obs: Observation) -> bool:
    """The document is not validated yet (WAIT_FOR_VALIDATION, or WAIT_FOR_UPLOAD as the
    service shows it meanwhile), before the validation deadline."""
    return _document_is(obs, *_VALIDATING) and obs.now < obs.activation_deadline


@witnessed_by(document_answer("WAIT_FOR_VALIDATION"))
def validation_deadline_passed(obs: Observation) -> bool:
    """The document is still not validated, and the validation deadline has passed."""
    return _document_is(obs, *_VALIDATING) and obs.now >= obs.activation_deadline


@witnessed_by(document_answer("READY"))
def document_was_validated(obs: Observation) -> bool:
    """The service validated the document, the request's last: it reads READY."""
    return _document_is(obs, "READY") and not _has_next(obs)


@witnessed_by(
    Answer(
        Kind.DOCUMENT,
        http_status=200,
        status="READY",
        facts=(("document_id", EXAMPLE_DOCUMENT_ID), ("document_index", "1")),
    )
)
def another_document_to_upload(obs: Observation) -> bool:
    """The service validated the document, and the request has another after it: the read
    carries the next one's id (the driver adds it from the order, as data); upload it next."""
    return _document_is(obs, "READY") and _has_next(obs)


def _has_next(obs: Observation) -> bool:
    return obs.answer is not None and obs.answer.fact("document_index") is not None


@witnessed_by(
    document_answer(
        "REJECTED", reject_reason="The signature field firma_richiedente is off its page"
    )
)
def document_was_rejected(obs: Observation) -> bool:
    """The service's validation refused the document: it reads REJECTED, with its reasons."""
    return _document_is(obs, "REJECTED")


@witnessed_by(Answer.not_found())
def request_is_gone(obs: Observation) -> bool:
    """404: the request does not exist (any more) for this issuer."""
    return _kind_is(obs, Kind.NOT_FOUND)


@witnessed_by(Answer.not_found())
def set_up_request_vanished(obs: Observation) -> bool:
    """The request is gone (404), or is no longer the DRAFT the set-up works on."""
    return _kind_is(obs, Kind.NOT_FOUND)


# --- mark_ready -------------------------------------------------------------------------------


@witnessed_by(answer_of(Kind.MARKED_READY, 204))
def request_was_marked_ready(obs: Observation) -> bool:
    """``PUT .../status "READY"`` answered 204 (or the request already was READY)."""
    return _kind_is(obs, Kind.MARKED_READY)
