"""The sandbox answers like the real service, departures from the spec included, over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import DEMO_DOSSIER, MINIMAL_PDF, Sandbox
from firmaio.fsm import Driver, Outcome, PollingPolicy, State
from firmaio.fsm.testing import ManualClock
from tests.conftest import make_client
from tests.sandbox_helpers import fault, fiscal_code, ready_request


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Ocp-Apim-Subscription-Key": "sandbox-key"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        yield client


def draft(http: httpx.Client, upload: bytes | None = MINIMAL_PDF) -> dict[str, object]:
    dossier = http.post("/dossiers", json=DEMO_DOSSIER).json()
    signer = http.post("/signers", json={"fiscal_code": fiscal_code()}).json()["id"]
    request = http.post(
        "/signature-requests", json={"dossier_id": dossier["id"], "signer_id": signer}
    ).json()
    if upload is not None:
        for document in request["documents"]:
            url = http.get(
                f"/signature-requests/{request['id']}/documents/{document['id']}/upload_url"
            ).json()
            assert (
                httpx.put(url, content=upload, headers={"x-ms-blob-type": "BlockBlob"}).status_code
                == 201
            )
    return request  # type: ignore[no-any-return]


def problem(response: httpx.Response) -> tuple[int, str | None]:
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, response.json().get("detail")


@pytest.fixture
def stays_ready(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """A READY request stays READY for the test (the session's sandbox activates at once)."""
    monkeypatch.setattr(sandbox.issuer, "activation_delay", 60.0)


@pytest.mark.usefixtures("stays_ready")
def test_status_texts_of_the_service(http: httpx.Client) -> None:
    """PUT .../status answers 400 with the service's texts (API-NOTES §2.3); bare READY works."""
    fresh = draft(http, upload=None)
    status = f"/signature-requests/{fresh['id']}/status"
    assert problem(http.put(status, json="READY")) == (
        400,
        "MARK_AS_READY is not possible unless all documents are READY",
    )
    assert problem(http.put(status, json="CANCELLED")) == (
        400,
        "MARK_AS_CANCELLED is prohibited if the signature request is in DRAFT status",
    )
    ready = draft(http)
    status = f"/signature-requests/{ready['id']}/status"
    assert http.put(status, content=b"READY").status_code == 204  # bare text, as the service allows
    assert problem(http.put(status, json="READY")) == (
        400,
        "Signature Request is already in READY status",
    )
    invalid = http.put(status, json="SIGNED")
    assert invalid.status_code == 422
    assert invalid.json()["type"] == "/problem/validation-error"


def test_departures_from_the_spec(http: httpx.Client) -> None:
    """200 for signers; 422 for a limit outside 25..100; 400 for a past expiry date."""
    assert http.post("/signers", json={"fiscal_code": fiscal_code()}).status_code == 200
    request = draft(http)
    listing = http.get(
        f"/dossiers/{request['dossier_id']}/signature-requests", params={"limit": 10}
    )
    assert listing.status_code == 422
    past = {
        "dossier_id": request["dossier_id"],
        "signer_id": "s",
        "expires_at": "2000-01-01T00:00:00Z",
    }
    assert problem(http.post("/signature-requests", json=past)) == (400, "Invalid expire date.")


@pytest.mark.usefixtures("stays_ready")
def test_upload_rules(http: httpx.Client, sandbox: Sandbox) -> None:
    """A non-PDF is rejected by the validation; no upload URL once the request left DRAFT."""
    request = draft(http, upload=b"not a pdf")
    view = http.get(f"/signature-requests/{request['id']}").json()
    [document] = view["documents"]
    assert document["status"] == "REJECTED"
    assert "invalid file signature (not a valid PDF)" in document["reject_reason"]
    ready = draft(http)
    http.put(f"/signature-requests/{ready['id']}/status", json="READY")
    doc_id = ready["documents"][0]["id"]  # type: ignore[index]
    assert problem(
        http.get(f"/signature-requests/{ready['id']}/documents/{doc_id}/upload_url")
    ) == (
        400,
        "Unable to get the Upload Url. The Signature Request is in READY status",
    )


def test_controls_over_http(http: httpx.Client, sandbox: Sandbox) -> None:
    """Declare a citizen, inject a fault, close a request, count messages, read stats."""
    code = fiscal_code()
    with httpx.Client(base_url=sandbox.root) as control:
        assert (
            control.post(
                "/__sandbox/citizens", json={"fiscal_code": code, "push_on": False}
            ).status_code
            == 204
        )
        request_id = sandbox.issuer.create_ready_request("sandbox-key", code)
        assert not sandbox.issuer.citizen(code).push_on
        fault = {"operation": "sendNotification", "kind": "status", "status": 503}
        assert control.post("/__sandbox/faults", json=fault).status_code == 204
        assert control.post("/__sandbox/faults", json={"kind": "explode"}).status_code == 400
        sandbox.issuer.activation_delay, saved = 0, sandbox.issuer.activation_delay
        try:
            notify = f"/signature-requests/{request_id}/notification"
            assert http.put(notify).status_code == 503
            assert http.put(notify).status_code == 200
        finally:
            sandbox.issuer.activation_delay = saved
        sent = control.get(f"/__sandbox/messages/{request_id}").json()
        assert len(sent["messages"]) == 1
        closed = control.post(f"/__sandbox/requests/{request_id}/close", json={"status": "SIGNED"})
        assert closed.status_code == 204
        stats = control.get("/__sandbox/stats").json()
        assert control.get("/__sandbox/timeline").json() == {"calls": {}}  # not kept by default
        assert control.post("/__sandbox/timeline").json() == {"calls": {}}
        before = time.time()
        http.get(f"/signature-requests/{request_id}")
        [(issuer, [at])] = control.get("/__sandbox/timeline").json()["calls"].items()
    assert issuer == sandbox.issuer.keys["sandbox-key"].issuer_id
    assert before <= at <= time.time()
    assert http.get(f"/signature-requests/{request_id}").json()["status"] == "SIGNED"
    assert stats["calls"]["sendNotification"] >= 2


def test_notification_422_when_not_notifiable_keeps_the_flow_waiting(sandbox: Sandbox) -> None:
    """A 422 while the request reads WAIT_FOR_SIGNATURE, not notified: refused, nothing sent."""
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", "status", status=422)

    async def run() -> None:
        async with make_client(sandbox) as client:
            driver = Driver(client, SystemClock())
            flow = driver.new_flow(request_id)
            assert await driver.advance(flow) is State.WAIT_FOR_SIGNATURE
            assert flow.history[-1].outcome is Outcome.REFUSED
            assert await driver.advance(flow) is State.NOTIFIED  # the next attempt goes through

    asyncio.run(run())
    assert sandbox.issuer.messages_sent(request_id) == 1


def test_the_in_process_sandbox_runs_on_the_tests_clock(
    firmaio_asgi_sandbox: AsgiSandbox, clock: ManualClock
) -> None:
    """``use_clock``: the request is made at the clock's time and activates only once the clock
    has moved past the activation delay; a driver on that clock polls once, sleeping for it."""
    firmaio_asgi_sandbox.use_clock(clock)
    request_id = ready_request(firmaio_asgi_sandbox)
    made = firmaio_asgi_sandbox.issuer.requests[request_id].created_at
    assert made.timestamp() == clock.now()

    async def status() -> str | None:
        async with firmaio_asgi_sandbox.client() as client:
            return (await client.get_request(request_id)).status

    assert asyncio.run(status()) == "READY"
    clock.advance(firmaio_asgi_sandbox.issuer.activation_delay)
    assert asyncio.run(status()) == "WAIT_FOR_SIGNATURE"

    later = ready_request(firmaio_asgi_sandbox)

    async def drive() -> State:
        async with firmaio_asgi_sandbox.client() as client:
            driver = Driver(client, clock)
            return await driver.advance(driver.new_flow(later))

    clock.sleeps.clear()
    assert asyncio.run(drive()) is State.NOTIFIED
    # READY once, then activated: the delay passed on the clock, during the driver's first wait
    assert clock.sleeps == [PollingPolicy().first_delay]
