"""On a PostgreSQL store, a flow another process is on is left alone: no call, no record, exit 5
(the race's code) once ``--lock-wait`` has passed; a command takes the lock before it loads the
flow, waiting out another process's short visit; once it is free, the command drives it."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time

import psycopg
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.client import IssuerClient
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_async_store
from firmaio.fsm import DurableDriver
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
        argv = ["notify", request_id, "--db", postgres_url, "--lock-wait", "0.3", "--json"]
        started = time.monotonic()
        assert main(argv, out=out) == 5
        assert 0.3 <= time.monotonic() - started < 5
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
    assert json.loads(out.getvalue())["flow"]["state"] == "NOTIFIED"
    assert sandbox.issuer.messages_sent(request_id) == 1


def test_a_command_waits_for_another_process_s_short_visit_before_it_loads(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's visit holds the lock for a moment: the command waits for it, then loads the
    flow as that visit left it (NOTIFIED by the other process), and calls nothing twice. (A
    command that loaded first would drive a READY flow that is no longer READY.)"""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    request_id = ready_request(sandbox)
    lock = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
    taken, release = threading.Event(), threading.Event()

    def visit() -> None:  # another process: on the flow, it drives it to rest, then lets go
        async def drive() -> None:
            store = open_async_store(postgres_url)
            try:
                async with IssuerClient("sandbox-key", base_url=sandbox.url) as client:
                    driver = DurableDriver(client, SystemClock(), store)
                    await driver.advance(await driver.open(request_id))
            finally:
                await store.close()

        with psycopg.connect(postgres_url, autocommit=True) as other:
            other.execute(lock, (f"firmaio_flow:{request_id}",))
            taken.set()
            asyncio.run(drive())
            release.wait(10)

    worker = threading.Thread(target=visit)
    worker.start()
    taken.wait(10)
    threading.Timer(1.0, release.set).start()
    out = io.StringIO()
    code = main(["notify", request_id, "--db", postgres_url, "--json"], out=out)
    worker.join(10)
    assert code == 0, out.getvalue()
    shown = json.loads(out.getvalue())
    assert shown["flow"]["state"] == "NOTIFIED"
    assert [r["trigger"] for r in shown["flow"]["records"]].count("notify") == 1
    assert sandbox.issuer.messages_sent(request_id) == 1
