"""The simulated issuer's records, its problems and its checks: requests, documents, citizens, keys.

Plain data and pure functions, shared by :mod:`.issuer` (the service's rules) and :mod:`.app`
(its HTTP face).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

FISCAL_CODE_RE = re.compile(
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)
SIGNER_NAMESPACE = uuid.UUID("6f1c6f0e-7a55-4c1e-9d0b-2f1b5f0c9a11")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too many request",
    500: "Internal Server Error",
}

Json = dict[str, Any]


class Problem(Exception):
    """An error answer of the service, with the exact body the real one sends."""

    def __init__(self, status: int, detail: str = "", *, violations: list[str] | None = None):
        self.status = status
        self.detail = detail
        self.violations = violations
        super().__init__(f"{status} {detail}")

    def body(self) -> Json:
        """The ``application/problem+json`` body."""
        if self.status == 422:
            return {
                "type": "/problem/validation-error",
                "title": "Validation Error",
                "detail": "Your request didn't validate",
                "status": 422,
                "violations": self.violations or [],
            }
        return {
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
        }


def _invalid(value: object, path: str) -> Problem:
    """A 422 with an io-ts PathReporter style violation."""
    return Problem(422, violations=[f"Invalid value {json.dumps(value)} supplied to : {path}"])


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``, as ``Date.toISOString()`` writes it."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_timestamp(value: object) -> datetime:
    """``YYYY-MM-DDTHH:MM:SS(.fff)?(Z|±HH:MM)?`` as the service's decoder accepts it."""
    if not isinstance(value, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", value
    ):
        raise _invalid(value, "expires_at")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class Citizen:
    """A citizen as IO knows them. Fiscal codes starting with ``X`` have messages turned off."""

    fiscal_code: str
    has_profile: bool = True
    messages_on: bool = True
    push_on: bool = True


@dataclass(slots=True)
class ApiKey:
    """An issuer's API key: its environment, and for test keys, the allowed fiscal codes."""

    issuer_id: str
    environment: str = "prod"
    testers: frozenset[str] = frozenset()


@dataclass(slots=True)
class Document:
    id: str
    metadata: Json
    created_at: datetime
    updated_at: datetime
    status: str = "WAIT_FOR_UPLOAD"
    uploaded_at: datetime | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    content: bytes | None = None
    validation_hangs: bool = False
    """Set by the ``validateUpload`` fault ``hang``: this upload's validation never ends."""

    def view(self, base_url: str, request_id: str) -> Json:
        # The service sets WAIT_FOR_VALIDATION in memory only, during its blob trigger, and
        # stores READY or REJECTED when it is done: a request read meanwhile still shows its
        # document WAIT_FOR_UPLOAD (validate-upload.ts; API-NOTES §1.3.6 gives the encoder's case)
        shown = "WAIT_FOR_UPLOAD" if self.status == "WAIT_FOR_VALIDATION" else self.status
        out: Json = {
            "id": self.id,
            "metadata": self.metadata,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "status": shown,
        }
        if self.uploaded_at is not None and shown != "WAIT_FOR_UPLOAD":
            out["uploaded_at"] = iso(self.uploaded_at)
        if self.status == "READY":
            out["url"] = f"{base_url}/__blob/validated-documents/{request_id}/{self.id}.pdf"
        if self.status == "REJECTED":
            out["rejected_at"] = iso(self.rejected_at or self.updated_at)
            out["reject_reason"] = self.reject_reason
        return out


@dataclass(slots=True)
class SignatureRequest:
    id: str
    issuer_id: str
    dossier_id: str
    signer_id: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    documents: list[Document]
    status: str = "DRAFT"
    ready_at: datetime | None = None
    qr_code_url: str | None = None
    io_message_id: str | None = None
    signed_at: datetime | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    cancelled_at: datetime | None = None

    def view(self, base_url: str) -> Json:
        out: Json = {
            "id": self.id,
            "status": self.status,
            "dossier_id": self.dossier_id,
            "signer_id": self.signer_id,
            "expires_at": iso(self.expires_at),
            "documents": [d.view(base_url, self.id) for d in self.documents],
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.status == "WAIT_FOR_SIGNATURE" and self.qr_code_url:
            out["qr_code_url"] = self.qr_code_url
        if self.status in ("WAIT_FOR_SIGNATURE", "SIGNED", "REJECTED") and self.io_message_id:
            out["notification"] = {"io_message_id": self.io_message_id}
        if self.status == "SIGNED" and self.signed_at:
            out["signed_at"] = iso(self.signed_at)
        if self.status == "REJECTED":
            out["rejected_at"] = iso(self.rejected_at or self.updated_at)
            out["reject_reason"] = self.reject_reason or ""
        if self.status == "CANCELLED" and self.cancelled_at:
            out["cancelled_at"] = iso(self.cancelled_at)
        return out

    def list_item(self) -> Json:
        return {
            "id": self.id,
            "signer_id": self.signer_id,
            "dossier_id": self.dossier_id,
            "status": self.status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "expires_at": iso(self.expires_at),
        }


class ApimError(Exception):
    """An answer of the API gateway itself, with APIM's ``{statusCode, message}`` body."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")

    def body(self) -> Json:
        return {"statusCode": self.status, "message": self.message}


CLAUSE_TYPES = ("REQUIRED", "UNFAIR", "OPTIONAL")


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_attrs(attrs: object, path: str) -> None:
    """``ExistingSignatureFieldAttrs`` (a ``unique_name``, picked whenever that key is there, as
    the service's decoder does) or ``SignatureFieldToBeCreatedAttrs``."""
    if not isinstance(attrs, dict):
        raise _invalid(attrs, path)
    if "unique_name" in attrs:
        name = attrs["unique_name"]
        if not isinstance(name, str) or not name:
            raise _invalid(name, f"{path}/unique_name")
        return
    coordinates, page, size = attrs.get("coordinates"), attrs.get("page"), attrs.get("size")
    if not isinstance(coordinates, dict) or not all(_number(coordinates.get(k)) for k in "xy"):
        raise _invalid(coordinates, f"{path}/coordinates")
    if not _number(page) or page < 0:
        raise _invalid(page, f"{path}/page")
    if not isinstance(size, dict) or not all(_number(size.get(k)) and size[k] >= 0 for k in "wh"):
        raise _invalid(size, f"{path}/size")


def _check_signature_field(item: object, path: str) -> None:
    if not isinstance(item, dict):
        raise _invalid(item, path)
    clause = item.get("clause")
    if not isinstance(clause, dict) or clause.get("type") not in CLAUSE_TYPES:
        raise _invalid(clause, f"{path}/clause")
    title = clause.get("title")
    if not isinstance(title, str) or not 5 <= len(title) <= 79:
        raise _invalid(title, f"{path}/clause/title")
    _check_attrs(item.get("attrs"), f"{path}/attrs")


def check_signature_fields(fields: object, path: str) -> list[Json]:
    """``fields`` as an array of ``SignatureField``, or a 422 naming the first bad value.

    As the service's decoders: a clause title of 5..79 characters (the spec says up to 80, the
    code is stricter), non-negative page and size, and not only OPTIONAL clauses (an empty
    array is fine). Used for a dossier's and a request's metadata and for validate-document's
    JSON part, so the checks after an upload can trust the shape.
    """
    if not isinstance(fields, list):
        raise _invalid(fields, path)
    for index, item in enumerate(fields):
        _check_signature_field(item, f"{path}/{index}")
    if fields and all(f["clause"]["type"] == "OPTIONAL" for f in fields):
        raise _invalid(fields, path)
    return fields


def _check_document_metadata(document: object, path: str) -> None:
    if not isinstance(document, dict):
        raise _invalid(document, path)
    title = document.get("title")
    if not isinstance(title, str) or not 3 <= len(title) <= 60:
        raise _invalid(title, f"{path}/title")
    check_signature_fields(document.get("signature_fields", []), f"{path}/signature_fields")
