"""The simulated issuer service's API rules: what each call of the issuer API does and answers.

It keeps dossiers, signers, signature requests and citizens in memory and answers like the real
service (``io-func-sign-issuer``), including where the service departs from its spec
(API-NOTES §1.2, §2.3, §3.2, §8). Time comes from an injected ``now`` callable, and the
service's asynchronous steps (document validation, READY -> WAIT_FOR_SIGNATURE) happen lazily
when a request is next looked at, once their delay has passed: no background task, fully
deterministic under a fake clock. The documents' rules (upload URLs, the checks after an
upload, signed copies) are in :mod:`.documents`; :class:`~.issuer.SimulatedIssuer` adds the
controls.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ulid import ULID

from firmaio.fsm.driving import IO_LINK_BASE

from .blobs import BlobStore
from .documents import DocumentRules
from .records import (
    FISCAL_CODE_RE,
    SIGNER_NAMESPACE,
    ApiKey,
    ApimError,
    Citizen,
    Document,
    Json,
    Problem,
    SignatureRequest,
    _check_document_metadata,
    _invalid,
    iso,
    parse_timestamp,
)

ACTIVATION_DELAY = 3.0
"""Seconds the simulated service takes from ``PUT status "READY"`` to WAIT_FOR_SIGNATURE."""
UPLOAD_URL_TTL = 900.0
"""Seconds an upload URL is honoured (the real service's 15 minutes)."""


@dataclass
class IssuerService(DocumentRules):
    """The issuer service's state and the rules of its API. Every method raises
    :class:`~.records.Problem` on error."""

    now: Callable[[], float] = time.time
    activation_delay: float = ACTIVATION_DELAY
    """Seconds from ``PUT status "READY"`` to WAIT_FOR_SIGNATURE."""
    validation_delay: float = 0.2
    """Seconds from an upload to the end of the document's validation."""
    validation_hangs: bool = False
    """While true, the validation of each new upload never ends (as the ``validateUpload``
    fault ``hang`` does for one upload): a client meets its own validation deadline."""
    base_url: str = "http://127.0.0.1:7071/api/v1/sign"
    keys: dict[str, ApiKey] = field(default_factory=dict)
    citizens: dict[str, Citizen] = field(default_factory=dict)
    dossiers: dict[str, Json] = field(default_factory=dict)
    requests: dict[str, SignatureRequest] = field(default_factory=dict)
    upload_url_ttl: float = UPLOAD_URL_TTL
    """Seconds an upload URL is honoured (the real service's 15 minutes)."""
    download_url_ttl: float = 300.0
    """Seconds a signed document's URL is honoured (the real service's 5 minutes)."""
    blobs: BlobStore = field(default_factory=BlobStore)
    """The blob store's stand-in: granted URLs, upload targets, signed copies."""
    messages: dict[str, list[str]] = field(default_factory=dict)
    """IO messages sent, by signature request id: tests prove there was exactly one."""
    sent_at: dict[str, list[float]] = field(default_factory=dict)
    """When each of those messages was sent (``now()``), for the reaction benchmark."""
    _signers: dict[str, str] = field(default_factory=dict)

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
        self._settle_documents(request, now)
        activated = timedelta(seconds=self.activation_delay)
        ready = request.ready_at
        if request.status == "READY" and ready is not None and now >= ready + activated:
            request.status = "WAIT_FOR_SIGNATURE"
            request.qr_code_url = f"{IO_LINK_BASE}/qrcode.png?feat=firma&srid={request.id}"
            request.updated_at = ready + activated

    def get_request(self, key: ApiKey, request_id: str) -> Json:
        """``GET /signature-requests/{id}``."""
        request = self._request(key, request_id)
        return self._with_download_urls(request, request.view(self.base_url))

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
