"""``POST /__sandbox/seed``: the sandbox holds again the requests an earlier run left, with their
ids, so a store that run wrote is driven on; a seed that does not fit changes nothing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from tests.sandbox_helpers import fiscal_code

_serial = itertools.count(1)


def ids() -> tuple[str, str, str]:
    """A dossier's, a request's and a document's id no other test uses."""
    n = next(_serial)
    return f"01SEEDD{n:019d}", f"01SEEDR{n:019d}", f"01SEEDC{n:019d}"


@pytest.fixture
def controls(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.root) as client:
        yield client


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Ocp-Apim-Subscription-Key": "sandbox-key"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        yield client


def world(status: str = "WAIT_FOR_SIGNATURE", **request: object) -> tuple[dict[str, object], str]:
    dossier, request_id, document = ids()
    code = fiscal_code("X")
    return {
        "citizens": [{"fiscal_code": code, "messages_on": False}],
        "dossiers": [{"id": dossier, **DEMO_DOSSIER}],
        "requests": [
            {
                "id": request_id, "dossier_id": dossier, "fiscal_code": code, "status": status,
                "documents": [{"id": document, "status": "READY"}],
                "created_at": "2027-01-13T08:00:00.000Z", "expires_at": "2027-04-13T08:00:00.123Z",
                **request,
            }
        ],
    }, request_id  # fmt: skip


def test_a_seeded_request_is_served_with_its_ids_status_and_message(
    controls: httpx.Client, api: httpx.Client, sandbox: Sandbox
) -> None:
    seed, request_id = world(io_message_id="01SEEDMESSAGE0000000000001")
    assert controls.post("/__sandbox/seed", json=seed).status_code == 204
    view = api.get(f"/signature-requests/{request_id}").json()
    assert view["status"] == "WAIT_FOR_SIGNATURE"
    assert view["dossier_id"] == seed["dossiers"][0]["id"]  # type: ignore[index]
    assert view["expires_at"] == "2027-04-13T08:00:00.123Z"
    assert view["notification"] == {"io_message_id": "01SEEDMESSAGE0000000000001"}
    assert "qr_code_url" in view
    assert sandbox.issuer.messages_sent(request_id) == 1  # the message sent before
    listed = api.get(f"/dossiers/{view['dossier_id']}/signature-requests").json()["items"]
    assert [item["id"] for item in listed] == [request_id]


def test_a_seeded_citizen_s_refusal_and_a_seeded_ready_request_s_activation(
    controls: httpx.Client, api: httpx.Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox.issuer, "activation_delay", 60.0)  # READY when first read
    seed, request_id = world("READY")
    assert controls.post("/__sandbox/seed", json=seed).status_code == 204
    assert api.get(f"/signature-requests/{request_id}").json()["status"] == "READY"
    seed, waiting = world()
    assert controls.post("/__sandbox/seed", json=seed).status_code == 204
    refused = api.put(f"/signature-requests/{waiting}/notification")
    assert (refused.status_code, refused.json()["detail"]) == (
        400,
        "It is not allowed to send a message to this user.",
    )


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"status": "FORGOTTEN"}, 400, "requests.0.status"),
        ({"documents": []}, 400, "requests.0.documents"),
        ({"status": "READY", "documents": [{"id": "01X", "status": "WAIT_FOR_UPLOAD"}]}, 400,
         "only a DRAFT may have documents not READY"),
        ({"dossier_id": "01NOSUCHDOSSIER"}, 400, "no dossier 01NOSUCHDOSSIER"),
        ({"key": "no-such-key"}, 401, "valid API key"),
    ],
)  # fmt: skip
def test_a_seed_that_does_not_fit_is_refused_and_changes_nothing(
    controls: httpx.Client, sandbox: Sandbox, change: dict[str, object], status: int, said: str
) -> None:
    seed, request_id = world()
    seed["requests"][0].update(change)  # type: ignore[index]
    dossiers = len(sandbox.issuer.dossiers)
    refused = controls.post("/__sandbox/seed", json=seed)
    assert refused.status_code == status
    assert said in refused.text
    assert request_id not in sandbox.issuer.requests
    assert len(sandbox.issuer.dossiers) == dossiers


def test_an_id_held_already_is_refused(controls: httpx.Client, sandbox: Sandbox) -> None:
    seed, request_id = world()
    assert controls.post("/__sandbox/seed", json=seed).status_code == 204
    again = controls.post("/__sandbox/seed", json=seed)
    assert again.status_code == 409
    assert request_id in again.text
