"""What the issuer API answered, as plain values the guards can read.

A port (see :mod:`fsm.ports`) turns every HTTP answer it gets into one :class:`Answer`. Answers the
API gives on purpose, refusals and "not found" included, are data; only the absence of a usable
answer is an exception (:class:`fsm.errors.ApiError`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Kind(enum.StrEnum):
    """What kind of answer the API gave."""

    REQUEST = "request"
    """The signature request as read (``GET``, or read back to explain a 422 or a lost answer)."""
    SENT = "sent"
    """The IO message was sent: ``io_message_id`` is set."""
    MESSAGES_DISABLED = "messages_disabled"
    """400 "It is not allowed to send a message to this user.": "Contattarti in app" is off."""
    NO_IO_PROFILE = "no_io_profile"
    """404 "User profile not found!": the citizen has no IO profile."""
    IO_UNAVAILABLE = "io_unavailable"
    """400 "An error occurred while sending the message!" (or "... while getting the profile!"):
    the service's catch-all for any answer of IO other than 201, 429 and 500, IO's own 502 and
    503 included. Nothing was sent and the request is unchanged: worth trying again later."""
    NOT_FOUND = "not_found"
    """404 "The specified Signature Request does not exist.", or another issuer's request."""
    CANCEL_ACCEPTED = "cancel_accepted"
    """204 to ``PUT .../status "CANCELLED"``."""
    REFUSED = "refused"
    """Any other answer that retrying will not change (a 400 or 422 the port could not resolve)."""
    # -- the issuer's set-up, before READY, and after SIGNED --------------------------------------
    SIGNER = "signer"
    """``POST /signers`` answered the citizen's signer id (fact ``signer_id``)."""
    DOCUMENT_VALID = "document_valid"
    """``POST /validate-document``: ``{"is_valid": true}``."""
    DOCUMENT_INVALID = "document_invalid"
    """``POST /validate-document``: ``{"is_valid": false, "violations": [...]}`` (the
    violations, one per line, are the detail)."""
    DOSSIER = "dossier"
    """The dossier, created (201) or read back (200) (fact ``dossier_id``)."""
    CREATED = "created"
    """The signature request, created in DRAFT or found again after a crash (facts
    ``request_id``, ``document_id``)."""
    UPLOAD_URL = "upload_url"
    """An upload URL, kept on the answer (:attr:`Answer.upload_url`), never in a record."""
    UPLOADED = "uploaded"
    """The blob store took the PDF (201)."""
    UPLOAD_URL_EXPIRED = "upload_url_expired"
    """The upload URL is no longer usable: the blob store refused it (403), or it was not kept
    across a restart, or its 15 minutes are over. Nothing was uploaded."""
    DOCUMENT = "document"
    """The request's document as read: :attr:`Answer.status` is the *document's* status
    (``WAIT_FOR_UPLOAD``, ``WAIT_FOR_VALIDATION``, ``READY``, ``REJECTED``)."""
    MARKED_READY = "marked_ready"
    """``PUT .../status "READY"`` answered 204 (or "already in READY": a lost answer's retry)."""
    FETCHED = "fetched"
    """The signed documents were downloaded (facts: each file's name, size and SHA-256)."""
    DELIVERED = "delivered"
    """The operator says the fallback reached the citizen (facts ``channel`` and ``note``)."""


class RequestStatus(enum.StrEnum):
    """The statuses the issuer API documents. The enum is extensible: others may come."""

    DRAFT = "DRAFT"
    READY = "READY"
    WAIT_FOR_SIGNATURE = "WAIT_FOR_SIGNATURE"
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


_KNOWN = frozenset(RequestStatus)


def is_known(status: str | None) -> bool:
    """Whether ``status`` is one the issuer API documents (:class:`RequestStatus`). The table
    never closes a flow on another: it is recorded, and the flow stays open."""
    return status in _KNOWN


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of the issuer API, reduced to what the flow needs.

    ``status`` is kept as the string the API sent, so an unknown value (``WAIT_FOR_QTSP``, a
    future status) is carried and recorded rather than crashed on.
    """

    kind: Kind
    http_status: int | None = None
    status: str | None = None
    io_message_id: str | None = None
    qr_code_url: str | None = None
    detail: str | None = None
    expires_at: float | None = None
    """The request's ``expires_at``, in seconds since the epoch, when the read carried it."""
    facts: tuple[tuple[str, str], ...] = ()
    """What the answer taught the flow, as (name, value) pairs: ids the API gave (``signer_id``,
    ``dossier_id``, ``request_id``, ``document_id``), a downloaded file's SHA-256... Recorded on
    the audit record; never personal data nor a secret."""
    upload_url: str | None = field(default=None, repr=False)
    """An upload URL (a bearer credential for 15 minutes): kept on the flow in memory only."""

    @classmethod
    def request(
        cls,
        status: str,
        *,
        qr_code_url: str | None = None,
        io_message_id: str | None = None,
        http_status: int = 200,
        expires_at: float | None = None,
    ) -> Answer:
        """The request as read: its status, its QR URL, the notification it carries and when it
        expires."""
        return cls(
            Kind.REQUEST,
            http_status=http_status,
            status=status,
            qr_code_url=qr_code_url,
            io_message_id=io_message_id,
            expires_at=expires_at,
        )

    @classmethod
    def sent(cls, io_message_id: str, *, http_status: int = 200) -> Answer:
        """The IO message was sent (the service answers 200, its spec says 201)."""
        return cls(Kind.SENT, http_status=http_status, io_message_id=io_message_id)

    @classmethod
    def messages_disabled(cls) -> Answer:
        """The citizen turned off messages from Firma con IO."""
        return cls(
            Kind.MESSAGES_DISABLED,
            http_status=400,
            detail="It is not allowed to send a message to this user.",
        )

    @classmethod
    def no_io_profile(cls) -> Answer:
        """The citizen has no IO profile."""
        return cls(Kind.NO_IO_PROFILE, http_status=404, detail="User profile not found!")

    @classmethod
    def io_unavailable(cls, detail: str = "An error occurred while sending the message!") -> Answer:
        """IO did not take the message (the service's catch-all 400); nothing was sent."""
        return cls(Kind.IO_UNAVAILABLE, http_status=400, detail=detail)

    @classmethod
    def not_found(cls) -> Answer:
        """The request does not exist for this issuer."""
        return cls(
            Kind.NOT_FOUND,
            http_status=404,
            detail="The specified Signature Request does not exist.",
        )

    @classmethod
    def cancel_accepted(cls) -> Answer:
        """The request was cancelled."""
        return cls(Kind.CANCEL_ACCEPTED, http_status=204)

    @classmethod
    def refused(cls, http_status: int | None, detail: str | None) -> Answer:
        """A final answer that retrying will not change (``http_status`` None: given up here,
        with no answer of the API's to show)."""
        return cls(Kind.REFUSED, http_status=http_status, detail=detail)

    def fact(self, name: str) -> str | None:
        """The value of fact ``name``, if the answer carries it."""
        for key, value in self.facts:
            if key == name:
                return value
        return None


def answer_of(kind: Kind, http_status: int | None = None, /, **facts: str) -> Answer:
    """An answer of ``kind`` carrying ``facts`` (for the set-up calls and their fakes)."""
    return Answer(kind, http_status=http_status, facts=tuple(facts.items()))


def document_answer(status: str, *, reject_reason: str | None = None) -> Answer:
    """The request's document as read: its status, and the service's reasons if REJECTED."""
    return Answer(Kind.DOCUMENT, http_status=200, status=status, detail=reject_reason)


class Observation(NamedTuple):
    """What a guard sees: the API's answer (``None`` for triggers that make no call) and the time.

    ``now`` comes from the injected clock; ``activation_deadline`` from the flow: the deadline of
    the wait the flow is in (the activation in READY, the document's validation in
    DOCUMENT_UPLOADED). A named tuple: one is made on every fire.
    """

    answer: Answer | None
    now: float
    activation_deadline: float
