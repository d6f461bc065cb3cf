"""Several ``firmaio run`` processes on one batch (by mistake): never two messages.

Sharing flows between processes is the task queue's job (tests/process/test_queue_workers.py);
runs that overlap still never both win a step of a flow (every write is a compare-and-set)."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_overlapping_runs_never_send_twice(sandbox: Sandbox, postgres_url: str) -> None:
    """Three runs over the same 24 flows at once: each flow at rest, one message where due; a
    run that lost a step to another counts a conflict and leaves the flow to it."""
    ids = batch(sandbox, 24)
    workers = [spawn(sandbox, "--db", postgres_url, "--concurrency", "4", *ids) for _ in range(3)]
    reports = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        reports.append(json.loads(out))
    assert all(r["errors"] == {} for r in reports)
    assert sum(r["driven"] for r in reports) >= len(ids)
    check(sandbox, postgres_url, ids)
    verify = subprocess.run(
        [sys.executable, "-m", "firmaio.adapters.cli", "audit", "verify", "--db", postgres_url],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout
