"""The simulated issuer: the service's API rules (:mod:`.service`) and the controls that set it up
and look into it, for tests and demos: keys, citizens, closing a request, counting messages.

:mod:`.app` serves it over HTTP.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .records import ApiKey, Citizen, Problem
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
