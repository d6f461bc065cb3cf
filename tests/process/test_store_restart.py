"""Workers ride out a short outage of their PostgreSQL store (a restart, a failover) and stop,
exit 7, only when it outlasts ``--store-outage-limit``.

These tests restart and stop the PostgreSQL cluster that serves ``FIRMAIO_TEST_POSTGRES``
(``pg_ctlcluster``: by default ``15 main``, or ``FIRMAIO_TEST_PG_CLUSTER``), which every user of
that server notices: they run only where ``FIRMAIO_REQUIRE_POSTGRES=1`` (CI) or
``FIRMAIO_TEST_RESTART_POSTGRES=1`` says so, keep each outage to a few seconds, and start the
cluster again whatever happens.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from tests.conftest import POSTGRES_URL
from tests.process.test_queue_workers import (
    at_rest,
    enqueue,
    limited,
    queue_and_flows,
    request,
    start_worker,
    tenants,
    wait_for,
)

__all__ = ["limited", "tenants"]  # the fixtures, shared

CLUSTER = os.environ.get("FIRMAIO_TEST_PG_CLUSTER", "15 main").split()
"""The cluster serving FIRMAIO_TEST_POSTGRES, as pg_ctlcluster names it: version and name."""


@pytest.fixture
def restartable(postgres_url: str) -> str:
    """The store's URL, where this run may restart its cluster (else the test skips, saying
    why)."""
    allowed = "1" in (
        os.environ.get("FIRMAIO_REQUIRE_POSTGRES"),
        os.environ.get("FIRMAIO_TEST_RESTART_POSTGRES"),
    )
    if not allowed:
        pytest.skip(
            "restarts the PostgreSQL cluster every user of the server shares: set "
            "FIRMAIO_TEST_RESTART_POSTGRES=1 (FIRMAIO_REQUIRE_POSTGRES=1 does too) to run it"
        )
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster (Debian's postgresql-common) is not installed here")
    return postgres_url


def pg_ctl(action: str) -> None:
    """``pg_ctlcluster ACTION`` on the cluster: a fast shutdown (sessions ended, a checkpoint),
    made immediate if it takes more than 5 s, so the server is never down for long."""
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            "--force",
            *CLUSTER,
            action,
            "--",
            "-t",
            "5",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def answers() -> bool:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def cluster_back_afterwards() -> Iterator[None]:
    """Whatever the block does to the cluster, it is running again (and answering) after it."""
    try:
        yield
    finally:
        if not answers():
            pg_ctl("start")
        deadline = time.monotonic() + 30
        while not answers() and time.monotonic() < deadline:
            time.sleep(0.2)


def sent(sandbox: Sandbox) -> int:
    """IO messages the sandbox has sent so far."""
    return sum(len(messages) for messages in sandbox.issuer.messages.values())


def stopped(worker: subprocess.Popen[str]) -> str:
    """SIGTERM, a clean exit (0, its summary printed); what it said on stderr."""
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert json.loads(out)["stopped"] is True
    return err


def busy_workers(
    sandbox: Sandbox, db: str, tenants: Path, flows: int, *options: str
) -> tuple[list[str], list[subprocess.Popen[str]]]:
    """``flows`` READY requests of comune-a, queued, and three workers on them."""
    ids = [request(sandbox, "comune-a", messages_on=n % 4 != 0) for n in range(flows)]
    enqueue(db, tenants, "comune-a", ids)
    common = ("--recovery-grace", "0", *options)
    return ids, [start_worker(sandbox, db, tenants, *common) for _ in range(3)]


def test_a_postgresql_restart_under_three_busy_workers_is_ridden_out(
    limited: Sandbox, restartable: str, tenants: Path
) -> None:
    db = restartable
    ids, workers = busy_workers(limited, db, tenants, 48, "--store-outage-limit", "60")
    try:
        with cluster_back_afterwards():
            wait_for(lambda: sent(limited) >= 8, 60, "the workers to be busy")
            pg_ctl("restart")
        wait_for(at_rest(db, ids, {"NOTIFIED", "FALLBACK_SUGGESTED"}), 120, "every flow",
                 lambda: queue_and_flows(db))  # fmt: skip
        assert [w.poll() for w in workers] == [None] * 3, "a worker exited"
    finally:
        errs = [stopped(worker) for worker in workers]
    for err in errs:
        assert "Traceback" not in err, err
        began = [line for line in err.splitlines() if "cannot be reached" in line]
        ended = [line for line in err.splitlines() if "is back after" in line]
        assert len(began) == len(ended) == 1, err  # one line per change of state
    for n, request_id in enumerate(ids):
        assert limited.issuer.messages_sent(request_id) == (1 if n % 4 else 0), request_id
    assert main(["audit", "verify", "--db", db], out=io.StringIO()) == 0


def test_an_outage_longer_than_the_limit_stops_each_worker_exit_7_saying_so(
    limited: Sandbox, restartable: str, tenants: Path
) -> None:
    db = restartable
    _ids, workers = busy_workers(limited, db, tenants, 24, "--store-outage-limit", "2")
    with cluster_back_afterwards():
        wait_for(lambda: sent(limited) >= 5, 60, "the workers to be busy")
        pg_ctl("stop")
        ended = [worker.communicate(timeout=30) for worker in workers]
    for worker, (_out, err) in zip(workers, ended, strict=True):
        assert worker.returncode == 7, err
        assert "Traceback" not in err, err
        lines = [line for line in err.splitlines() if "outage limit" in line]
        assert len(lines) == 1, err
        assert lines[0].startswith("firmaio: the job queue's database could not be reached")
