"""A simulated Firma con IO issuer service: the domain behind the sandbox.

It keeps dossiers, signers, signature requests and citizens in memory and answers like the
real service (``io-func-sign-issuer``), including where the service departs from its spec
(API-NOTES §1.2, §2.3, §3.2, §8). Time comes from an injected ``now`` callable, and the
service's asynchronous steps (document validation, READY -> WAIT_FOR_SIGNATURE) happen lazily
when a request is next looked at, once their delay has passed: no background task, fully
deterministic under a fake clock.

:mod:`adapters.sandbox` serves it over HTTP.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ulid import ULID

from firmaio.fsm.fallback import IO_LINK_BASE

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

    def view(self, base_url: str, request_id: str) -> Json:
        out: Json = {
            "id": self.id,
            "metadata": self.metadata,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "status": self.status,
        }
        if self.uploaded_at is not None:
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


@dataclass
class SimulatedIssuer:
    """The issuer service's state and rules. Every method raises :class:`Problem` on error."""

    now: Callable[[], float] = time.time
    activation_delay: float = 3.0
    """Seconds from ``PUT status "READY"`` to WAIT_FOR_SIGNATURE."""
    validation_delay: float = 0.2
    """Seconds from an upload to the end of the document's validation."""
    base_url: str = "http://127.0.0.1:7071/api/v1/sign"
    keys: dict[str, ApiKey] = field(default_factory=dict)
    citizens: dict[str, Citizen] = field(default_factory=dict)
    dossiers: dict[str, Json] = field(default_factory=dict)
    requests: dict[str, SignatureRequest] = field(default_factory=dict)
    uploads: dict[str, tuple[str, str]] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)
    """IO messages sent, by signature request id: tests prove there was exactly one."""
    sent_at: dict[str, list[float]] = field(default_factory=dict)
    """When each of those messages was sent (``now()``), for the reaction benchmark."""
    _signers: dict[str, str] = field(default_factory=dict)

    # -- set-up -----------------------------------------------------------------------------

    def add_key(
        self,
        key: str,
        issuer_id: str,
        *,
        environment: str = "prod",
        testers: frozenset[str] = frozenset(),
    ) -> None:
        """Accept ``key`` for ``issuer_id``; a ``test`` key only resolves its testers."""
        self.keys[key] = ApiKey(issuer_id, environment, testers)

    def add_citizen(
        self,
        fiscal_code: str,
        *,
        has_profile: bool = True,
        messages_on: bool = True,
        push_on: bool = True,
    ) -> Citizen:
        """Declare a citizen (one not declared exists, with messages on unless it starts with X)."""
        citizen = Citizen(fiscal_code, has_profile, messages_on, push_on)
        self.citizens[fiscal_code] = citizen
        return citizen

    def citizen(self, fiscal_code: str) -> Citizen:
        """The citizen with ``fiscal_code``, as declared or by the mock's default convention."""
        found = self.citizens.get(fiscal_code)
        if found is None:
            found = Citizen(fiscal_code, messages_on=not fiscal_code.startswith("X"))
        return found

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    def issuer_of(self, key: str | None) -> ApiKey:
        """The key's issuer; unknown keys are refused as the function app does (401 problem)."""
        found = self.keys.get(key or "")
        if found is None:
            raise Problem(401, "You must provide a valid API key to access this resource.")
        return found

    # -- dossiers ---------------------------------------------------------------------------

    def create_dossier(self, key: ApiKey, body: object) -> Json:
        """``POST /dossiers``: 201 with the dossier."""
        if not isinstance(body, dict):
            raise _invalid(body, "CreateDossierBody")
        title = body.get("title")
        if not isinstance(title, str) or len(title) < 3:
            raise _invalid(title, "title")
        metadata = body.get("documents_metadata")
        if not isinstance(metadata, list) or not metadata:
            raise _invalid(metadata, "documents_metadata")
        for index, document in enumerate(metadata):
            _check_document_metadata(document, f"documents_metadata/{index}")
        now = self._now()
        dossier: Json = {
            "id": str(ULID()),
            "title": title,
            "documents_metadata": metadata,
            "created_at": iso(now),
            "updated_at": iso(now),
        }
        if isinstance(body.get("support_email"), str):
            dossier["support_email"] = body["support_email"]
        self.dossiers[dossier["id"]] = {**dossier, "_issuer": key.issuer_id}
        return dossier

    def get_dossier(self, key: ApiKey, dossier_id: str) -> Json:
        """``GET /dossiers/{id}``."""
        dossier = self.dossiers.get(dossier_id)
        if dossier is None or dossier["_issuer"] != key.issuer_id:
            raise Problem(404, "The specified dossier was not found")
        return {k: v for k, v in dossier.items() if not k.startswith("_")}

    def list_requests(
        self, key: ApiKey, dossier_id: str, continuation: str | None, limit: object
    ) -> Json:
        """``GET /dossiers/{id}/signature-requests``: paged, ``limit`` 25..100."""
        self.get_dossier(key, dossier_id)
        if limit is None:
            size = 25
        else:
            try:
                size = int(str(limit))
            except ValueError:
                raise _invalid(limit, "limit") from None
            if not 25 <= size <= 100:
                raise _invalid(size, "limit")
        items = [r for r in self.requests.values() if r.dossier_id == dossier_id]
        start = 0
        if continuation is not None:
            if not continuation.isdigit():
                raise _invalid(continuation, "continuationToken")
            start = int(continuation)
        page = items[start : start + size]
        for request in page:
            self._settle(request)
        out: Json = {"items": [r.list_item() for r in page]}
        if start + size < len(items):
            out["continuation_token"] = str(start + size)
        return out

    # -- signers ----------------------------------------------------------------------------

    def get_signer(self, key: ApiKey, body: object) -> Json:
        """``POST /signers``: the signer id of a fiscal code (200, though the spec says 201)."""
        fiscal_code = body.get("fiscal_code") if isinstance(body, dict) else None
        if not isinstance(fiscal_code, str) or not FISCAL_CODE_RE.match(fiscal_code):
            raise Problem(422, violations=["Invalid value supplied to : fiscal_code"])
        if key.environment == "test" and fiscal_code not in key.testers:
            raise ApimError(403, "Forbidden")
        if not self.citizen(fiscal_code).has_profile:
            raise Problem(404, "User profile not found!")
        signer_id = str(uuid.uuid5(SIGNER_NAMESPACE, fiscal_code))
        self._signers[signer_id] = fiscal_code
        return {"id": signer_id}

    # -- signature requests -----------------------------------------------------------------

    def create_request(self, key: ApiKey, body: object) -> Json:
        """``POST /signature-requests``: 201, status DRAFT, one document per metadata entry."""
        if not isinstance(body, dict):
            raise _invalid(body, "CreateSignatureRequestBody")
        dossier_id, signer_id = body.get("dossier_id"), body.get("signer_id")
        if not isinstance(dossier_id, str) or not dossier_id:
            raise _invalid(dossier_id, "dossier_id")
        if not isinstance(signer_id, str) or not signer_id:
            raise _invalid(signer_id, "signer_id")
        dossier = self.get_dossier(key, dossier_id)
        metadata = body.get("documents_metadata", dossier["documents_metadata"])
        if not isinstance(metadata, list) or not metadata:
            raise _invalid(metadata, "documents_metadata")
        for index, document in enumerate(metadata):
            _check_document_metadata(document, f"documents_metadata/{index}")
        now = self._now()
        expires = (
            parse_timestamp(body["expires_at"])
            if "expires_at" in body
            else now + timedelta(days=90)
        )
        if expires <= now:
            raise Problem(400, "Invalid expire date.")
        request = SignatureRequest(
            id=str(ULID()),
            issuer_id=key.issuer_id,
            dossier_id=dossier_id,
            signer_id=signer_id,
            created_at=now,
            updated_at=now,
            expires_at=expires,
            documents=[Document(str(ULID()), m, now, now) for m in metadata],
        )
        self.requests[request.id] = request
        return request.view(self.base_url)

    def _request(self, key: ApiKey, request_id: str) -> SignatureRequest:
        request = self.requests.get(request_id)
        if request is None or request.issuer_id != key.issuer_id:
            raise Problem(404, "The specified Signature Request does not exist.")
        self._settle(request)
        return request

    def _settle(self, request: SignatureRequest) -> None:
        """Run the service's asynchronous steps whose time has come."""
        now = self._now()
        validated = timedelta(seconds=self.validation_delay)
        for document in request.documents:
            uploaded = document.uploaded_at
            if (
                document.status == "WAIT_FOR_VALIDATION"
                and uploaded
                and now >= uploaded + validated
            ):
                _validate(document, now)
        activated = timedelta(seconds=self.activation_delay)
        ready = request.ready_at
        if request.status == "READY" and ready is not None and now >= ready + activated:
            request.status = "WAIT_FOR_SIGNATURE"
            request.qr_code_url = f"{IO_LINK_BASE}/qrcode.png?feat=firma&srid={request.id}"
            request.updated_at = ready + activated

    def get_request(self, key: ApiKey, request_id: str) -> Json:
        """``GET /signature-requests/{id}``."""
        return self._request(key, request_id).view(self.base_url)

    def set_status(self, key: ApiKey, request_id: str, raw_body: str) -> None:
        """``PUT /signature-requests/{id}/status`` with ``"READY"`` or ``"CANCELLED"`` (204)."""
        request = self._request(key, request_id)
        try:
            wanted = json.loads(raw_body)
        except ValueError:
            wanted = raw_body.strip()
        if wanted not in ("READY", "CANCELLED"):
            raise _invalid(wanted, "SetSignatureRequestStatusBody")
        status = request.status
        action = "MARK_AS_READY" if wanted == "READY" else "MARK_AS_CANCELLED"
        if status in ("REJECTED", "CANCELLED"):
            raise Problem(400, "Invalid status")
        if status == "SIGNED":
            raise Problem(
                400, f"{action} is prohibited because the signature request has already been signed"
            )
        now = self._now()
        if wanted == "READY":
            if status == "READY":
                raise Problem(400, "Signature Request is already in READY status")
            if status != "DRAFT":
                raise Problem(
                    400, f"{action} is prohibited if the signature request is in {status} status"
                )
            if not all(d.status == "READY" for d in request.documents):
                raise Problem(400, "MARK_AS_READY is not possible unless all documents are READY")
            request.status, request.ready_at = "READY", now
        else:
            if status != "WAIT_FOR_SIGNATURE":
                raise Problem(
                    400, f"{action} is prohibited if the signature request is in {status} status"
                )
            request.status, request.cancelled_at = "CANCELLED", now
        request.updated_at = now

    def upload_url(self, key: ApiKey, request_id: str, document_id: str) -> str:
        """``GET .../documents/{documentId}/upload_url``: a URL of the sandbox's blob stand-in."""
        request = self._request(key, request_id)
        if request.status != "DRAFT":
            status = request.status
            raise Problem(
                400, f"Unable to get the Upload Url. The Signature Request is in {status} status"
            )
        if not any(d.id == document_id for d in request.documents):
            raise Problem(404, "Document")
        upload_id = str(ULID())
        self.uploads[upload_id] = (request_id, document_id)
        return f"{self.base_url}/__blob/uploaded-documents/{upload_id}"

    def upload(self, upload_id: str, content: bytes) -> None:
        """The blob store's ``PUT``: the document waits for validation."""
        target = self.uploads.get(upload_id)
        if target is None:
            raise Problem(404, "BlobNotFound")
        request = self.requests[target[0]]
        document = next(d for d in request.documents if d.id == target[1])
        if request.status != "DRAFT" or document.status == "WAIT_FOR_VALIDATION":
            raise Problem(400, "The document cannot be uploaded now")
        now = self._now()
        document.content, document.status = content, "WAIT_FOR_VALIDATION"
        document.uploaded_at = document.updated_at = now
        if self.validation_delay <= 0:
            _validate(document, now)

    def send_notification(self, key: ApiKey, request_id: str) -> Json:
        """``PUT .../notification``: check, then send the IO message (200, ``io_message_id``)."""
        return self.deliver_notification(self.check_notifiable(key, request_id))

    def check_notifiable(self, key: ApiKey, request_id: str) -> SignatureRequest:
        """The service's checks before it calls IO (API-NOTES §3, steps 1-5)."""
        request = self._request(key, request_id)
        if request.status != "WAIT_FOR_SIGNATURE" or request.io_message_id is not None:
            got = {"status": request.status, "notification": request.io_message_id}
            raise Problem(
                422, violations=[f"Invalid value {json.dumps(got)} supplied to : notification"]
            )
        fiscal_code = self._signers.get(request.signer_id)
        if fiscal_code is None:
            raise Problem(500, "Error")
        citizen = self.citizen(fiscal_code)
        if not citizen.has_profile:
            raise Problem(404, "User profile not found!")
        if not citizen.messages_on:
            raise Problem(400, "It is not allowed to send a message to this user.")
        return request

    def deliver_notification(self, request: SignatureRequest) -> Json:
        """Send the message and save it on the request (steps 6-8), without checking again.

        Like the real service, nothing guards the gap between the checks and this step: two
        calls that both passed the checks both send a message (API-NOTES §3.2, "Concurrent
        double call"). The sandbox's ``latency`` fault on ``sendNotification`` opens that gap.
        """
        request.io_message_id = str(ULID())
        request.updated_at = self._now()
        self.messages.setdefault(request.id, []).append(request.io_message_id)
        self.sent_at.setdefault(request.id, []).append(self.now())
        return {"io_message_id": request.io_message_id}

    # -- controls (not part of the real API) ------------------------------------------------

    def close(self, request_id: str, status: str, reason: str = "") -> None:
        """Move a WAIT_FOR_SIGNATURE request to SIGNED or REJECTED, as the citizen/QTSP would."""
        request = self.requests.get(request_id)
        if request is None:
            raise Problem(404, "The specified Signature Request does not exist.")
        self._settle(request)
        if status not in ("SIGNED", "REJECTED") or request.status != "WAIT_FOR_SIGNATURE":
            raise Problem(400, f"cannot move a {request.status} request to {status}")
        now = self._now()
        request.status, request.updated_at = status, now
        if status == "SIGNED":
            request.signed_at = now
        else:
            request.rejected_at, request.reject_reason = (
                now,
                reason or "Invalid response status from QTSP!",
            )

    def activated_at(self, request_id: str) -> float | None:
        """When the request turned (or will turn) WAIT_FOR_SIGNATURE, if it was set READY."""
        ready = self.requests[request_id].ready_at
        return None if ready is None else ready.timestamp() + self.activation_delay

    def messages_sent(self, request_id: str) -> int:
        """How many IO messages were sent for a request."""
        return len(self.messages.get(request_id, []))

    def create_ready_request(
        self, key: str, fiscal_code: str, dossier_id: str | None = None
    ) -> str:
        """Shortcut for demos: a request with its PDF uploaded and validated, set READY."""
        issuer = self.issuer_of(key)
        if dossier_id is None:
            dossier_id = self.create_dossier(issuer, DEMO_DOSSIER)["id"]
        signer_id = self.get_signer(issuer, {"fiscal_code": fiscal_code})["id"]
        request = self.create_request(issuer, {"dossier_id": dossier_id, "signer_id": signer_id})
        for document in request["documents"]:
            url = self.upload_url(issuer, request["id"], document["id"])
            self.upload(url.rsplit("/", 1)[1], MINIMAL_PDF)
            self._validate_now(request["id"])
        self.set_status(issuer, request["id"], '"READY"')
        return str(request["id"])

    def _validate_now(self, request_id: str) -> None:
        for document in self.requests[request_id].documents:
            if document.status == "WAIT_FOR_VALIDATION":
                _validate(document, self._now())


class ApimError(Exception):
    """An answer of the API gateway itself, with APIM's ``{statusCode, message}`` body."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")

    def body(self) -> Json:
        return {"statusCode": self.status, "message": self.message}


def _check_document_metadata(document: object, path: str) -> None:
    if not isinstance(document, dict):
        raise _invalid(document, path)
    title = document.get("title")
    if not isinstance(title, str) or not 3 <= len(title) <= 60:
        raise _invalid(title, f"{path}/title")
    fields = document.get("signature_fields", [])
    if not isinstance(fields, list):
        raise _invalid(fields, f"{path}/signature_fields")
    for index, item in enumerate(fields):
        clause = item.get("clause") if isinstance(item, dict) else None
        if not isinstance(clause, dict) or clause.get("type") not in (
            "REQUIRED",
            "UNFAIR",
            "OPTIONAL",
        ):
            raise _invalid(item, f"{path}/signature_fields/{index}")
        clause_title = clause.get("title")
        if not isinstance(clause_title, str) or not 5 <= len(clause_title) <= 79:
            raise _invalid(clause_title, f"{path}/signature_fields/{index}/clause/title")
    if fields and all(f["clause"]["type"] == "OPTIONAL" for f in fields):
        raise _invalid(fields, f"{path}/signature_fields")


def _validate(document: Document, now: datetime) -> None:
    document.updated_at = now
    if document.content is not None and document.content.startswith(b"%PDF"):
        document.status = "READY"
    else:
        document.status, document.rejected_at = "REJECTED", now
        document.reject_reason = (
            "the uploaded document has an invalid file signature (not a valid PDF)"
        )


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
"""A one-page PDF, enough for the ``%PDF`` check."""

DEMO_DOSSIER: Json = {
    "title": "richiesta di firma di prova",
    "documents_metadata": [
        {
            "title": "Modulo di adesione",
            "signature_fields": [
                {
                    "attrs": {
                        "coordinates": {"x": 50, "y": 50},
                        "page": 0,
                        "size": {"w": 120, "h": 40},
                    },
                    "clause": {"title": "Firma del richiedente", "type": "REQUIRED"},
                }
            ],
        }
    ],
}
