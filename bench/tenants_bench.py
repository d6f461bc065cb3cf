"""Target 11: a thousand tenants on bounded connections (issue #27 item 4).

The same 10,000 flows run twice on ``workers`` ``firmaio worker`` processes against the sandbox
(its own process, every key at 150 calls per 5 s): once as 1,000 tenants of 10 flows, each its
own key, once as 10 tenants of 1,000. Each run prints its time, the workers' CPU per flow (and
the PostgreSQL backends' serving them, found by their ``application_name``; a backend that ended
mid-run is missed), the most PostgreSQL connections the workers held at once (sampled from
``pg_stat_activity``) and the 429s; then one worker with the 1,000 tenants idles and its CPU is
measured. Printed, not asserted: what the targets say is in ``bench/run.py``'s line.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.http_bench import sandbox_process
from bench.queue_bench import RATE, CpuMeter, _backends, _scalar, _wait, postgres_schema

APP_NAME = "firmaio-bench-worker"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    tenants: int
    flows: int
    workers: int
    elapsed: float
    cpu: float
    """The workers' CPU seconds over the run (user and system)."""
    peak: int
    """The most connections the workers held at once."""
    throttled: int
    postgres_cpu: float | None = None
    """The CPU seconds of the PostgreSQL backends serving the workers (None: not readable)."""


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class _Peak:
    """Samples the workers' connections every 0.2 s in a thread."""

    def __init__(self, dsn: str) -> None:
        self.dsn, self.most = dsn, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._done.wait(0.2):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (APP_NAME,),
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.most


async def _enqueue(dsn: str, ids: dict[str, list[str]]) -> None:
    """Register and queue every tenant's flows (what ``firmaio enqueue`` does, in one process)."""
    from firmaio.adapters.queue.jobs import defer, install_schema, queue_app
    from firmaio.adapters.store import open_async_store

    await install_schema(dsn)
    store = open_async_store(dsn)
    app = queue_app(dsn)
    now = time.time()
    try:
        async with app.open_async():
            for tenant, tenant_ids in ids.items():
                await store.create_many(
                    tenant_ids, activation_deadline=now + 600, now=now, tenant=tenant
                )
                await defer(app, tenant_ids, tenant=tenant)
    finally:
        await store.close()


def _setup(
    root: str, tmp: str, tenants: int, per_tenant: int
) -> tuple[Path, dict[str, str], dict[str, list[str]]]:
    """The tenants file, the keys' environment and each tenant's READY requests."""
    path = Path(tmp) / "tenants.toml"
    path.write_text("".join(f'[t{n}]\nkey_env = "BENCH_KEY_{n}"\n' for n in range(tenants)))
    env = {f"BENCH_KEY_{n}": f"bench-key-{n}" for n in range(tenants)}
    ids: dict[str, list[str]] = {}
    for n in range(tenants if per_tenant else 0):
        made = httpx.post(
            f"{root}/__sandbox/ready-requests",
            json={"count": per_tenant, "key": f"bench-key-{n}"},
            timeout=300,
        )
        made.raise_for_status()
        ids[f"t{n}"] = made.json()["ids"]
    return path, env, ids


def _workers(
    dsn: str, root: str, path: Path, env: dict[str, str], count: int
) -> list[subprocess.Popen[bytes]]:
    argv = [
        sys.executable,
        "-m",
        "firmaio.adapters.cli",
        "worker",
        "--db",
        f"{dsn}&application_name={APP_NAME}",
    ]
    environ = {**os.environ, "FIRMAIO_BASE_URL": f"{root}/api/v1/sign", **env}
    return [
        subprocess.Popen(
            [*argv, "--tenants", str(path), "--concurrency", "100"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait(timeout=120)


def run(tenants: int, per_tenant: int, workers: int = 3) -> Run:
    """``tenants`` tenants (a key each) of ``per_tenant`` flows on ``workers`` workers."""
    keys = [f"bench-key-{n}:issuer-{n}" for n in range(tenants)]
    flows = tenants * per_tenant
    with (
        postgres_schema() as dsn,
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(activation_delay=0, rate_calls=RATE, keys=keys) as root,
    ):
        path, env, ids = _setup(root, tmp, tenants, per_tenant)
        children = _workers(dsn, root, path, env, workers)
        peak = _Peak(dsn)
        try:
            _wait(dsn, "SELECT count(*) FROM procrastinate_workers", workers, 600)
            before_cpu = sum(_cpu(child.pid) for child in children)
            postgres = CpuMeter()
            postgres.start(_backends(dsn, APP_NAME))
            before = httpx.get(f"{root}/__sandbox/stats").json()
            started = time.perf_counter()
            asyncio.run(_enqueue(dsn, ids))
            resting = "SELECT count(*) FROM flows WHERE state = 'NOTIFIED' AND intent IS NULL"
            _wait(dsn, resting, flows, 3600)
            elapsed = time.perf_counter() - started
            cpu = sum(_cpu(child.pid) for child in children) - before_cpu
            postgres_cpu = postgres.stop(_backends(dsn, APP_NAME))
            after = httpx.get(f"{root}/__sandbox/stats").json()
        finally:
            most = peak.stop()
            _stop(children)
    throttled = after["throttled"] - before["throttled"]
    return Run(tenants, flows, workers, elapsed, cpu, most, throttled, postgres_cpu)


def idle(tenants: int = 1000, seconds: float = 20.0) -> tuple[float, int]:
    """One worker with ``tenants`` tenants and nothing to do: its CPU (% of a core) over
    ``seconds``, once it has started, and the connections it holds."""
    keys = [f"bench-key-{n}:issuer-{n}" for n in range(tenants)]
    with (
        postgres_schema() as dsn,
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(activation_delay=0, rate_calls=RATE, keys=keys) as root,
    ):
        path, env, _ = _setup(root, tmp, tenants, 0)
        (child,) = _workers(dsn, root, path, env, 1)
        try:
            _wait(dsn, "SELECT count(*) FROM procrastinate_workers", 1, 600)
            time.sleep(5.0)  # its start's work done (the pool's connections made, the first jobs)
            before = _cpu(child.pid)
            time.sleep(seconds)
            used = _cpu(child.pid) - before
            held = _scalar(
                dsn, f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APP_NAME}'"
            )
        finally:
            _stop([child])
    return 100 * used / seconds, held
