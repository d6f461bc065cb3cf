"""Target 10's reading part: ``audit verify`` over a 100,000-flow SQLite store in bounded memory,
and the report of a large store as a folder, page by page.

:func:`build` writes a SQLite store fast: each kind of history (activated, notified, 1 to 3
status checks, then signed, rejected, cancelled or still open) is made once by the engine, and
each flow is its template with its own id, chained afresh; ``executemany`` in transactions of
20,000 flows. (``bench/due_bench.py`` on the ``due`` branch builds the same kind of store with
due times; once merged, :func:`build` can be its ``build_sqlite``.)

:func:`run` times ``firmaio audit verify`` and ``firmaio report --out DIR`` as the command runs
them, each in a process of its own, with its peak RSS (``VmHWM`` of ``/proc/self/status``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmaio.fsm import Answer, Engine, default_engine
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import witness
from firmaio.fsm.trail import canonical, chain_hash, genesis

TEMPLATE_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
START = 1_800_000_000.0
FLOWS = (
    "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at, updated_at,"
    " table_version, tenant, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
)
RECORDS = "INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) VALUES (?,?,?,?,?)"
TENANTS = ("comune-a", "comune-b", "comune-c", None)


def _template(engine: Engine, checks: int, end: str | None) -> tuple[str, tuple[str, ...]]:
    steps: list[tuple[str, Answer]] = [
        ("check_activation", witness(g.is_waiting_for_signature)),
        ("notify", Answer.sent("01HZMSG0000000000000000000")),
        *[("check_status", witness(g.is_still_open))] * checks,
    ]
    if end is not None:
        steps.append(("check_status", witness(getattr(g, end))))
    flow = engine.new_flow(TEMPLATE_ID, now=START)
    records = [
        engine.fire(flow, trigger, answer, now=START + 3600.0 * n)
        for n, (trigger, answer) in enumerate(steps, start=1)
    ]
    return str(flow.state), tuple(map(canonical, records))


def build(path: str, flows: int) -> float:
    """A SQLite store of ``flows`` flows at ``path`` (replaced); seconds it took."""
    from firmaio.adapters.store import open_store

    started = time.perf_counter()
    Path(path).unlink(missing_ok=True)
    open_store(path).close()  # the schema, this code's version
    engine = default_engine()
    kinds = [
        _template(engine, checks, end)
        for end in ("is_signed", "is_rejected", "is_cancelled", None)
        for checks in (1, 2, 3)
    ]
    conn = sqlite3.connect(path, isolation_level=None)
    batch: tuple[list[Any], list[Any]] = ([], [])
    for number in range(flows):
        flow_id = f"01JSTREAM{number:017d}"
        state, payloads = kinds[number % len(kinds)]
        prev = genesis(flow_id)
        for seq, text in enumerate(payloads, start=1):
            payload = text.replace(TEMPLATE_ID, flow_id)
            digest = chain_hash(prev, payload)
            batch[1].append((flow_id, seq, payload, prev, digest))
            prev = digest
        tenant = TENANTS[number % len(TENANTS)]
        batch[0].append((flow_id, state, len(payloads), prev, START + 86_400.0, START, START,
                         tenant, flow_id))  # fmt: skip
        if len(batch[0]) >= 20_000 or number == flows - 1:
            conn.execute("BEGIN")
            conn.executemany(FLOWS, batch[0])
            conn.executemany(RECORDS, batch[1])
            conn.execute("COMMIT")
            batch[0].clear()
            batch[1].clear()
    conn.close()
    return time.perf_counter() - started


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    output: str


_PEAK = """
import sys
from firmaio.adapters.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:  # this process's own peak, from its exec on
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak {peak} kB", file=sys.stderr)
sys.exit(code)
"""


def measure(*argv: str) -> Measured:
    """``firmaio argv`` in a process of its own: wall time, peak RSS (its ``VmHWM``: what a
    fork inherits from this big process does not count), what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"firmaio {' '.join(argv)} exited {done.returncode}: {done.stderr}")
    peak = int(done.stderr.rsplit("peak ", 1)[1].split()[0])
    return Measured(seconds, peak / 1024, done.stdout)


@dataclass
class Stream:
    flows: int
    built: float
    verify: Measured
    verify_small: Measured
    report_flows: int
    report: Measured
    report_mb: float


def run(work: Path, flows: int = 100_000, report_flows: int = 2_000) -> Stream:
    """Verify a ``flows``-flow store (and a 1,000-flow one: how RSS grows with the store), and
    write the folder report of a ``report_flows``-flow store (its pages take disk: about 30 kB
    a flow)."""
    db, small, shown = (str(work / name) for name in ("big.sqlite", "small.sqlite", "r.sqlite"))
    built = build(db, flows)
    build(small, 1_000)
    verify = measure("audit", "verify", "--db", db)
    verify_small = measure("audit", "verify", "--db", small)
    build(shown, report_flows)
    folder = work / "report"
    report = measure("report", "--db", shown, "--out", str(folder))
    size = sum(p.stat().st_size for p in folder.rglob("*.html")) / 1e6
    shutil.rmtree(folder)
    return Stream(flows, built, verify, verify_small, report_flows, report, size)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
