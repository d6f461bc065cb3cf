"""Targets 12 and 13: what the outbox costs a flow, and how fast a backlog of events drains to a
webhook receiver on loopback.

12: target 5's run (300 flows, 20 at a time, SQLite store, the sandbox in its own process) with
the outbox's insert and without it (the store's ``_emit`` replaced, for this benchmark only, by
one that writes no event), interleaved, best of 5 each: the client's CPU per flow.

13: 10,000 pending events (1,000 flows of 10 records) in a SQLite store, delivered by a
:class:`~firmaio.adapters.webhooks.Deliverer` to a receiver in its own process (uvicorn) that
verifies every signature with the ``standardwebhooks`` library: events per second, from the
first pass to the last event's logged attempt.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.http_bench import (
    _drive,
    _free_port,
    _timed,
    dossier_of_ready_requests,
    sandbox_process,
    unlimited,
)

SECRET = "whsec_" + base64.b64encode(b"the bench's webhook secret, 32 B").decode()


@contextmanager
def without_outbox() -> Iterator[None]:
    """Records stored with no event (the bench's baseline; never in the product)."""
    from firmaio.adapters.store.outbox import Outbox

    original = Outbox._emit

    def no_event(self: Any, cur: Any, record: Any, of: Any) -> str | None:
        del self, cur, of
        learnt: str | None = dict(record.facts).get("request_id") if record.facts else None
        return learnt

    Outbox._emit = no_event  # type: ignore[method-assign]
    try:
        yield
    finally:
        Outbox._emit = original  # type: ignore[method-assign]


def outbox_cost(n: int = 300, concurrency: int = 20, rounds: int = 5) -> tuple[float, float]:
    """Target 12: client CPU seconds per flow of target 5's run, with the outbox and without;
    the best of ``rounds`` each, interleaved."""
    with_cpu = without_cpu = float("inf")
    with sandbox_process(activation_delay=0, rate_calls=10**9) as root:
        for _ in range(rounds):
            _, ids = dossier_of_ready_requests(root, n)
            _, cpu = _timed(_drive(root, ids, concurrency=concurrency, limit=unlimited()))
            with_cpu = min(with_cpu, cpu / n)
            _, ids = dossier_of_ready_requests(root, n)
            with without_outbox():
                _, cpu = _timed(_drive(root, ids, concurrency=concurrency, limit=unlimited()))
            without_cpu = min(without_cpu, cpu / n)
    return with_cpu, without_cpu


async def _receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The receiver: verifies each POST's signature, counts the verified ones (GET: the count)."""
    from standardwebhooks import Webhook, WebhookVerificationError

    if scope["type"] != "http":
        return
    state = _receiver_app.__dict__.setdefault("state", {"ok": 0, "bad": 0})
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["method"] == "POST":
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            Webhook(SECRET).verify(body, headers)
            state["ok"] += 1
            status, reply = 204, b""
        except WebhookVerificationError:
            state["bad"] += 1
            status, reply = 401, b""
    else:
        status, reply = 200, json.dumps(state).encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": reply})


@contextmanager
def receiver_process() -> Iterator[str]:
    """The receiver in a child process (uvicorn); yields its URL."""
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.events_bench", "receiver", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/events"
    try:
        for _ in range(200):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)


def _backlog(db: Path, n: int, flows: int) -> None:
    """``n`` pending events, ``n // flows`` per flow, in the store at ``db``."""
    from firmaio.adapters.store import open_store

    open_store(str(db)).close()  # the schema
    rows = []
    for i in range(n):
        flow, seq = f"flow-{i % flows:05d}", i // flows + 1
        body = json.dumps(
            {"specversion": "1.0", "id": f"{flow}/{seq}", "type": "it.pagopa.firmaio.flow.x",
             "source": "urn:firmaio:bench", "subject": flow, "time": "2026-12-06T00:00:00Z",
             "datacontenttype": "application/json", "data": {"seq": seq, "pad": "x" * 400}}
        )  # fmt: skip
        rows.append((f"{flow}/{seq}", flow, seq, None, "it.pagopa.firmaio.flow.x", 0.0, body))
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO events (id, flow_id, seq, tenant, type, time, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def _drain(db: Path, url: str, folder: Path) -> float:
    from firmaio.adapters.clock import SystemClock
    from firmaio.adapters.store import open_async_store
    from firmaio.adapters.webhooks import Deliverer, WebhookTarget

    secret = folder / "webhook.secret"
    secret.touch(mode=0o600)
    secret.write_text(SECRET)
    target = WebhookTarget("default", url, secret_file=secret)
    store = open_async_store(str(db))
    try:
        async with Deliverer(store, [target], clock=SystemClock()) as sender:
            started = time.perf_counter()
            while await sender.drain(budget=3600):
                pass
            return time.perf_counter() - started
    finally:
        await store.close()


def drain_rate(n: int = 10_000, flows: int = 1_000) -> tuple[float, int]:
    """Target 13: events per second delivered from a backlog of ``n``, and how many the
    receiver verified."""
    with tempfile.TemporaryDirectory() as tmp, receiver_process() as url:
        folder = Path(tmp)
        db = folder / "events.sqlite"
        _backlog(db, n, flows)
        elapsed = asyncio.run(_drain(db, url, folder))
        verified = httpx.get(url).json()
        assert verified["bad"] == 0, verified
        return n / elapsed, int(verified["ok"])


if __name__ == "__main__":
    if sys.argv[1:2] == ["receiver"]:
        import uvicorn

        uvicorn.run(_receiver_app, host="127.0.0.1", port=int(sys.argv[2]), log_level="error")
    else:  # a quick look: python -m bench.events_bench
        from bench.run import discard_logs

        discard_logs()
        os.environ.setdefault("PYTHONHASHSEED", "0")
        print("drain (events/s, verified):", drain_rate())
        print("outbox cost (CPU s per flow with, without):", outbox_cost(rounds=2))
