"""A set-up call's refusal is a value from the HTTP answer to the flow's Answer: the same answer
and record as the service's words, and still an ApiRefused from the typed calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmaio.adapters.client import IssuerClient, IssuerSetup, Refusal, RetryPolicy, order_from_pdf
from firmaio.fsm import Answer, ApiRefused, ApiUnavailable, Kind
from firmaio.fsm.machine import Order

FAST = RetryPolicy(attempts=2, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
RID, DID = "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01GG4NFBCN4ZH8ETCCKX3A6V4K"
UPLOAD_URL = (  # on the blob store's documented hosts (API-NOTES §1.3.6), so it is followed
    "https://firmaio.blob.core.windows.net/uploads/01GG4NFBCN4ZH8ETCCKX3A6V4K?sig=secret"
)
FIELDS = [{"attrs": {"unique_name": "firma"}, "clause": {"title": "Firma", "type": "REQUIRED"}}]


def problem(status: int, detail: str) -> Callable[[httpx.Request], httpx.Response]:
    """The service's problem (API-NOTES §3.1): its title, status and detail."""
    body = {"title": "Error", "status": status, "detail": detail}
    return lambda _request: httpx.Response(status, json=body)


def blob_error(status: int, code: str) -> Callable[[httpx.Request], httpx.Response]:
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code></Error>"
    return lambda _request: httpx.Response(status, text=body)


@pytest.fixture
def order(tmp_path: Path) -> Order:
    pdf = tmp_path / "modulo.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%made up\n")
    return order_from_pdf(
        pdf,
        fields=FIELDS,
        document_title="Modulo",
        dossier_id="01GG4NFBCN4ZH8ETCCKX3A6V4J",
        fiscal_code="RSSMRA80A01H501U",
    )


def run(handler: Callable[[httpx.Request], httpx.Response], call: Callable[..., Any]) -> Any:
    async def go() -> Any:
        transport = httpx.MockTransport(handler)
        async with IssuerClient(
            "k", base_url="https://api.test/api/v1/sign", transport=transport, retry=FAST
        ) as client:
            return await call(IssuerSetup(client), client)

    return asyncio.run(go())


CASES = [
    (
        "find_signer: no IO profile",
        problem(404, "User profile not found!"),
        lambda s, o: s.find_signer(o.fiscal_code),
        Answer.no_io_profile(),
    ),
    (
        "find_signer: refused",
        problem(400, "The request is not valid."),
        lambda s, o: s.find_signer(o.fiscal_code),
        Answer.refused(400, "The request is not valid."),
    ),
    (
        "validate_document: refused",
        problem(422, "Unprocessable"),
        lambda s, o: s.validate_document(o),
        Answer.refused(422, "Unprocessable"),
    ),
    (
        "open_dossier: not found",
        problem(404, "The specified dossier was not found"),
        lambda s, o: s.open_dossier(o),
        Answer(Kind.NOT_FOUND, http_status=404, detail="The specified dossier was not found"),
    ),
    (
        "create_request: refused",
        problem(400, "expires_at is too far"),
        lambda s, o: s.create_request(o, o.dossier_id, "signer", "2027-01-01T00:00:00.123Z"),
        Answer.refused(400, "expires_at is too far"),
    ),
    (
        "get_upload_url: not found",
        problem(404, "Document"),
        lambda s, _o: s.get_upload_url(RID, DID),
        Answer(Kind.NOT_FOUND, http_status=404, detail="Document"),
    ),
    (
        "upload_document: expired signature",
        blob_error(403, "AuthenticationFailed"),
        lambda s, o: s.upload_document(UPLOAD_URL, o),
        Answer(Kind.UPLOAD_URL_EXPIRED, http_status=403, detail="AuthenticationFailed"),
    ),
    (
        "upload_document: refused",
        blob_error(413, "RequestBodyTooLarge"),
        lambda s, o: s.upload_document(UPLOAD_URL, o),
        Answer.refused(413, "RequestBodyTooLarge"),
    ),
    (
        "read_document: not found",
        problem(404, "The specified Signature Request does not exist."),
        lambda s, _o: s.read_document(RID, DID),
        Answer.not_found(),
    ),
    (
        "mark_ready: already READY",
        problem(400, "Signature Request is already in READY status"),
        lambda s, _o: s.mark_ready(RID),
        Answer(
            Kind.MARKED_READY,
            http_status=400,
            detail="Signature Request is already in READY status",
        ),
    ),
    (
        "mark_ready: refused",
        problem(400, "Some documents are not ready"),
        lambda s, _o: s.mark_ready(RID),
        Answer.refused(400, "Some documents are not ready"),
    ),
    (
        "fetch_signed: refused",
        problem(400, "Bad request"),
        lambda s, _o: s.fetch_signed(RID),
        Answer.refused(400, "Bad request"),
    ),
]


@pytest.mark.parametrize(
    ("handler", "call", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_set_up_refusal_is_the_answer_of_the_service_s_words(
    order: Order, handler: Any, call: Any, expected: Answer
) -> None:
    assert run(handler, lambda setup, _client: call(setup, order)) == expected


def test_a_passing_refusal_of_the_blob_store_is_a_call_without_a_usable_answer(
    order: Order,
) -> None:
    """503 from the blob store: ApiUnavailable (the document's status tells if it arrived)."""
    with pytest.raises(ApiUnavailable, match=r"upload: HTTP 503 \(ServerBusy\); the document"):
        run(blob_error(503, "ServerBusy"), lambda s, _c: s.upload_document(UPLOAD_URL, order))


def test_the_try_calls_hand_the_refusal_back_and_the_typed_calls_raise_it() -> None:
    handler = problem(400, "The request is not valid.")
    refusal = run(handler, lambda _s, client: client.try_create_dossier({"title": "t"}))
    assert refusal == Refusal("createDossier: HTTP 400: The request is not valid.", 400,
                              "The request is not valid.")  # fmt: skip
    with pytest.raises(ApiRefused) as raised:
        run(handler, lambda _s, client: client.create_dossier({"title": "t"}))
    assert (str(raised.value), raised.value.status, raised.value.detail) == (
        refusal.message,
        400,
        "The request is not valid.",
    )
    blob = run(blob_error(403, "AuthenticationFailed"),
               lambda _s, client: client.try_upload_document(UPLOAD_URL, b"%PDF"))  # fmt: skip
    assert blob == Refusal("upload: HTTP 403", 403, "AuthenticationFailed")
    assert "secret" not in repr(blob)
