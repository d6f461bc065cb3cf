"""Typed results of the issuer's set-up calls, read from the API's JSON (API-NOTES §1.3).

Each is a frozen dataclass with a ``from_json`` that checks what the code relies on and raises
:class:`~firmaio.fsm.errors.ApiProtocolError` for a body it cannot use, naming the evidence:
every id obeys the rule for ids typed by a user (a ULID passes; ``..``, ``/`` or a control
character do not), every status is an upper-case word. Fields the service may add are ignored,
and unknown statuses are kept as the strings the API sent. URLs are kept as sent and checked
where they are used (:mod:`.urls`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from firmaio.fsm.errors import ApiProtocolError

from .answers import bad_id, bad_status, cut, epoch


def _str(body: dict[str, Any], name: str, what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiProtocolError(f"{what}: the answer has no {name}")
    return value


def _id(body: dict[str, Any], name: str, what: str, *, required: bool = True) -> str:
    """The id ``name`` of an answer, checked; ``""`` for an optional one it lacks."""
    value = body.get(name)
    if value is None and not required:
        return ""
    refused = bad_id(value, name) if value is not None else f"the answer has no {name}"
    if refused is not None:
        raise ApiProtocolError(f"{what}: {refused}")
    return str(value)


def _status(body: dict[str, Any], what: str) -> str:
    value = _str(body, "status", what)
    refused = bad_status(value, "status")
    if refused is not None:
        raise ApiProtocolError(f"{what}: {refused}")
    return value


def _opt(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Dossier:
    """A ``DossierDetailView``: ``POST /dossiers`` (201) or ``GET /dossiers/{id}`` (200)."""

    id: str
    title: str
    documents_metadata: tuple[dict[str, Any], ...]
    support_email: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Dossier:
        metadata = body.get("documents_metadata")
        return cls(
            id=_id(body, "id", "dossier"),
            title=_opt(body, "title") or "",
            documents_metadata=tuple(metadata) if isinstance(metadata, list) else (),
            support_email=_opt(body, "support_email"),
        )


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A request's document: its status (``WAIT_FOR_UPLOAD``, ``WAIT_FOR_VALIDATION``,
    ``READY``, ``REJECTED``), its URL when there is one, the service's reasons if REJECTED."""

    id: str
    status: str
    title: str | None = None
    url: str | None = None
    reject_reason: str | None = None

    @classmethod
    def from_json(cls, body: object) -> DocumentView:
        if not isinstance(body, dict):
            raise ApiProtocolError("signature request: a document that is not an object")
        metadata = body.get("metadata")
        title = metadata.get("title") if isinstance(metadata, dict) else None
        reason = _opt(body, "reject_reason")
        return cls(
            id=_id(body, "id", "document"),
            status=_status(body, "document"),
            title=title if isinstance(title, str) else None,
            url=_opt(body, "url"),
            reject_reason=None if reason is None else cut(reason),
        )


@dataclass(frozen=True, slots=True)
class SignatureRequestView:
    """A ``SignatureRequestDetailView`` (API-NOTES §1.3.4)."""

    id: str
    status: str
    dossier_id: str
    signer_id: str
    documents: tuple[DocumentView, ...]
    created_at: float | None = None
    expires_at: float | None = None
    qr_code_url: str | None = None
    io_message_id: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> SignatureRequestView:
        documents = body.get("documents")
        if not isinstance(documents, list):
            raise ApiProtocolError("signature request: the answer has no documents")
        notification = body.get("notification")
        message = notification if isinstance(notification, dict) else {}
        what = "signature request"
        views = tuple(DocumentView.from_json(d) for d in documents)
        if len({d.id for d in views}) != len(views):
            raise ApiProtocolError(f"{what}: two of the answer's documents have one id")
        return cls(
            id=_id(body, "id", what),
            status=_status(body, what),
            dossier_id=_id(body, "dossier_id", what, required=False),
            signer_id=_id(body, "signer_id", what, required=False),
            documents=views,
            created_at=epoch(body.get("created_at")),
            expires_at=epoch(body.get("expires_at")),
            qr_code_url=_opt(body, "qr_code_url"),
            io_message_id=_id(message, "io_message_id", what, required=False) or None,
        )

    def document(self, document_id: str) -> DocumentView | None:
        """The document ``document_id``, if the request has it."""
        return next((d for d in self.documents if d.id == document_id), None)


@dataclass(frozen=True, slots=True)
class RequestListItem:
    """One item of ``GET /dossiers/{id}/signature-requests``."""

    id: str
    signer_id: str
    status: str
    created_at: float | None
    expires_at: float | None = None

    @classmethod
    def from_json(cls, body: object) -> RequestListItem:
        if not isinstance(body, dict):
            raise ApiProtocolError("request list: an item that is not an object")
        return cls(
            id=_id(body, "id", "request list"),
            signer_id=_opt(body, "signer_id") or "",
            status=_opt(body, "status") or "",
            created_at=epoch(body.get("created_at")),
            expires_at=epoch(body.get("expires_at")),
        )


@dataclass(frozen=True, slots=True)
class UploadUrl:
    """Where to ``PUT`` a document's PDF: a blob URL with a shared-access signature, valid 15
    minutes (its ``se`` parameter, when present, says until when). A bearer credential: never
    logged or recorded; its ``repr`` hides the signature."""

    url: str
    expires_at: str | None

    @classmethod
    def parse(cls, url: str) -> UploadUrl:
        expiry = parse_qs(urlsplit(url).query).get("se")
        return cls(url, expiry[0] if expiry else None)

    def __repr__(self) -> str:
        parts = urlsplit(self.url)
        return f"UploadUrl({parts.scheme}://{parts.netloc}{parts.path}?..., {self.expires_at!r})"


@dataclass(frozen=True, slots=True)
class DocumentValidation:
    """``POST /validate-document``: valid, or the service's violations."""

    is_valid: bool
    violations: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> DocumentValidation:
        valid = body.get("is_valid")
        if not isinstance(valid, bool):
            raise ApiProtocolError("validate-document: the answer has no is_valid")
        violations = body.get("violations")
        listed = violations[:50] if isinstance(violations, list) else []
        said = tuple(cut(str(v), 500) for v in listed)  # the service's words, within reason
        return cls(valid, said)
