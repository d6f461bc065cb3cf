"""The simulated issuer: the service's API rules (:mod:`.service`) and the controls that set it up
and look into it, for tests and demos: keys, citizens, closing a request, counting messages, and
seeding the requests an earlier run left (so a store it wrote is driven on).

:mod:`.app` serves it over HTTP.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from firmaio.fsm.driving import IO_LINK_BASE

from .records import (
    SIGNER_NAMESPACE,
    ApiKey,
    Citizen,
    Document,
    Json,
    Problem,
    SignatureRequest,
    _check_document_metadata,
    iso,
    parse_timestamp,
)
from .samples import DEMO_DOSSIER, MINIMAL_PDF
from .service import IssuerService


class SimulatedIssuer(IssuerService):
    """The issuer service with the simulator's controls beside its API."""

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

    def close(self, request_id: str, status: str, reason: str = "") -> None:
        """Move a WAIT_FOR_SIGNATURE request to SIGNED or REJECTED, as the citizen/QTSP would.

        SIGNED gives each document its signed copy, served at the URL of the request's view."""
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
            self._sign_documents(request)
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
            self.upload(urlsplit(url).path.rsplit("/", 1)[1], MINIMAL_PDF)
            self._validate_now(request["id"])
        self.set_status(issuer, request["id"], '"READY"')
        return str(request["id"])

    def _validate_now(self, request_id: str) -> None:
        for document in self.requests[request_id].documents:
            if document.status == "WAIT_FOR_VALIDATION":
                self._validate_document(document, self._now())

    # -- seeding: requests as an earlier run of the sandbox left them ---------------------------

    def seed(self, world: Json) -> None:
        """Hold the citizens, dossiers and requests ``world`` names (``POST /__sandbox/seed``,
        whose model checked each field), with their ids: a store an earlier run wrote finds its
        requests again. Checked whole before anything changes; a :class:`Problem` says what
        does not fit (an id taken, an unknown dossier or key, documents that do not fit)."""
        dossiers = {d["id"]: d for d in world.get("dossiers", [])}
        for dossier in dossiers.values():
            self.issuer_of(dossier["key"])
            for index, document in enumerate(dossier["documents_metadata"]):
                _check_document_metadata(document, f"dossiers/{dossier['id']}/{index}")
        requests = world.get("requests", [])
        for request in requests:
            _check_seeded(request, self, dossiers)
        taken = [i for i in [*dossiers, *(r["id"] for r in requests)] if self._taken(i)]
        if taken or len({r["id"] for r in requests}) != len(requests):
            raise Problem(409, f"ids already held or given twice: {', '.join(taken) or 'twice'}")
        for citizen in world.get("citizens", []):  # the service knows each one's signer id
            self.add_citizen(**citizen)
            self._signers[str(uuid.uuid5(SIGNER_NAMESPACE, citizen["fiscal_code"]))] = citizen[
                "fiscal_code"
            ]
        for dossier in dossiers.values():
            self.dossiers[dossier["id"]] = {
                "id": dossier["id"], "title": dossier["title"],
                "documents_metadata": dossier["documents_metadata"],
                "created_at": iso(self._now()), "updated_at": iso(self._now()),
                "_issuer": self.issuer_of(dossier["key"]).issuer_id,
            }  # fmt: skip
        for request in requests:
            self._seed_request(request)

    def _taken(self, some_id: str) -> bool:
        return some_id in self.dossiers or some_id in self.requests

    def _seed_request(self, seeded: Json) -> None:
        metadata = self.dossiers[seeded["dossier_id"]]["documents_metadata"]
        created = parse_timestamp(seeded["created_at"])
        signer_id = str(uuid.uuid5(SIGNER_NAMESPACE, seeded["fiscal_code"]))
        self._signers[signer_id] = seeded["fiscal_code"]
        request = SignatureRequest(
            id=seeded["id"], issuer_id=self.issuer_of(seeded["key"]).issuer_id,
            dossier_id=seeded["dossier_id"], signer_id=signer_id, created_at=created,
            updated_at=created, expires_at=parse_timestamp(seeded["expires_at"]),
            documents=[
                Document(d["id"], m, created, created, status=d["status"])
                for d, m in zip(seeded["documents"], metadata, strict=True)
            ],
            status=seeded["status"],
        )  # fmt: skip
        now, status = self._now(), request.status
        if status != "DRAFT":  # READY now, or long enough ago to be activated
            past = timedelta(seconds=self.activation_delay)
            request.ready_at = now if status == "READY" else created - past
            if status != "READY":
                request.qr_code_url = f"{IO_LINK_BASE}/qrcode.png?feat=firma&srid={request.id}"
        if seeded.get("io_message_id"):
            request.io_message_id = seeded["io_message_id"]
            self.messages.setdefault(request.id, []).append(seeded["io_message_id"])
        if status == "SIGNED":
            request.signed_at = now
            self._sign_documents(request)
        elif status == "REJECTED":
            request.rejected_at, request.reject_reason = now, "Invalid response status from QTSP!"
        elif status == "CANCELLED":
            request.cancelled_at = now
        self.requests[request.id] = request


def _check_seeded(request: Json, issuer: SimulatedIssuer, dossiers: dict[str, Json]) -> None:
    """A seeded request's dossier, key and documents must fit; its times must parse."""
    issuer.issuer_of(request["key"])
    dossier = dossiers.get(request["dossier_id"]) or issuer.dossiers.get(request["dossier_id"])
    if dossier is None:
        raise Problem(400, f"request {request['id']}: no dossier {request['dossier_id']}")
    if len(request["documents"]) != len(dossier["documents_metadata"]):
        raise Problem(400, f"request {request['id']}: one document per metadata of its dossier")
    if request["status"] != "DRAFT" and any(d["status"] != "READY" for d in request["documents"]):
        raise Problem(400, f"request {request['id']}: only a DRAFT may have documents not READY")
    for name in ("created_at", "expires_at"):
        parse_timestamp(request[name])
