"""Benchmarks over real HTTP: the sandbox in its own process, flows driven from this one."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from adapters.client import IssuerClient
from adapters.clock import SystemClock
from adapters.ratelimit import SlidingWindow
from adapters.runner import BatchRun
from adapters.store import SqliteStore

KEY = "sandbox-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def sandbox_process(*, activation_delay: float, rate_calls: int) -> Iterator[str]:
    """``firmaio sandbox`` in a child process; yields its root URL."""
    port = _free_port()
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "adapters.cli", "sandbox", "--port", str(port)),
            *("--activation-delay", str(activation_delay), "--rate-calls", str(rate_calls)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{root}/__sandbox/stats", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield root
    finally:
        child.terminate()
        child.wait(timeout=10)


def ready_requests(root: str, count: int) -> list[str]:
    answer = httpx.post(f"{root}/__sandbox/ready-requests", json={"count": count}, timeout=60)
    answer.raise_for_status()
    ids: list[str] = answer.json()["ids"]
    return ids


async def _drive(root: str, ids: list[str], concurrency: int, unlimited: bool) -> float:
    limit = SlidingWindow(10**9, 1.0) if unlimited else None
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "flows.sqlite"))
        try:
            async with IssuerClient(
                KEY, base_url=f"{root}/api/v1/sign", rate_limit=limit
            ) as client:
                started = time.perf_counter()
                report = await BatchRun(
                    store, client, SystemClock(), ids, concurrency=concurrency
                ).run()
                elapsed = time.perf_counter() - started
        finally:
            store.close()
    assert report.counts == {"NOTIFIED": len(ids)}, report.counts
    return elapsed


async def _plain(root: str, ids: list[str], concurrency: int) -> float:
    """The same calls, by hand: read each request, then notify it. No engine, no store."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for request_id in ids:
        queue.put_nowait(request_id)
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    async with httpx.AsyncClient(base_url=f"{root}/api/v1/sign", headers=headers) as http:

        async def worker() -> None:
            while not queue.empty():
                request_id = queue.get_nowait()
                view = (await http.get(f"/signature-requests/{request_id}")).json()
                assert view["status"] == "WAIT_FOR_SIGNATURE"
                sent = await http.put(f"/signature-requests/{request_id}/notification")
                assert sent.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def throughput(n: int = 300, concurrency: int = 20, rounds: int = 3) -> tuple[float, float]:
    """Target 5: flows per second, ours (SQLite store) and a plain httpx script; best of rounds."""
    ours, plain = 0.0, 0.0
    with sandbox_process(activation_delay=0, rate_calls=10**9) as root:
        for _ in range(rounds):
            ids = ready_requests(root, n)
            plain = max(plain, n / asyncio.run(_plain(root, ids, concurrency)))
            ids = ready_requests(root, n)
            ours = max(ours, n / asyncio.run(_drive(root, ids, concurrency, unlimited=True)))
    return ours, plain


def reaction(n: int = 20) -> tuple[list[float], float]:
    """Target 6: seconds from WAIT_FOR_SIGNATURE to the message (default polling, real clock),
    and the API calls per flow it took."""
    with sandbox_process(activation_delay=3.0, rate_calls=150) as root:
        ids = ready_requests(root, n)
        asyncio.run(_drive(root, ids, concurrency=n, unlimited=False))
        delays = []
        for request_id in ids:
            seen = httpx.get(f"{root}/__sandbox/messages/{request_id}").json()
            assert len(seen["sent_at"]) == 1
            delays.append(seen["sent_at"][0] - seen["activated_at"])
        calls = httpx.get(f"{root}/__sandbox/stats").json()["calls"]
    return delays, sum(calls.values()) / n


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


if __name__ == "__main__":  # quick look: python -m bench.http_bench
    from bench.run import discard_logs

    discard_logs()
    print("throughput ours/plain flows/s:", throughput(n=100, rounds=1))
    print("reaction p95, calls per flow:", p95(reaction()[0]))
