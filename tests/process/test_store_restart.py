"""Workers and ``firmaio serve`` ride out a short outage of their PostgreSQL store (a restart, a
failover) and stop, exit 7, only when it outlasts ``--store-outage-limit``: one line when the
outage begins, one when it ends; past the limit, the outage limit's one line, whichever step
found the database gone (their start included).

They reach PostgreSQL through a TCP proxy (``tests/tcp_proxy.py``): cutting it closes every
connection and refuses new ones, which is what a restart does to a client, and restoring it is
the server back. No test here stops or restarts the server others share; each waits for what
the processes say and do, never for a fixed time. A real restart of the cluster is the last
test, opt-in (``FIRMAIO_TEST_RESTART_POSTGRES=1``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.errors import StoreError
from tests.conftest import POSTGRES_URL
from tests.crashing_cli import command
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
from tests.process.test_serve import free_port
from tests.tcp_proxy import TcpProxy

__all__ = ["limited", "tenants"]  # the fixtures, shared

RESTING = {"NOTIFIED", "FALLBACK_SUGGESTED"}
BEGAN = "riding it out for up to"
ENDED = "is back after"
LIMIT = "longer than the store outage limit"


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    """A TCP proxy to the test's PostgreSQL server (its URL: ``proxy.url(postgres_url)``)."""
    with TcpProxy.to(postgres_url) as running:
        yield running


@pytest.fixture(autouse=True)
def reaped() -> Iterator[None]:
    """A process a failed test left running is killed: none outlives its test."""
    yield
    while Watched.running:
        process = Watched.running.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


class Watched:
    """A ``firmaio worker`` (or ``serve``) process; its stderr lines, collected as said."""

    running: ClassVar[list[subprocess.Popen[str]]] = []
    """Every one started, for :func:`reaped`."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        Watched.running.append(process)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, words: str) -> list[str]:
        return [line for line in list(self.lines) if words in line]

    def ended(self, timeout: float) -> tuple[int, str, str]:
        """Its exit code, stdout and stderr, once it has exited."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        out = self.process.stdout.read()
        self.process.stdout.close()
        self.process.stderr.close()
        return code, out, "\n".join(self.lines)

    def stopped(self) -> str:
        """SIGTERM, a clean exit (0, its summary printed); what it said on stderr."""
        self.process.send_signal(signal.SIGTERM)
        code, out, err = self.ended(timeout=30)
        assert code == 0, err
        assert json.loads(out)["stopped"] is True
        return err


def resting(db: str, ids: list[str]) -> Callable[[], bool]:
    """Whether every flow is at rest; a look the server turned away (others share it: too
    many clients, say) is only "not yet"."""
    check = at_rest(db, ids, RESTING)

    def look() -> bool:
        try:
            return check()
        except StoreError:
            return False

    return look


def sent(sandbox: Sandbox) -> int:
    """IO messages the sandbox has sent so far."""
    return sum(len(messages) for messages in sandbox.issuer.messages.values())


def queued(sandbox: Sandbox, db: str, tenants: Path, flows: int) -> list[str]:
    """``flows`` READY requests of comune-a (every fourth citizen with messages off), queued."""
    ids = [request(sandbox, "comune-a", messages_on=n % 4 != 0) for n in range(flows)]
    enqueue(db, tenants, "comune-a", ids)
    return ids


def workers(
    sandbox: Sandbox, db: str, tenants: Path, n: int, limit: str, *first: str
) -> list[Watched]:
    """``n`` workers; the first one with the options ``first`` too."""
    return [
        Watched(start_worker(sandbox, db, tenants, "--store-outage-limit", limit, *extra))
        for extra in [first, *[()] * (n - 1)]
    ]


def probed(port: int, path: str) -> tuple[int, str]:
    """The status and body of ``GET path`` on a process's metrics port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as refused:  # 503: not ready, not live
        return refused.code, refused.read().decode()


def ready_is(port: int, wanted: bool, timeout: float) -> Callable[[], None]:
    """Wait until ``/readyz`` says ``wanted`` (200 ready, 503 not), the store named as why."""

    def look() -> bool:
        try:
            status, body = probed(port, "/readyz")
        except OSError:  # not serving yet
            return False
        return status == (200 if wanted else 503) and json.loads(body)["ready"] is wanted

    def wait() -> None:
        wait_for(look, timeout, f"/readyz to say ready={wanted}", lambda: probed(port, "/readyz"))

    return wait


def each_said(workers: list[Watched], words: str, timeout: float, why: str) -> None:
    wait_for(
        lambda: all(worker.said(words) for worker in workers),
        timeout,
        why,
        lambda: [worker.lines for worker in workers],
    )


def assert_one_line_each_way(err: str) -> None:
    assert "Traceback" not in err, err
    began = [line for line in err.splitlines() if BEGAN in line]
    ended = [line for line in err.splitlines() if ENDED in line]
    assert len(began) == len(ended) == 1, err  # one line per change of state


def assert_nothing_lost(sandbox: Sandbox, db: str, ids: list[str]) -> None:
    for n, request_id in enumerate(ids):
        assert sandbox.issuer.messages_sent(request_id) == (1 if n % 4 else 0), request_id
    assert main(["audit", "verify", "--db", db], out=io.StringIO()) == 0


def assert_stopped_at_the_limit(code: int, err: str) -> None:
    """Exit 7 with the outage limit's one line, after the outage's one first line."""
    assert code == 7, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if LIMIT in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("firmaio: the job queue's database could not be reached"), err
    assert len([line for line in err.splitlines() if BEGAN in line]) == 1, err


def test_a_restart_under_three_busy_workers_is_ridden_out(
    limited: Sandbox, postgres_url: str, proxy: TcpProxy, tenants: Path
) -> None:
    """Every connection cut and new ones refused until each worker has said the outage began;
    then the server is back: no worker exits, each says once that it is back, every flow
    rests with one message per citizen due one, every trail intact."""
    ids = queued(limited, postgres_url, tenants, 48)
    port = free_port()  # the first worker's metrics, liveness and readiness
    running = workers(
        limited, proxy.url(postgres_url), tenants, 3, "60", "--metrics-port", str(port)
    )
    try:
        wait_for(lambda: sent(limited) >= 8, 60, "the workers to be busy")
        ready_is(port, True, 30)()

        def counted_a_notification() -> bool:  # this worker's own, not only the others'
            return 'firmaio_api_calls_total{method="PUT"' in probed(port, "/metrics")[1]

        wait_for(counted_a_notification, 90, "the first worker's metrics to count a PUT")
        status, scraped = probed(port, "/metrics")
        assert status == 200
        assert "firmaio_transitions_total{" in scraped
        assert 'firmaio_flows{state="' in scraped
        proxy.cut()
        each_said(running, BEGAN, 30, "each worker to see the outage")
        ready_is(port, False, 30)()
        assert json.loads(probed(port, "/readyz")[1])["store"].startswith("unreachable")
        assert probed(port, "/livez")[0] == 200  # alive: riding the outage out
        proxy.restore()
        ready_is(port, True, 30)()
        wait_for(resting(postgres_url, ids), 120, "every flow",
                 lambda: queue_and_flows(postgres_url))  # fmt: skip
        each_said(running, ENDED, 30, "each worker to say the outage is over")
        assert [worker.process.poll() for worker in running] == [None] * 3, "a worker exited"
    finally:
        errs = [worker.stopped() for worker in running]
    for err in errs:
        assert_one_line_each_way(err)
    assert_nothing_lost(limited, postgres_url, ids)


def test_an_outage_longer_than_the_limit_stops_each_worker_exit_7_saying_so(
    limited: Sandbox, postgres_url: str, proxy: TcpProxy, tenants: Path
) -> None:
    queued(limited, postgres_url, tenants, 24)
    running = workers(limited, proxy.url(postgres_url), tenants, 3, limit="2")
    wait_for(lambda: sent(limited) >= 5, 60, "the workers to be busy")
    proxy.cut()
    for worker in running:
        code, _out, err = worker.ended(timeout=30)
        assert_stopped_at_the_limit(code, err)


def test_a_database_lost_while_a_worker_starts_is_an_outage_like_any_other(
    limited: Sandbox, postgres_url: str, proxy: TcpProxy, tenants: Path
) -> None:
    """A worker started while the server is gone rides that out like an outage of its lanes:
    past the limit it exits 7 with the outage limit's line (it used to exit 7 at once with the
    store's own words: the failure this file once had under a real restart). One whose store
    opens just before the server refuses every new connection (its rate windows, its settings
    check, the queue's pool) starts once it is back, finishes the flows, and says so once each
    way."""
    ids = queued(limited, postgres_url, tenants, 4)
    proxy.cut()  # not even the store's first connection
    (hasty,) = workers(limited, proxy.url(postgres_url), tenants, 1, limit="2")
    code, _out, err = hasty.ended(timeout=30)
    assert_stopped_at_the_limit(code, err)
    proxy.refuse(after=1)  # the store's first connection, then nothing
    (patient,) = workers(limited, proxy.url(postgres_url), tenants, 1, limit="60")
    try:
        each_said([patient], BEGAN, 30, "the worker to see the outage")
        proxy.restore()
        wait_for(resting(postgres_url, ids), 60, "every flow",
                 lambda: queue_and_flows(postgres_url))  # fmt: skip
        each_said([patient], ENDED, 30, "the worker to say the outage is over")
    finally:
        err = patient.stopped()
    assert_one_line_each_way(err)
    assert_nothing_lost(limited, postgres_url, ids)


def serve(sandbox: Sandbox, db: str, limit: str, *ids: str) -> Watched:
    """``firmaio serve`` on ``db`` (a pass every 0.2 s), registering ``ids``."""
    argv, env = command(sandbox.url, None)
    options = ["--tick", "0.2", "--recovery-grace", "0", "--json", "--store-outage-limit", limit]
    return Watched(
        subprocess.Popen(
            [*argv, "serve", "--db", db, *options, *ids],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )


def test_serve_rides_out_an_outage_and_stops_past_the_limit(
    limited: Sandbox, postgres_url: str, proxy: TcpProxy
) -> None:
    """``firmaio serve`` on PostgreSQL, the same way: cut while it drives a batch, it says the
    outage began and, once the server is back, that it is over, and finishes every flow; a
    second one, cut for longer than its limit, exits 7 with the limit's one line; so do two
    that lose the server as they start. (``serve`` on SQLite has no server to lose.)"""
    ids = [request(limited, "comune-a", messages_on=n % 4 != 0) for n in range(16)]
    port = free_port()
    serving = serve(limited, proxy.url(postgres_url), "60", *ids, "--metrics-port", str(port))
    try:
        wait_for(lambda: sent(limited) >= 3, 60, "the service to be busy", lambda: serving.lines)
        ready_is(port, True, 30)()
        proxy.cut()
        each_said([serving], BEGAN, 30, "the service to see the outage")
        ready_is(port, False, 30)()
        proxy.restore()
        ready_is(port, True, 30)()
        wait_for(resting(postgres_url, ids), 60, "every flow",
                 lambda: queue_and_flows(postgres_url))  # fmt: skip
        each_said([serving], ENDED, 30, "the service to say the outage is over")
    finally:
        err = serving.stopped()
    assert_one_line_each_way(err)
    assert_nothing_lost(limited, postgres_url, ids)
    hasty = serve(limited, proxy.url(postgres_url), "2")
    each_said([hasty], "firmaio serve: serving", 30, "the second service to start")
    proxy.cut()
    assert_serve_stopped_at_the_limit(*hasty.ended(timeout=30))
    proxy.refuse(after=1)  # its store opens; then its settings check finds the server gone
    starting = serve(limited, proxy.url(postgres_url), "2")
    assert_serve_stopped_at_the_limit(*starting.ended(timeout=30))
    proxy.cut()  # not even its store opens
    starting = serve(limited, proxy.url(postgres_url), "2")
    assert_serve_stopped_at_the_limit(*starting.ended(timeout=30))


def assert_serve_stopped_at_the_limit(code: int, _out: str, err: str) -> None:
    assert code == 7, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if LIMIT in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("firmaio: the store could not be reached for"), err
    assert len([line for line in err.splitlines() if BEGAN in line]) == 1, err


# -- opt-in: a real restart of the PostgreSQL cluster ----------------------------------------

CLUSTER = os.environ.get("FIRMAIO_TEST_PG_CLUSTER", "15 main").split()
"""The cluster serving FIRMAIO_TEST_POSTGRES, as pg_ctlcluster names it: version and name."""


@pytest.fixture
def restartable(postgres_url: str) -> str:
    """The store's URL, where this run may restart its cluster (else the test skips, saying
    why)."""
    if os.environ.get("FIRMAIO_TEST_RESTART_POSTGRES") != "1":
        pytest.skip(
            "restarts the PostgreSQL cluster every user of the server shares (the tests above "
            "cut a proxy instead): set FIRMAIO_TEST_RESTART_POSTGRES=1 to run it"
        )
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster (Debian's postgresql-common) is not installed here")
    return postgres_url


def pg_ctl(action: str) -> None:
    """``pg_ctlcluster ACTION`` on the cluster: a fast shutdown (sessions ended, a checkpoint),
    made immediate if it takes more than 5 s, so the server is never down for long."""
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "--force", *CLUSTER, action,
         "--", "-t", "5"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def answers() -> bool:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


def cluster_back() -> None:
    """Whatever the restart did, the cluster runs and answers after it: started again until it
    does (a start tried while the old server still shuts down fails, which once left the
    cluster down for every later test)."""
    deadline = time.monotonic() + 60
    while not answers():
        if time.monotonic() > deadline:
            pytest.fail(f"the cluster {' '.join(CLUSTER)} did not come back within 60 s")
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl("start")
        time.sleep(0.5)


def test_a_real_restart_of_the_cluster_is_ridden_out(
    limited: Sandbox, restartable: str, tenants: Path
) -> None:
    db = restartable
    ids = queued(limited, db, tenants, 48)
    running = workers(limited, db, tenants, 3, limit="300")  # a loaded machine restarts slowly
    try:
        wait_for(lambda: sent(limited) >= 8, 60, "the workers to be busy")
        try:
            pg_ctl("restart")
        finally:
            cluster_back()
        wait_for(resting(db, ids), 120, "every flow", lambda: queue_and_flows(db))
        for worker in running:
            if worker.said(BEGAN):  # a worker may not have seen a short restart at all
                each_said([worker], ENDED, 30, "the worker to say the outage is over")
        assert [worker.process.poll() for worker in running] == [None] * 3, "a worker exited"
    finally:
        errs = [worker.stopped() for worker in running]
    for err in errs:
        assert "Traceback" not in err, err
        assert (
            len([ln for ln in err.splitlines() if BEGAN in ln])
            == len([ln for ln in err.splitlines() if ENDED in ln])
            <= 1
        ), err
    assert_nothing_lost(limited, db, ids)
