"""Target 7: many flows, many keys, many workers: ``firmaio worker`` processes on one PostgreSQL
store, against the sandbox with the gateway's real limit on every key.

The sandbox runs in its own process with ``keys`` keys (one issuer each), 150 calls per 5 s per
key. ``workers`` worker processes start and register; then the flows are queued, one tenant per
key, and the clock runs until every flow rests. The floor is what the limits allow: a key that
must take ``c`` calls needs at least ``(c - 1) // 150`` further windows of 5 s after its first
150, and the slowest key sets the floor. Calls are counted by the sandbox, per issuer.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.http_bench import sandbox_process

POSTGRES_URL = os.environ.get(
    "FIRMAIO_BENCH_POSTGRES",
    os.environ.get("FIRMAIO_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"),
)
RATE, PERIOD = 150, 5.0


@dataclass
class Scale:
    """Target 7's figures."""

    flows: int
    keys: int
    workers: int
    elapsed: float
    floor: float
    calls: dict[str, int]
    throttled: int


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    import psycopg

    schema = f"firmaio_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _scalar(dsn: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        try:
            row = conn.execute(sql).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def _wait(dsn: str, sql: str, wanted: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _scalar(dsn, sql) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {sql!r} to reach {wanted}")
        time.sleep(0.2)


def at_scale(flows: int = 6000, keys: int = 4, workers: int = 3) -> Scale:
    """``flows`` flows across ``keys`` keys on ``workers`` workers (see the module docstring)."""
    from firmaio.adapters.cli import main

    names = [f"bench-key-{n}" for n in range(1, keys + 1)]
    per_key = flows // keys
    with (
        postgres_schema() as dsn,
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(
            activation_delay=0, rate_calls=RATE, keys=[f"{k}:issuer-{k}" for k in names]
        ) as root,
    ):
        tenants = Path(tmp) / "tenants.toml"
        tenants.write_text(
            "".join(f'[tenant-{n}]\nkey_env = "BENCH_KEY_{n}"\n' for n in range(1, keys + 1))
        )
        ids = {}
        for n, key in enumerate(names, start=1):
            made = httpx.post(
                f"{root}/__sandbox/ready-requests", json={"count": per_key, "key": key}, timeout=300
            )
            made.raise_for_status()
            ids[f"tenant-{n}"] = made.json()["ids"]
        env = {
            **os.environ,
            "FIRMAIO_BASE_URL": f"{root}/api/v1/sign",
            **{f"BENCH_KEY_{n}": key for n, key in enumerate(names, start=1)},
        }
        argv = [sys.executable, "-m", "firmaio.adapters.cli", "worker", "--db", dsn]
        children = [
            subprocess.Popen(
                [*argv, "--tenants", str(tenants), "--concurrency", "100"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            # one Procrastinate worker per process, over every tenant's queue
            _wait(dsn, "SELECT count(*) FROM procrastinate_workers", workers, 60)
            before = httpx.get(f"{root}/__sandbox/stats").json()
            started = time.perf_counter()
            for tenant, tenant_ids in ids.items():
                line = ["enqueue", "--db", dsn, "--tenants", str(tenants), "--tenant", tenant]
                assert main([*line, *tenant_ids], out=io.StringIO()) == 0
            resting = "SELECT count(*) FROM flows WHERE state = 'NOTIFIED' AND intent IS NULL"
            _wait(dsn, resting, flows, 3600)
            elapsed = time.perf_counter() - started
            after = httpx.get(f"{root}/__sandbox/stats").json()
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=120)
    calls = {
        issuer: count - before["calls_by_issuer"].get(issuer, 0)
        for issuer, count in after["calls_by_issuer"].items()
    }
    floor = max(((c - 1) // RATE) * PERIOD for c in calls.values())
    return Scale(
        flows, keys, workers, elapsed, floor, calls, after["throttled"] - before["throttled"]
    )
