"""What goes wrong around workers: a stopping worker still on a flow, the queue's database
going away, a job that failed, a flow queued for the wrong tenant (from a review's findings)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import psycopg
import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.client import RetryPolicy
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.queue import (
    Runtime,
    Tended,
    WorkerHandle,
    WorkerOptions,
    enqueue,
    work,
)
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store, open_store
from firmaio.adapters.tenants import Tenants
from firmaio.fsm.errors import StoreUnavailable
from tests.sandbox_helpers import fault, fiscal_code


def test_a_stopping_worker_s_flow_is_never_run_by_another_at_the_same_time(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A is on a flow whose step takes a while (a notification whose answer was lost: its
    client waits out the grace before reading back, which no stop cuts short) and is told to
    stop with a ``stop_within`` longer than ``stalled_after``: its lanes stop heart-beating while
    the job runs, so worker B's retry_stalled hands the job out again. B must find the flow
    locked and leave it: the two never work on it at once, and the citizen gets one message.
    (With the default ``stop_within``, shorter than ``stalled_after``, A cuts its call off and
    hands the job back itself: tests/process/test_worker_stops.py.)"""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    spans: list[tuple[str, float, float, str]] = []

    class Tracked(Runtime):
        async def tend(self, flow_id: str) -> Tended:
            started = time.monotonic()
            tended = await super().tend(flow_id)
            spans.append((self.worker, started, time.monotonic(), tended.did))
            return tended

    async def scenario(sandbox: Sandbox) -> str:
        store = open_async_store(postgres_url)
        clock = SystemClock()
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        rid = sandbox.issuer.create_ready_request("sandbox-key", code)
        fault(sandbox, "sendNotification", "drop_after", request_id=rid)
        await enqueue(postgres_url, store, clock, [rid])
        slow = WorkerOptions(concurrency=2, stalled_after=2.0, heartbeat=0.5, stop_within=30)
        options = WorkerOptions(concurrency=2, stalled_after=2.0, heartbeat=0.5)

        def runtime(name: str) -> Runtime:
            retry = RetryPolicy(notification_grace=8.0, wait_initial=0.01, wait_jitter=0)
            settings = Settings(base_url=sandbox.url, retry=retry, recovery_grace=8.0, worker=name)
            return Tracked(Factory(settings, clock, store), postgres_url, Tenants())

        a, b = await runtime("A").open(), await runtime("B").open()
        stop_a, stop_b = WorkerHandle(), WorkerHandle()
        worker_a = asyncio.create_task(work(postgres_url, a, slow, stop_a))
        deadline = time.monotonic() + 30
        while (await store.rows([rid]))[0].intent != "notify":  # A's answer was lost: A waits
            assert time.monotonic() < deadline, "A never notified"
            await asyncio.sleep(0.1)
        worker_b = asyncio.create_task(work(postgres_url, b, options, stop_b))
        stop_a.stop()
        await asyncio.wait_for(worker_a, 60)
        deadline = time.monotonic() + 30
        while (await store.rows([rid]))[0].state != "NOTIFIED":
            assert time.monotonic() < deadline, "the flow was never finished"
            await asyncio.sleep(0.2)
        stop_b.stop()
        await asyncio.wait_for(worker_b, 60)
        await a.close()
        await b.close()
        await store.close()
        return rid

    with Sandbox(activation_delay=0, validation_delay=0) as sandbox:
        rid = asyncio.run(scenario(sandbox))
        assert sandbox.issuer.messages_sent(rid) == 1
    overlaps = [
        (x, y)
        for x in spans
        for y in spans
        if x[0] < y[0] and x[1] < y[2] and y[1] < x[2] and "busy" not in (x[3], y[3])
    ]
    assert not overlaps, f"one flow driven by two workers at once: {overlaps}"
    assert any(span[3] == "busy" for span in spans), "B was never handed the flow: no race here"


@pytest.mark.parametrize("blips", [1, 1000])
def test_a_lane_that_stops_by_itself_is_started_again_within_the_outage_limit(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, blips: int
) -> None:
    """A heartbeat that fails (a PostgreSQL blip) stops a Procrastinate lane: the worker says so
    once, starts the lane again once the database answers, and says once that it is back. A
    lane that keeps stopping for longer than the outage limit stops the worker with
    StoreUnavailable, so `firmaio worker` exits 7 and a supervisor restarts it."""
    from procrastinate.manager import JobManager

    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    real = JobManager.update_heartbeat
    failed = 0

    async def flaky(self: JobManager, worker_id: int) -> None:
        nonlocal failed
        if failed < blips:
            failed += 1
            raise StoreUnavailable("a blip")
        await real(self, worker_id)

    monkeypatch.setattr(JobManager, "update_heartbeat", flaky)
    said: list[str] = []

    async def scenario() -> None:
        store = open_async_store(postgres_url)
        factory = Factory(clock=SystemClock(), store=store)
        runtime = await Runtime(factory, postgres_url, Tenants()).open()
        handle = WorkerHandle(say=said.append)
        options = WorkerOptions(concurrency=1, heartbeat=0.2, store_outage_limit=2.0)
        try:
            if blips > 1:
                with pytest.raises(StoreUnavailable, match="longer than the store outage limit"):
                    await asyncio.wait_for(work(postgres_url, runtime, options, handle), 20)
                return
            working = asyncio.create_task(work(postgres_url, runtime, options, handle))
            deadline = time.monotonic() + 20
            while len(said) < 2:
                assert time.monotonic() < deadline, f"no outage said, or no end of it: {said}"
                assert not working.done(), working
                await asyncio.sleep(0.1)
            handle.stop()
            await asyncio.wait_for(working, 20)  # a clean stop: no error
        finally:
            await runtime.close()
            await store.close()

    asyncio.run(scenario())
    assert "cannot be reached" in said[0]
    if blips == 1:
        assert said[1].startswith("the job queue's database is back after")
        assert len(said) == 2
    else:
        assert len(said) == 1, said


def test_a_worker_stopped_as_the_database_answers_again_says_the_outage_is_over(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A heartbeat blip stops a lane; the database answers, the lane starts again and the
    outage's first line is said; the worker is told to stop at that moment, before the lanes
    have run long enough to call the outage over: it still says, once, that it is over (it
    used to stop with the outage said to begin and never to end)."""
    from procrastinate.manager import JobManager

    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    real = JobManager.update_heartbeat
    failed = []

    async def blip(self: JobManager, worker_id: int) -> None:
        if not failed:
            failed.append(worker_id)
            raise StoreUnavailable("a blip")
        await real(self, worker_id)

    monkeypatch.setattr(JobManager, "update_heartbeat", blip)
    said: list[str] = []

    async def scenario() -> None:
        store = open_async_store(postgres_url)
        factory = Factory(clock=SystemClock(), store=store)
        runtime = await Runtime(factory, postgres_url, Tenants()).open()
        handle = WorkerHandle(say=lambda line: (said.append(line), handle.stop()))
        options = WorkerOptions(concurrency=1, heartbeat=0.2, store_outage_limit=30.0)
        try:
            await asyncio.wait_for(work(postgres_url, runtime, options, handle), 20)
        finally:
            await runtime.close()
            await store.close()

    asyncio.run(scenario())
    assert len(said) == 2, said
    assert said[0].startswith("the job queue's database cannot be reached")
    assert said[1].startswith("the job queue's database is back after")


def test_an_open_flow_with_no_visit_waiting_is_swept_back_into_the_queue(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flow stored with no job (by hand, or whose job failed for good): the periodic sweep
    queues a visit, and the worker drives it to rest."""
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")

    async def scenario(sandbox: Sandbox) -> str:
        store = open_async_store(postgres_url)
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        rid = sandbox.issuer.create_ready_request("sandbox-key", code)
        now = time.time()
        await store.create_many([rid], activation_deadline=now + 120, now=now)  # no job
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Runtime(factory, postgres_url, Tenants()).open()
        handle = WorkerHandle()
        worker = asyncio.create_task(work(postgres_url, runtime, WorkerOptions(), handle))
        try:
            deadline = time.monotonic() + 40  # the sweep runs every 15 s
            while (await store.rows([rid]))[0].state != "NOTIFIED":
                assert time.monotonic() < deadline, "the flow was never swept into the queue"
                await asyncio.sleep(0.5)
        finally:
            handle.stop()
            await asyncio.wait_for(worker, 60)
            await runtime.close()
            await store.close()
        return rid

    with Sandbox(activation_delay=0, validation_delay=0) as sandbox:
        rid = asyncio.run(scenario(sandbox))
        assert sandbox.issuer.messages_sent(rid) == 1


def test_enqueue_keeps_each_flow_on_its_own_tenant_s_queue(
    postgres_url: str, tmp_path: Path
) -> None:
    """A flow of comune-b: `enqueue --tenant comune-a` refuses it by id (nothing queued) and
    leaves it out of --open; `enqueue --tenant comune-b --open` queues it on comune-b's queue."""
    rid = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    store = open_store(postgres_url)
    now = time.time()
    store.create_many([rid], activation_deadline=now + 120, now=now, tenant="comune-b")
    store.close()
    tenants = tmp_path / "tenants.toml"
    tenants.write_text('[comune-a]\nkey_env = "KEY_A"\n\n[comune-b]\nkey_env = "KEY_B"\n')
    base = ["enqueue", "--db", postgres_url, "--tenants", str(tenants), "--json"]
    out = io.StringIO()
    assert main([*base, "--tenant", "comune-a", rid], out=out) == 2
    assert rid in json.loads(out.getvalue())["failure"]["message"]
    out = io.StringIO()
    assert main([*base, "--tenant", "comune-a", "--open"], out=out) == 2  # none of its flows
    out = io.StringIO()
    assert main([*base, "--tenant", "comune-b", "--open"], out=out) == 0, out.getvalue()
    assert json.loads(out.getvalue())["queued"] == 1
    with psycopg.connect(postgres_url) as conn:
        queues = conn.execute("SELECT queue_name FROM procrastinate_jobs").fetchall()
    assert queues == [("firmaio.comune-b",)]
