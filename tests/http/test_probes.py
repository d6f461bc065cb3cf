"""Liveness and readiness of serve and workers, over loopback HTTP: ready only while the store
answers and the issuer API answered the last call; live while the event loop beats.

The processes themselves are probed through a cut store in ``tests/process/test_store_restart.py``
(a worker's and serve's ``/readyz`` false while the TCP proxy is cut, true once restored, the
worker's ``/metrics`` scraped)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.client.transport import CallEvent
from firmaio.adapters.health import STALE_AFTER, Health, ProbeServer, probes_url
from firmaio.adapters.observability import Metrics
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store

CLIENT = httpx.Client(timeout=10)
"""One client for every probe here (making one takes a while)."""


def get(server: ProbeServer, path: str) -> tuple[int, dict[str, object] | str]:
    answer = CLIENT.get(f"{probes_url(server)}{path}")
    kind = answer.headers["content-type"]
    return answer.status_code, answer.json() if kind == "application/json" else answer.text


def test_ready_while_the_store_and_the_service_answer(tmp_path: Path, sandbox: Sandbox) -> None:
    db = tmp_path / "flows.sqlite"
    open_store(str(db)).close()
    clock = [100.0]
    health = Health(str(db), now=lambda: clock[0])
    server = ProbeServer(health, None, 0)
    try:
        status, body = get(server, "/readyz")
        assert (status, body) == (
            503, {"ready": False, "store": "ok", "service": "not checked yet"}
        )  # fmt: skip
        client = IssuerClient("sandbox-key", base_url=sandbox.url)
        health.checked(client)
        asyncio.run(client.aclose())  # only its observers are used here
        assert get(server, "/readyz") == (200, {"ready": True, "store": "ok", "service": "ok"})
        health._on_call(CallEvent("GET", "/signature-requests/{id}", None, 10.0))
        assert get(server, "/readyz")[1] == {
            "ready": False, "store": "ok", "service": "unreachable (no answer to the last call)"
        }  # fmt: skip
        health._on_call(CallEvent("GET", "/signature-requests/{id}", 503, 0.1))
        assert "HTTP 503" in str(get(server, "/readyz")[1])
        health._on_call(CallEvent("GET", "/signature-requests/{id}", 429, 0.1))  # it answers
        assert get(server, "/readyz")[0] == 200
        db.rename(tmp_path / "gone.sqlite")
        status, body = get(server, "/readyz")
        assert status == 503
        assert isinstance(body, dict)
        assert str(body["store"]).startswith("unreachable (")
        assert str(tmp_path) not in json.dumps(body)  # no path, host or key in a probe
        assert get(server, "/livez")[0] == 200
        clock[0] += STALE_AFTER + 1  # the event loop stopped beating
        assert get(server, "/livez") == (503, {"live": False, "heartbeat_age_s": STALE_AFTER + 1})
        assert get(server, "/metrics")[0] == 404  # no metrics given
    finally:
        server.close()


def test_metrics_share_the_port_with_the_probes(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")
    open_store(db).close()
    metrics = Metrics()
    metrics.track_store(db)
    server = ProbeServer(Health(db), metrics, 0)
    try:
        status, scraped = get(server, "/metrics")
        assert status == 200
        assert "firmaio_transitions_total" in str(scraped)
    finally:
        server.close()
