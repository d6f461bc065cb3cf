"""Target 7: many flows, many keys, many workers: ``firmaio worker`` processes on one PostgreSQL
store, against the sandbox with the gateway's real limit on every key.

The sandbox runs in its own process with ``keys`` keys (one issuer each), 150 calls per 5 s per
key. ``workers`` worker processes start and register; then the flows are queued, one tenant per
key, and the clock runs until every flow rests. The floor is what the limits allow: a key that
must take ``c`` calls needs at least ``(c - 1) // 150`` further windows of 5 s after its first
150, and the slowest key sets the floor. Calls are counted by the sandbox, per issuer.

The run is CPU-bound on a small machine (the workers, the sandbox and PostgreSQL share the
cores), so the CPU each spends from the first flow queued to the last at rest is read from
``/proc`` (user + system) and printed per flow: unlike the elapsed time, it hardly depends on
what else loads the machine. PostgreSQL's is its backends serving the workers (found by the
``application_name`` the bench gives their connections; a backend that ended mid-run is missed).
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
from bench.timeline import Timeline, timeline

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
    worker_cpu: float
    """Seconds of CPU (user + system) the worker processes spent, summed, while the flows ran."""
    sandbox_cpu: float | None = None
    postgres_cpu: float | None = None
    """Seconds of CPU of the PostgreSQL backends serving the workers; None where not readable."""
    timeline: Timeline | None = None
    """The calls of the key that finished last, as the sandbox received them."""

    def per_flow_ms(self, seconds: float | None) -> str:
        return "?" if seconds is None else f"{seconds / self.flows * 1e3:.2f}"


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


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (``/proc``), None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15


def _children_named(word: str) -> list[int]:
    """This process's children whose command line holds ``word``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == os.getpid() and word.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _backends(dsn: str, application: str) -> list[int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application,)
        ).fetchall()
    return [int(row[0]) for row in rows]


class CpuMeter:
    """CPU spent by a set of processes between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.at_start: dict[int, float] = {}
        self.spent = 0.0
        self.readable = True

    def start(self, pids: list[int]) -> None:
        for pid in pids:
            self.at_start[pid] = cpu_seconds(pid) or 0.0

    def stop(self, pids: list[int]) -> float | None:
        """The CPU spent since :meth:`start` (a process started since counts from zero)."""
        for pid in pids:
            now = cpu_seconds(pid)
            if now is None:
                self.readable = False
                continue
            self.spent += now - self.at_start.get(pid, 0.0)
        return self.spent if self.readable and pids else None


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
    application = f"firmaio-bench-{uuid.uuid4().hex[:8]}"
    workers_cpu, sandbox_cpu, postgres_cpu = CpuMeter(), CpuMeter(), CpuMeter()
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
        worker_dsn = f"{dsn}&application_name={application}"
        argv = [sys.executable, "-m", "firmaio.adapters.cli", "worker", "--db", worker_dsn]
        # 100 flows per key at once in each worker: --concurrency counts a whole process's jobs
        # since its tenants share one Procrastinate worker (it counted each tenant's before)
        concurrency = str(100 * len(names))
        children = [
            subprocess.Popen(
                [*argv, "--tenants", str(tenants), "--concurrency", concurrency],
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
            httpx.post(f"{root}/__sandbox/timeline").raise_for_status()
            sandbox = _children_named("sandbox")
            workers_cpu.start([child.pid for child in children])
            sandbox_cpu.start(sandbox)
            postgres_cpu.start(_backends(dsn, application))
            started, wall = time.perf_counter(), time.time()
            for tenant, tenant_ids in ids.items():
                line = ["enqueue", "--db", dsn, "--tenants", str(tenants), "--tenant", tenant]
                assert main([*line, *tenant_ids], out=io.StringIO()) == 0
            resting = "SELECT count(*) FROM flows WHERE state = 'NOTIFIED' AND intent IS NULL"
            _wait(dsn, resting, flows, 3600)
            elapsed = time.perf_counter() - started
            worker_cpu = workers_cpu.stop([child.pid for child in children])
            sandbox_spent = sandbox_cpu.stop(sandbox)
            postgres_spent = postgres_cpu.stop(_backends(dsn, application))
            after = httpx.get(f"{root}/__sandbox/stats").json()
            times = httpx.get(f"{root}/__sandbox/timeline").json()["calls"]
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
    throttled = after["throttled"] - before["throttled"]
    if worker_cpu is None:
        raise RuntimeError("a worker process ended before the flows rested")
    return Scale(
        flows, keys, workers, elapsed, floor, calls, throttled, worker_cpu, sandbox_spent,
        postgres_spent, timeline(times, wall, elapsed),
    )  # fmt: skip
