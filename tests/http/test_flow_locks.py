"""On a PostgreSQL store, a flow another process is on is left alone: no call, no record, exit 5
(the race's code); once it is free, the command drives it."""

from __future__ import annotations

import io
import json

import psycopg
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.sandbox_helpers import ready_request


def test_a_flow_locked_by_another_process_is_left_alone(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    request_id = ready_request(sandbox)
    lock = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
    with psycopg.connect(postgres_url, autocommit=True) as other:  # another process, on it
        other.execute(lock, (f"firmaio_flow:{request_id}",))
        before = sum(sandbox.state.calls.values())
        out = io.StringIO()
        assert main(["notify", request_id, "--db", postgres_url, "--json"], out=out) == 5
        answer = json.loads(out.getvalue())
        assert "being driven by another process" in answer["failure"]["message"]
        assert sum(sandbox.state.calls.values()) == before
        assert sandbox.issuer.messages_sent(request_id) == 0
        out = io.StringIO()
        assert main(["run", request_id, "--db", postgres_url, "--json"], out=out) == 0
        assert json.loads(out.getvalue())["conflicts"] == 1
        assert sandbox.issuer.messages_sent(request_id) == 0
    out = io.StringIO()  # the other process let go: this one drives it
    assert main(["notify", request_id, "--db", postgres_url, "--json"], out=out) == 0
    assert json.loads(out.getvalue())["state"] == "NOTIFIED"
    assert sandbox.issuer.messages_sent(request_id) == 1
