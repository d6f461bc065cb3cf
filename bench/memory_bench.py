"""Target 10's runtime part (issue #27 item 5): ``firmaio serve`` and ``firmaio worker`` over a
1,000,000-flow PostgreSQL store keep their memory flat, whatever the store holds.

The store is :mod:`bench.due_bench`'s (100,000 open flows across 10 dossiers, 900,000 closed),
built as it stood two days before the run, so every open flow's trail says a status check is due
(``--watch-every`` one day); the stored due times file them through the run instead: ``rate``
flows fall due each second, the rest in a month. The sandbox, in its own process, holds the
requests of the flows that fall due (still waiting for their signature, in their dossiers), so
each check reads its dossier's listing and writes its record, as in production. One ``serve``
and one ``worker`` process run side by side on the store for ``minutes`` (each takes the flows
the other has not locked), and each one's resident memory (``VmRSS``) is sampled every
``every`` seconds. Flat: the mean of the last third of the samples within 10% of the first
third's (the issue's 30-minute run compares its first and last ten minutes). Then ``firmaio
audit verify`` reads the whole store (every chain, the run's records included) in a process of
its own, its peak RSS measured (``VmHWM``).

With ``FIRMAIO_BENCH_TRACE`` naming a folder, both processes run under tracemalloc
(:mod:`bench.traced`: snapshots and a line of figures every few minutes there, their stderr too)
and the run's figures are not the product's: a search for what grows, not a measurement.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.due_bench import DOSSIERS, build_postgres
from bench.http_bench import sandbox_process
from bench.queue_bench import postgres_schema
from bench.stream_bench import Measured, measure

DAY = 86_400.0
SANDBOX_KEY = "sandbox-key"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOGS = subprocess.DEVNULL


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (``VmRSS``), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Samples:
    """One process's RSS samples, in MB."""

    name: str
    mb: list[float] = field(default_factory=list)

    def third(self, last: bool) -> float:
        n = max(1, len(self.mb) // 3)
        return statistics.fmean(self.mb[-n:] if last else self.mb[:n])

    @property
    def growth(self) -> float:
        """The last third's mean over the first's, minus one."""
        return self.third(True) / self.third(False) - 1

    @property
    def peak(self) -> float:
        return max(self.mb)

    def line(self) -> str:
        return (
            f"{self.name} {self.third(False):.0f} -> {self.third(True):.0f} MB "
            f"({self.growth * 100:+.1f}%, peak {self.peak:.0f} MB)"
        )


@dataclass
class Runtime:
    """Target 10's runtime figures."""

    flows: int
    minutes: float
    samples: list[Samples]
    checked: int
    """Flows the two processes checked during the run (records written)."""
    built: float
    verify: Measured
    """``firmaio audit verify`` over the whole store after the run, in a process of its own."""

    @property
    def met(self) -> bool:
        flat = all(s.peak < 150 and abs(s.growth) <= 0.10 for s in self.samples)
        return flat and self.verify.peak_mb < 200


def _seed(root: str, flow_ids: list[str]) -> None:
    """The sandbox holds the requests of ``flow_ids`` (ids as the store's), waiting for their
    signature, in the store's dossiers."""
    from firmaio.adapters.sandbox import DEMO_DOSSIER

    requests = [
        {
            "id": flow_id, "dossier_id": DOSSIERS[int(flow_id[8:]) % len(DOSSIERS)],
            "fiscal_code": f"RSSMRA80A01H{n % 1000:03d}" + LETTERS[n // 1000 % 26],
            "status": "WAIT_FOR_SIGNATURE", "io_message_id": "01HZMSG0000000000000000000",
            "documents": [{"id": f"01JDOC{n:020d}", "status": "READY"}],
            "created_at": "2026-01-13T08:00:00.000Z", "expires_at": "2027-04-13T08:00:00.000Z",
        }
        for n, flow_id in enumerate(flow_ids)
    ]  # fmt: skip
    dossiers = [{"id": d, **DEMO_DOSSIER} for d in DOSSIERS]
    for start in range(0, len(requests), 5_000):
        world = {
            "dossiers": dossiers if start == 0 else [],
            "requests": requests[start : start + 5_000],
        }
        httpx.post(f"{root}/__sandbox/seed", json=world, timeout=300).raise_for_status()


def _file_due(dsn: str, start: float, count: int, rate: float) -> list[str]:
    """The first ``count`` open flows fall due from ``start``, ``rate`` a second; every other
    open flow in a month. Their ids."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM flows WHERE due_at IS NOT NULL ORDER BY id LIMIT %s", (count,)
            )
        ]
        conn.execute("UPDATE flows SET due_at = %s WHERE due_at IS NOT NULL", (start + 30 * DAY,))
        conn.execute(
            "UPDATE flows SET due_at = %s + (ordinality - 1) / %s FROM unnest(%s::text[]) "
            "WITH ORDINALITY AS due(id, ordinality) WHERE flows.id = due.id",
            (start, rate, ids),
        )
        conn.execute("ANALYZE flows")
    return ids


def _checked(dsn: str, since: float) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute(  # a check that finds nothing new sets checked_at alone
            "SELECT count(*) FROM flows WHERE updated_at >= %s OR checked_at >= %s", (since, since)
        ).fetchone()
    return int(row[0]) if row else 0


def runtime(
    minutes: float = 3.0, every: float = 5.0, open_: int = 100_000, closed: int = 900_000,
    rate: float = 10.0, verify: bool = True,
) -> Runtime:  # fmt: skip
    """``serve`` and a ``worker`` over the store for ``minutes`` (see the module docstring)."""
    duration = minutes * 60
    with postgres_schema() as dsn, sandbox_process(activation_delay=0, rate_calls=1500) as root:
        built = build_postgres(dsn, open_, closed, now=time.time() - 2 * DAY)
        start = time.time() + 30  # the processes start meanwhile
        ids = _file_due(dsn, start, int(duration * rate), rate)
        _seed(root, ids)
        env = {**os.environ, "FIRMAIO_BASE_URL": f"{root}/api/v1/sign",
               "FIRMAIO_API_KEY": SANDBOX_KEY}  # fmt: skip
        traced = os.environ.get("FIRMAIO_BENCH_TRACE")
        if traced:
            Path(traced).mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.traced" if traced else "firmaio.adapters.cli"]
        common = ["--db", dsn, "--watch-every", str(int(DAY))]
        children = {
            name: subprocess.Popen(
                [*command, name, *common], env=env, stdout=LOGS,
                stderr=open(Path(traced, f"{name}.err"), "w") if traced else LOGS,  # noqa: SIM115
            )
            for name in ("serve", "worker")
        }  # fmt: skip
        samples = {name: Samples(name) for name in children}
        try:
            time.sleep(max(0.0, start - time.time()))
            ends = time.monotonic() + duration
            while time.monotonic() < ends:
                for name, child in children.items():
                    found = rss_mb(child.pid)
                    if found is None or child.poll() is not None:
                        raise RuntimeError(f"firmaio {name} stopped during the run")
                    samples[name].mb.append(found)
                time.sleep(every)
            checked = _checked(dsn, start)
        finally:
            for child in children.values():
                child.send_signal(signal.SIGTERM)
            for child in children.values():
                child.wait(timeout=120)
        done = measure("audit", "verify", "--db", dsn) if verify else Measured(0.0, 0.0, "")
    return Runtime(open_ + closed, minutes, list(samples.values()), checked, built, done)
