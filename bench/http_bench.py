"""Benchmarks over real HTTP: the sandbox in its own process, flows driven from this one."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store

KEY = "sandbox-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def sandbox_process(
    *, activation_delay: float, rate_calls: int, keys: Sequence[str] = ()
) -> Iterator[str]:
    """``firmaio sandbox`` in a child process (with ``keys`` beside its own, ``KEY:ISSUER``);
    yields its root URL."""
    port = _free_port()
    child = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmaio.adapters.cli", "sandbox", "--port", str(port)),
            *("--activation-delay", str(activation_delay), "--rate-calls", str(rate_calls)),
            *(option for key in keys for option in ("--key", key)),
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


def dossier_of_ready_requests(root: str, count: int) -> tuple[str, list[str]]:
    """``count`` READY requests in one new dossier of the sandbox."""
    answer = httpx.post(f"{root}/__sandbox/ready-requests", json={"count": count}, timeout=120)
    answer.raise_for_status()
    body = answer.json()
    return body["dossier_id"], body["ids"]


def _stats(root: str) -> dict[str, object]:
    stats: dict[str, object] = httpx.get(f"{root}/__sandbox/stats").json()
    return stats


def calls_made(root: str) -> int:
    """API calls the sandbox's gateway let through so far."""
    calls = _stats(root)["calls"]
    assert isinstance(calls, dict)
    return sum(calls.values())


async def _drive(
    root: str,
    ids: list[str],
    *,
    concurrency: int,
    limit: SlidingWindow | None = None,
    dossier: str | None = None,
) -> float:
    """Drive ``ids`` to rest with a SQLite store; every flow must end NOTIFIED. Seconds taken."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_async_store(str(Path(tmp) / "flows.sqlite"))
        try:
            settings = Settings(base_url=f"{root}/api/v1/sign", concurrency=concurrency)
            factory = Factory(settings, SystemClock(), store)
            async with factory.client(KEY, rate_limit=limit) as client:
                reader = factory.status_reader(client, dossier)
                batch = factory.batch(client, ids, status_reader=reader)
                started = time.perf_counter()
                report = await batch.run()
                elapsed = time.perf_counter() - started
        finally:
            await store.close()
    assert report.counts == {"NOTIFIED": len(ids)}, report.counts
    return elapsed


def unlimited() -> SlidingWindow:
    return SlidingWindow(10**9, 1.0)


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


@dataclass
class Throughput:
    """Target 5's figures: flows per second, and this process's CPU per flow, for both sides."""

    ours: float
    plain: float
    ours_cpu: float
    plain_cpu: float


def _timed(run: Coroutine[Any, Any, float]) -> tuple[float, float]:
    """(seconds, CPU seconds of this process) of one run; the sandbox's own CPU is not counted."""
    cpu = time.process_time()
    elapsed = asyncio.run(run)
    return elapsed, time.process_time() - cpu


def throughput(n: int = 300, concurrency: int = 20, rounds: int = 5) -> Throughput:
    """Target 5: flows per second, ours (SQLite store) and a plain httpx script; best of rounds.

    The requests are activated before either side starts, so both make the same two calls per
    flow: one read, one notification. Both sides' clients are CPU-bound on these cores, so the
    CPU per flow says where the difference goes.
    """
    best = Throughput(0.0, 0.0, float("inf"), float("inf"))
    with sandbox_process(activation_delay=0, rate_calls=10**9) as root:
        for _ in range(rounds):
            _, ids = dossier_of_ready_requests(root, n)
            elapsed, cpu = _timed(_plain(root, ids, concurrency))
            best.plain = max(best.plain, n / elapsed)
            best.plain_cpu = min(best.plain_cpu, cpu / n)
            _, ids = dossier_of_ready_requests(root, n)
            elapsed, cpu = _timed(_drive(root, ids, concurrency=concurrency, limit=unlimited()))
            best.ours = max(best.ours, n / elapsed)
            best.ours_cpu = min(best.ours_cpu, cpu / n)
    return best


def calls_per_flow(n: int = 300) -> float:
    """Target 3: API calls per flow, notifying ``n`` flows of one dossier from READY."""
    with sandbox_process(activation_delay=3.0, rate_calls=10**9) as root:
        dossier, ids = dossier_of_ready_requests(root, n)
        before = calls_made(root)
        asyncio.run(_drive(root, ids, concurrency=n, limit=unlimited(), dossier=dossier))
        return (calls_made(root) - before) / n


def at_the_limit(rate: int = 1500, n: int = 3000) -> tuple[float, float, int]:
    """Target 4: (seconds, floor, 429s) for ``n`` flows under ``rate`` calls per 5 s.

    The requests are activated before the run starts, so the floor is set by the calls alone:
    ``rate`` calls at once, then ``rate`` more every 5 s.
    """
    with sandbox_process(activation_delay=0.5, rate_calls=rate) as root:
        dossier, ids = dossier_of_ready_requests(root, n)
        time.sleep(1.0)
        before, throttled_before = calls_made(root), _stats(root)["throttled"]
        window = SlidingWindow(rate, 5.0)  # the client's own rule, no margin added
        elapsed = asyncio.run(_drive(root, ids, concurrency=n, limit=window, dossier=dossier))
        calls = calls_made(root) - before
        throttled = _stats(root)["throttled"]
        assert isinstance(throttled, int)
        assert isinstance(throttled_before, int)
        floor = ((calls - 1) // rate) * 5.0
        return elapsed, floor, throttled - throttled_before


def reaction(n: int = 100) -> tuple[list[float], float]:
    """Target 6: seconds from WAIT_FOR_SIGNATURE to the message (default polling, real clock),
    and the API calls per flow it took, statuses read through the dossier listing."""
    with sandbox_process(activation_delay=3.0, rate_calls=150) as root:
        dossier, ids = dossier_of_ready_requests(root, n)
        before = calls_made(root)
        asyncio.run(_drive(root, ids, concurrency=n, dossier=dossier))
        calls = (calls_made(root) - before) / n
        delays = []
        for request_id in ids:
            seen = httpx.get(f"{root}/__sandbox/messages/{request_id}").json()
            assert len(seen["sent_at"]) == 1
            delays.append(seen["sent_at"][0] - seen["activated_at"])
    return delays, calls


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


if __name__ == "__main__":  # a quick look: python -m bench.http_bench
    from bench.run import discard_logs

    discard_logs()
    print("calls per flow:", calls_per_flow(100))
    print("at the limit (seconds, floor, 429s):", at_the_limit(300, 600))
    delays, calls = reaction()
    print("reaction p95, calls per flow:", p95(delays), calls)
