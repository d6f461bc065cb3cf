"""Helpers for the tests of the sandbox's blob store: a fake clock, a sandbox of one module's
own set to it, and the set-up of requests over HTTP (upload URLs, signed documents)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from firmaio.adapters.sandbox import SAMPLE_PDF, SAMPLE_PDF_FIELDS, Fault, Sandbox
from tests.sandbox_helpers import fiscal_code

KEY = {"Ocp-Apim-Subscription-Key": "sandbox-key"}
BLOCK = {"x-ms-blob-type": "BlockBlob"}
START = 1_795_946_400.0  # 2026-11-29T10:00:00Z
AUTHENTICATION_FAILED = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>'
    b"Server failed to authenticate the request. Make sure the value of Authorization header is "
    b"formed correctly including the signature.</Message></Error>"
)


class Clock:
    """The sandbox's ``now``: stands still until moved."""

    def __init__(self, start: float) -> None:
        self.at = start

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@dataclass
class Box:
    sandbox: Sandbox
    clock: Clock
    api: httpx.Client

    def fault(self, operation: str, kind: str, **options: Any) -> None:
        self.sandbox.state.faults.append(Fault(operation=operation, kind=kind, **options))

    def draft(self) -> tuple[str, str]:
        """A DRAFT request of one document with SAMPLE_PDF_FIELDS: its id and the document's."""
        dossier = {
            "title": "dossier di prova",
            "documents_metadata": [{"title": "Modulo", "signature_fields": SAMPLE_PDF_FIELDS}],
        }
        dossier_id = self.api.post("/dossiers", json=dossier).json()["id"]
        signer = self.api.post("/signers", json={"fiscal_code": fiscal_code()}).json()["id"]
        request = self.api.post(
            "/signature-requests", json={"dossier_id": dossier_id, "signer_id": signer}
        ).json()
        return request["id"], request["documents"][0]["id"]

    def upload_url(self, request_id: str, document_id: str) -> str:
        path = f"/signature-requests/{request_id}/documents/{document_id}/upload_url"
        answer = self.api.get(path)
        assert answer.status_code == 200
        return answer.json()  # type: ignore[no-any-return]

    def document(self, request_id: str) -> dict[str, Any]:
        return self.api.get(f"/signature-requests/{request_id}").json()["documents"][0]  # type: ignore[no-any-return]

    def signed(self, pdf: bytes = SAMPLE_PDF) -> str:
        """A request with ``pdf`` uploaded over HTTP, set READY, then signed."""
        request_id, document_id = self.draft()
        assert httpx.put(self.upload_url(request_id, document_id), content=pdf, headers=BLOCK)
        assert self.api.put(f"/signature-requests/{request_id}/status", json="READY").is_success
        self.sandbox.issuer.close(request_id, "SIGNED")  # activation_delay is 0
        return request_id

    def download_url(self, request_id: str) -> str:
        view = self.api.get(f"/signature-requests/{request_id}").json()
        assert view["status"] == "SIGNED"
        return view["documents"][0]["url"]  # type: ignore[no-any-return]


def served() -> Sandbox:
    """A sandbox for one module: validation and activation at once, no throttling."""
    return Sandbox(activation_delay=0, validation_delay=0, rate_calls=100_000)


@contextmanager
def box_over(sandbox: Sandbox) -> Iterator[Box]:
    """``sandbox`` on a fake clock at :data:`START`, with a client of its API; faults cleared
    after."""
    clock = Clock(START)
    sandbox.issuer.now = clock
    try:
        with httpx.Client(base_url=sandbox.url, headers=KEY) as api:
            yield Box(sandbox, clock, api)
    finally:
        sandbox.state.faults.clear()


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/xml"
    assert answer.content == AUTHENTICATION_FAILED
