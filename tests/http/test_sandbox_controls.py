"""The sandbox's own controls answer a malformed body with 400 and a reason, and change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import fiscal_code, ready_request

FC = "RSSMRA80A01H501U"

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("/__sandbox/citizens", {}, "fiscal_code"),
    ("/__sandbox/citizens", {"fiscal_code": "not a fiscal code"}, "fiscal_code"),
    ("/__sandbox/citizens", {"fiscal_code": FC, "messages_on": "yes"}, "messages_on"),
    ("/__sandbox/citizens", {"fiscal_code": FC, "colour": "red"}, "colour"),
    ("/__sandbox/keys", {}, "key"),
    ("/__sandbox/keys", {"key": "k", "environment": "staging"}, "environment"),
    ("/__sandbox/keys", {"key": "k", "testers": FC}, "testers"),
    ("/__sandbox/faults", {}, "kind"),
    ("/__sandbox/faults", {"kind": "explode"}, "kind"),
    ("/__sandbox/faults", {"kind": "status", "times": 0}, "times"),
    ("/__sandbox/faults", {"kind": "latency", "seconds": -1}, "seconds"),
    ("/__sandbox/faults", {"kind": "status", "status": "500"}, "status"),
    ("/__sandbox/ready-requests", {"fiscal_code": "RSSMRA80A01H501"}, "fiscal_code"),
    ("/__sandbox/ready-requests", {"count": -3}, "count"),
    ("/__sandbox/requests/{id}/close", {}, "status"),
    ("/__sandbox/requests/{id}/close", {"status": "CANCELLED"}, "status"),
]  # fmt: skip


def state_of(sandbox: Sandbox) -> tuple[int, int, int, int]:
    issuer = sandbox.issuer
    return len(issuer.citizens), len(issuer.keys), len(sandbox.state.faults), len(issuer.requests)


@pytest.mark.parametrize(("path", "body", "field"), BAD_BODIES)
def test_a_malformed_control_body_is_refused_naming_the_field(
    sandbox: Sandbox, path: str, body: Any, field: str
) -> None:
    request_id = ready_request(sandbox)
    before = state_of(sandbox)
    with httpx.Client(base_url=sandbox.root) as control:
        answer = control.post(path.format(id=request_id), json=body)
    assert answer.status_code == 400, answer.text
    problems = answer.json()["problems"]
    assert field in {problem["field"] for problem in problems}, problems
    assert state_of(sandbox) == before
    assert FC not in answer.text  # a fiscal code is never echoed back


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b'"text"', b"null"])
@pytest.mark.parametrize("path", ["/__sandbox/citizens", "/__sandbox/faults", "/__sandbox/keys"])
def test_a_body_that_is_not_a_json_object_is_refused(
    sandbox: Sandbox, path: str, raw: bytes
) -> None:
    before = state_of(sandbox)
    with httpx.Client(base_url=sandbox.root) as control:
        answer = control.post(path, content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert "the body" in answer.json()["error"]
    assert state_of(sandbox) == before


def test_good_bodies_still_work(sandbox: Sandbox) -> None:
    code = fiscal_code()
    with httpx.Client(base_url=sandbox.root) as control:
        citizen = {"fiscal_code": code, "messages_on": False}
        assert control.post("/__sandbox/citizens", json=citizen).status_code == 204
        key = {"key": "controls-key", "environment": "test", "testers": [code]}
        assert control.post("/__sandbox/keys", json=key).status_code == 204
        made = control.post("/__sandbox/ready-requests", json={"count": 2})
        fault = {"operation": "getSignatureRequest", "kind": "latency", "seconds": 0.01}
        assert control.post("/__sandbox/faults", json=fault).status_code == 204
        assert control.delete("/__sandbox/faults").status_code == 204
    assert not sandbox.issuer.citizen(code).messages_on
    assert sandbox.issuer.keys["controls-key"].environment == "test"
    assert len(made.json()["ids"]) == 2


def test_a_ready_request_for_a_chosen_citizen_over_http(sandbox: Sandbox) -> None:
    """A newcomer without the in-process sandbox makes a READY request for the fiscal code they
    choose, over HTTP, and notifies it: the message goes to that citizen."""
    code = fiscal_code()
    with httpx.Client(base_url=sandbox.root) as control:
        made = control.post("/__sandbox/ready-requests", json={"fiscal_code": code})
    assert made.status_code == 200, made.text
    [request_id] = made.json()["ids"]
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    assert sandbox.issuer.requests[request_id].signer_id == signer["id"]
    assert sandbox.issuer.requests[request_id].status == "READY"


def test_the_requests_listing_counts_each_requests_uploads_and_messages(
    sandbox: Sandbox,
) -> None:
    """``GET /__sandbox/requests``: each request with its signer id (not the fiscal code), its
    uploads stored and its messages sent, as the service counted them."""
    code = fiscal_code()
    request_id = ready_request(sandbox)
    signer = sandbox.issuer.get_signer(sandbox.issuer.keys["sandbox-key"], {"fiscal_code": code})
    notified = sandbox.issuer.create_ready_request("sandbox-key", code)
    with httpx.Client(base_url=sandbox.root) as control:
        before = {r["id"]: r for r in control.get("/__sandbox/requests").json()}
        assert control.put(
            f"/api/v1/sign/signature-requests/{notified}/notification",
            headers={"Ocp-Apim-Subscription-Key": "sandbox-key"},
        ).is_success
        listed = control.get("/__sandbox/requests")
    after = {r["id"]: r for r in listed.json()}
    assert set(after) == set(sandbox.issuer.requests)
    assert after[notified]["signer_id"] == signer["id"]
    assert (before[notified]["messages"], after[notified]["messages"]) == (0, 1)
    assert after[request_id]["uploads"] == sandbox.issuer.uploads_received(request_id) == 1
    assert after[notified]["status"] == sandbox.issuer.requests[notified].status
    assert code not in listed.text


def test_the_sandbox_prints_its_key_and_how_to_make_a_ready_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`firmaio sandbox` says, before it serves, the key it accepts (`sandbox-key`, kept when
    `--key` adds another) and the line that makes a READY request for a chosen citizen."""
    import firmaio.adapters.sandbox as sandbox_package
    from firmaio.adapters.cli import main

    served: list[dict[str, Any]] = []
    monkeypatch.setattr(sandbox_package, "serve", lambda *_a, **kw: served.append(kw))
    assert main(["sandbox", "--port", "7399", "--key", "other:issuer-2"]) == 0
    said = capsys.readouterr().out
    assert (
        "export FIRMAIO_API_KEY=sandbox-key FIRMAIO_BASE_URL=http://127.0.0.1:7399/api/v1/sign"
        in said
    )
    assert 'http://127.0.0.1:7399/__sandbox/ready-requests -d \'{"fiscal_code"' in said
    assert served[0]["keys"] == {"sandbox-key": "sandbox-issuer", "other": "issuer-2"}
