"""States and triggers of a signature-request flow.

The owner's spine is
``READY -> WAIT_FOR_SIGNATURE -> NOTIFIED | NOTIFY_REFUSED -> FALLBACK_SUGGESTED``;
beside it stand the closed statuses the issuer API can report (``SIGNED``, ``REJECTED``,
``CANCELLED``), ``EXPIRED`` (a request still unsigned after its ``expires_at``) and ``FAILED``,
where a permanent error ends a flow.

A flow started from a PDF (:class:`~fsm.machine.order.Order`) comes to READY through the issuer's
own
set-up first: ``RECEIVED -> SIGNER_FOUND -> DOCUMENT_CHECKED -> DOSSIER_CHOSEN -> DRAFT_CREATED ->
UPLOAD_URL_ISSUED -> DOCUMENT_UPLOADED -> DOCUMENT_VALIDATED -> READY``, one issuer-API call per
step; a PDF the service refuses ends in ``DOCUMENT_REFUSED``. It joins the spine at READY.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    """Where a flow stands. The value is the name used in diagrams and audit records."""

    # -- the issuer's set-up, before READY (a flow started from a PDF) ------------------------
    RECEIVED = "RECEIVED"
    """A PDF, its signature fields and the citizen to reach; nothing asked of the API yet."""
    SIGNER_FOUND = "SIGNER_FOUND"
    """``POST /signers`` gave the citizen's signer id (the fiscal code is no longer needed)."""
    DOCUMENT_CHECKED = "DOCUMENT_CHECKED"
    """``POST /validate-document`` found the PDF and its signature fields valid."""
    DOSSIER_CHOSEN = "DOSSIER_CHOSEN"
    """The dossier is known: created for this flow, or an existing one read back."""
    DRAFT_CREATED = "DRAFT_CREATED"
    """The signature request exists, in DRAFT, with its document waiting for the PDF."""
    UPLOAD_URL_ISSUED = "UPLOAD_URL_ISSUED"
    """An upload URL (valid 15 minutes) is in hand; it is never recorded."""
    DOCUMENT_UPLOADED = "DOCUMENT_UPLOADED"
    """The PDF is uploaded; the service validates it, asynchronously."""
    DOCUMENT_VALIDATED = "DOCUMENT_VALIDATED"
    """The service validated the document: the request can be marked READY."""
    DOCUMENT_REFUSED = "DOCUMENT_REFUSED"
    """The service refused the PDF (before upload, or in its validation); its own words are the
    reason. Terminal."""
    # -- the spine and beside it ---------------------------------------------------------------

    READY = "READY"
    """The request is READY on the issuer side; the citizen's copy is being prepared."""
    WAIT_FOR_SIGNATURE = "WAIT_FOR_SIGNATURE"
    """The request can be signed; no IO message has been sent by this flow yet."""
    NOTIFIED = "NOTIFIED"
    """An IO message reached the citizen (``io_message_id`` is known). Resting."""
    NOTIFY_REFUSED = "NOTIFY_REFUSED"
    """The notification was refused (messages turned off, or no IO profile)."""
    FALLBACK_SUGGESTED = "FALLBACK_SUGGESTED"
    """Advice, link and QR code for another channel are ready for the citizen. Resting."""
    SIGNED = "SIGNED"
    """Closed by the issuer API: the citizen signed. Terminal; the signed documents can still be
    fetched (``fetch_documents``, a step that stays in SIGNED)."""
    REJECTED = "REJECTED"
    """Closed by the issuer API: the signature failed (a QTSP error, not a refusal). Terminal."""
    CANCELLED = "CANCELLED"
    """Closed by the issuer: the request was cancelled. Terminal."""
    FAILED = "FAILED"
    """A permanent error ended the flow; the reason is recorded. Terminal."""
    EXPIRED = "EXPIRED"
    """The request was read still unsigned after its ``expires_at``. Terminal. The issuer API
    has no such status (API-NOTES §2): the flow records the expiry itself."""


class Trigger(enum.StrEnum):
    """What can be fired on a flow. Each trigger makes at most one call to the issuer API, declared
    with the trigger's step in :mod:`fsm.machine.steps`."""

    CHECK_ACTIVATION = "check_activation"
    """Read the request while it is READY: has it become WAIT_FOR_SIGNATURE yet?"""
    NOTIFY = "notify"
    """``PUT /signature-requests/{id}/notification``: send the IO message."""
    SUGGEST_FALLBACK = "suggest_fallback"
    """Prepare the advice, link and QR code for the citizen. No API call."""
    CHECK_STATUS = "check_status"
    """Read the request after activation: was it signed, rejected or cancelled?"""
    CANCEL = "cancel"
    """``PUT /signature-requests/{id}/status`` with ``"CANCELLED"``: the issuer withdraws it."""
    RECOVER_NOTIFICATION = "recover_notification"
    """After a crash with a notification intent open: read the request before sending again."""
    DELIVER_FALLBACK = "deliver_fallback"
    """Record that the fallback reached the citizen through a named channel (e-mail, letter,
    desk...). No API call: the operator's word is the answer."""
    FETCH_DOCUMENTS = "fetch_documents"
    """Read a SIGNED request and download its signed documents; their SHA-256 are recorded."""
    # -- the issuer's set-up, before READY -----------------------------------------------------
    FIND_SIGNER = "find_signer"
    """``POST /signers``: the citizen's signer id, from the fiscal code."""
    CHECK_DOCUMENT = "check_document"
    """``POST /validate-document``: the PDF and its signature fields, before anything is made."""
    OPEN_DOSSIER = "open_dossier"
    """``POST /dossiers`` (a new dossier), or ``GET /dossiers/{id}`` (an existing one)."""
    CREATE_REQUEST = "create_request"
    """``POST /signature-requests``: the request, in DRAFT."""
    RECOVER_REQUEST = "recover_request"
    """After a crash with a creation intent open: find the request in the dossier's listing
    before creating another."""
    GET_UPLOAD_URL = "get_upload_url"
    """``GET .../documents/{documentId}/upload_url``: where to put the PDF (15 minutes)."""
    UPLOAD_DOCUMENT = "upload_document"
    """``PUT`` the PDF to the upload URL (the blob store)."""
    RECOVER_UPLOAD = "recover_upload"
    """After a crash with an upload intent open: read the document's status before uploading
    again."""
    CHECK_VALIDATION = "check_validation"
    """Read the request: has the service validated the uploaded document yet?"""
    MARK_READY = "mark_ready"
    """``PUT /signature-requests/{id}/status`` with ``"READY"``."""


TERMINAL: frozenset[State] = frozenset(
    {
        State.SIGNED,
        State.REJECTED,
        State.CANCELLED,
        State.FAILED,
        State.EXPIRED,
        State.DOCUMENT_REFUSED,
    }
)
"""States no trigger leaves (a row may stay in one: fetching a SIGNED request's documents)."""

INITIAL = State.READY
"""Where a flow for an existing request starts (the card's spine)."""

ISSUER_INITIAL = State.RECEIVED
"""Where a flow started from a PDF starts (:class:`~fsm.machine.order.Order`)."""

ENTRIES: frozenset[State] = frozenset({INITIAL, ISSUER_INITIAL})
"""The states a flow may start in."""

BEFORE_READY: frozenset[State] = frozenset(
    {
        State.RECEIVED,
        State.SIGNER_FOUND,
        State.DOCUMENT_CHECKED,
        State.DOSSIER_CHOSEN,
        State.DRAFT_CREATED,
        State.UPLOAD_URL_ISSUED,
        State.DOCUMENT_UPLOADED,
        State.DOCUMENT_VALIDATED,
    }
)
"""The issuer's set-up: the states a flow from a PDF passes before it joins the spine."""

SETUP_ONLY: frozenset[State] = BEFORE_READY | {State.DOCUMENT_REFUSED}
"""States only the issuer's set-up reaches: a table of your own without it need not have them."""
