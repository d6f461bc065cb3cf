"""A flow is only ever driven with its own tenant's key: the service answers 404 to another
issuer's request, which would fail the flow for good."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.sandbox_helpers import fiscal_code


@pytest.fixture
def two_issuers() -> Iterator[Sandbox]:
    keys = {"sandbox-key": "issuer-a", "key-b": "issuer-b"}
    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        yield sandbox


def flow_of_b(sandbox: Sandbox, db: str) -> str:
    code = fiscal_code()
    sandbox.issuer.add_citizen(code)
    request_id = sandbox.issuer.create_ready_request("key-b", code)
    store = open_store(db)
    try:
        now = time.time()
        store.create_many([request_id], activation_deadline=now + 120, now=now, tenant="comune-b")
    finally:
        store.close()
    return request_id


def calls_on_flows(sandbox: Sandbox) -> int:
    """The calls the sandbox answered, but the check of the settings a run makes at start."""
    return sum(n for name, n in sandbox.state.calls.items() if name != "getDossier")


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--tenant", "comune-a"],
        ["run"],
        ["notify"],
        ["notify", "--tenant", "comune-a"],
        ["cancel"],
        ["watch", "--max-checks", "1"],
    ],
)
def test_another_tenant_s_flow_is_refused_and_left_as_it_was(
    two_issuers: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    db = str(tmp_path / "flows.sqlite")
    request_id = flow_of_b(two_issuers, db)
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")  # comune-a's key
    monkeypatch.setenv("FIRMAIO_BASE_URL", two_issuers.url)
    before = calls_on_flows(two_issuers)
    out = io.StringIO()
    code = main([*command, request_id, "--db", db, "--json"], out=out)
    assert code == 2
    said = json.loads(out.getvalue())["failure"]["message"]
    assert "belong" in said
    assert request_id in said
    assert calls_on_flows(two_issuers) == before, "an API call was made"
    store = open_store(db)
    try:
        [row] = store.rows([request_id])
    finally:
        store.close()
    assert (row.tenant, row.state, row.seq) == ("comune-b", "READY", 0)


def test_its_own_tenant_drives_it(
    two_issuers: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "flows.sqlite")
    request_id = flow_of_b(two_issuers, db)
    monkeypatch.setenv("FIRMAIO_API_KEY", "key-b")
    monkeypatch.setenv("FIRMAIO_BASE_URL", two_issuers.url)
    out = io.StringIO()
    assert main(["notify", request_id, "--db", db, "--tenant", "comune-b", "--json"], out=out) == 0
    assert json.loads(out.getvalue())["flow"]["state"] == "NOTIFIED"
    assert two_issuers.issuer.messages_sent(request_id) == 1
