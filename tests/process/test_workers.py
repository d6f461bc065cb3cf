"""Several worker processes on one PostgreSQL database share a batch without clashing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_store
from tests.crashing_cli import command
from tests.sandbox_helpers import ready_request


def spawn(sandbox: Sandbox, *args: str, crash: str | None = None) -> subprocess.Popen[str]:
    argv, env = command(sandbox.url, crash)
    return subprocess.Popen(
        [*argv, "run", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def batch(sandbox: Sandbox, n: int) -> list[str]:
    return [ready_request(sandbox, messages_on=i % 4 != 0) for i in range(n)]


def check(sandbox: Sandbox, url: str, ids: list[str]) -> None:
    store = open_store(url)
    try:
        rows = store.rows(ids)
    finally:
        store.close()
    assert len(rows) == len(ids)
    for row in rows:
        due = sandbox.issuer.citizen(
            sandbox.issuer._signers[sandbox.issuer.requests[row.flow_id].signer_id]
        ).messages_on
        assert row.state == ("NOTIFIED" if due else "FALLBACK_SUGGESTED"), row
        assert sandbox.issuer.messages_sent(row.flow_id) == (1 if due else 0), row
        assert row.intent is None


def test_workers_share_a_batch(sandbox: Sandbox, postgres_url: str, tmp_path: Path) -> None:
    """Three workers, 24 flows: each flow driven to rest once, one message where due."""
    ids = batch(sandbox, 24)
    workers = [spawn(sandbox, "--db", postgres_url, "--concurrency", "4", *ids) for _ in range(3)]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(r["driven"] for r in reports) == len(ids)
    assert all(r["errors"] == {} for r in reports)
    check(sandbox, postgres_url, ids)
    verify = subprocess.run(
        [sys.executable, "-m", "firmaio.adapters.cli", "audit", "verify", "--db", postgres_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout


def test_a_dead_workers_flows_are_taken_over_after_its_lease(
    sandbox: Sandbox, postgres_url: str
) -> None:
    """A worker killed while holding leases: another takes its flows once the leases expire."""
    ids = batch(sandbox, 8)
    dying = spawn(sandbox, "--db", postgres_url, "--lease", "3", *ids, crash="after_call:notify:2")
    dying.communicate(timeout=60)
    assert dying.returncode == -signal.SIGKILL
    started = time.monotonic()
    survivor = spawn(
        sandbox, "--db", postgres_url, "--lease", "3", "--notification-grace", "0", *ids
    )
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err
    assert json.loads(out)["errors"] == {}
    assert time.monotonic() - started >= 1.0  # it had to wait for the dead worker's leases
    check(sandbox, postgres_url, ids)
