"""Every request the client sends and every answer the sandbox gives fit the issuer API's spec.

Validated with openapi-core against ``tests/contract/apim-issuer-v1.openapi.yaml``, with the
documented departures of the real service (see ``tests/openapi_contract.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from openapi_core.exceptions import OpenAPIError

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.sandbox import DEMO_DOSSIER, MINIMAL_PDF, Sandbox
from tests.conftest import make_client
from tests.openapi_contract import (
    SPEC_PATH,
    RecordingTransport,
    validate_request,
    validate_response,
)
from tests.sandbox_helpers import fiscal_code

SHARED_SPEC = (
    Path(__file__).resolve().parents[3] / "shared/reference/io-sign/apim-issuer-v1/openapi.yaml"
)


async def scenario(sandbox: Sandbox, client: IssuerClient) -> None:
    """Touch every operation and every kind of answer the flows meet."""
    dossier = await client.create_dossier(DEMO_DOSSIER)
    assert (await client.get_dossier(dossier.id)).id == dossier.id
    fields = DEMO_DOSSIER["documents_metadata"][0]["signature_fields"]
    assert (await client.validate_document(MINIMAL_PDF, fields)).is_valid
    codes = {"ok": fiscal_code(), "off": fiscal_code("X"), "gone": fiscal_code()}
    ids = {}
    for name, code in codes.items():
        signer = await client.get_signer_id(code)
        request = await client.create_signature_request(
            dossier.id, signer, expires_at="2030-01-01T00:00:00Z"
        )
        await client.get_request(request.id)  # DRAFT
        for document in request.documents:
            await client.upload_document(
                await client.get_upload_url(request.id, document.id), MINIMAL_PDF
            )
        await asyncio.sleep(sandbox.issuer.validation_delay + 0.05)
        await client.mark_ready(request.id)
        await client.get_request(request.id)  # READY
        ids[name] = request.id
    sandbox.issuer.add_citizen(codes["gone"], has_profile=False)
    await asyncio.sleep(sandbox.issuer.activation_delay + 0.05)
    await client.get_request(ids["ok"])  # WAIT_FOR_SIGNATURE, qr_code_url
    await client.send_notification(ids["ok"])  # 200
    await client.send_notification(ids["ok"])  # 422, then read
    await client.send_notification(ids["off"])  # 400
    await client.send_notification(ids["gone"])  # 404 no profile
    await client.send_notification("01ARZ3NDEKTSV4RRFFQ69G5FAV")  # 404 not found
    await client.cancel_request(ids["off"])  # 204
    await client.cancel_request(ids["off"])  # 400 Invalid status
    await client.get_request(ids["off"])  # CANCELLED view
    sandbox.issuer.close(ids["ok"], "SIGNED")
    await client.get_request(ids["ok"])  # SIGNED view with notification
    sandbox.issuer.close(ids["gone"], "REJECTED")
    await client.get_request(ids["gone"])  # REJECTED view
    assert len([item async for item in client.list_dossier_requests(dossier.id, limit=25)]) == 3


def test_every_exchange_fits_the_spec(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests and answers of a full scenario, each validated against the OpenAPI spec."""
    monkeypatch.setattr(sandbox.issuer, "activation_delay", 0.2)  # a READY request is read too
    transport = RecordingTransport()

    async def run() -> None:
        async with make_client(sandbox, transport=transport) as client:
            await scenario(sandbox, client)

    asyncio.run(run())
    exchanges = transport.api_exchanges()
    seen = {(q.method, r.status_code) for q, r in exchanges}
    assert {
        ("PUT", 200),
        ("PUT", 422),
        ("PUT", 400),
        ("PUT", 404),
        ("PUT", 204),
        ("POST", 201),
    } <= seen
    assert ("POST", "/api/v1/sign/validate-document") in {
        (q.method, q.url.path) for q, _ in exchanges
    }
    for request, response in exchanges:
        if not request.url.path.endswith("/validate-document"):
            # openapi-core reads each multipart part as a list of values ([[...]] for the JSON
            # part), so our multipart request cannot be checked by it; its answer is, and the
            # sandbox's tests check the parts the way the service reads them
            validate_request(request)
        validate_response(request, response)


def test_paging_and_gateway_errors_fit_the_spec(sandbox: Sandbox) -> None:
    """The list's continuation token, APIM's 401 and validate-document's multipart fit too."""
    transport = RecordingTransport()
    key = sandbox.issuer.keys["sandbox-key"]
    dossier = sandbox.issuer.create_dossier(key, DEMO_DOSSIER)
    signer = sandbox.issuer.get_signer(key, {"fiscal_code": fiscal_code()})["id"]
    for _ in range(27):
        sandbox.issuer.create_request(key, {"dossier_id": dossier["id"], "signer_id": signer})

    async def run() -> None:
        async with make_client(sandbox, transport=transport) as client:
            items = [item async for item in client.list_dossier_requests(dossier["id"], limit=25)]
            assert len(items) == 27
        async with httpx.AsyncClient(base_url=sandbox.url, transport=transport) as raw:
            await raw.get("/signature-requests/01ARZ3NDEKTSV4RRFFQ69G5FAV")  # no key: 401
            files = {
                "document": ("d.pdf", MINIMAL_PDF, "application/pdf"),
                "signature_fields": ("f.json", b"[]", "application/json"),
            }
            answer = await raw.post(
                "/validate-document",
                files=files,
                headers={"Ocp-Apim-Subscription-Key": "sandbox-key"},
            )
            assert answer.json() == {"is_valid": True}

    asyncio.run(run())
    pages = [q for q, _ in transport.api_exchanges() if q.url.path.endswith("/signature-requests")]
    assert len(pages) == 2
    assert "continuationToken" in str(pages[1].url)
    for request, response in transport.api_exchanges():
        validate_response(request, response)


def test_the_validator_catches_a_departure() -> None:
    """A limit under 25 and a dossier without its id are refused: the checks above can fail."""
    bad_request = httpx.Request(
        "GET", "http://localhost:7071/api/v1/sign/dossiers/D1/signature-requests?limit=10"
    )
    with pytest.raises(OpenAPIError):
        validate_request(bad_request)
    create = httpx.Request("POST", "http://localhost:7071/api/v1/sign/dossiers", json=DEMO_DOSSIER)
    created = httpx.Response(201, json={"title": "no id here"})
    with pytest.raises(OpenAPIError):
        validate_response(create, created)


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="../shared/ is not beside this checkout")
def test_vendored_spec_is_the_reference_copy() -> None:
    """tests/contract holds the spec of ../shared/reference verbatim."""
    assert SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()
