"""Many tenants on one worker process: its PostgreSQL connections do not grow with the tenants
(one Procrastinate worker over every tenant's queue, one pool for every key's window), every
tenant's flows rest with no 429, and a busy tenant never holds up a quiet one (#27 item 4)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import psycopg
import pytest

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.queue import Runtime, Tended, WorkerHandle, WorkerOptions, work
from firmaio.adapters.queue.jobs import defer, install_schema, queue_app
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from firmaio.adapters.tenants import Tenant, Tenants
from firmaio.fsm.ports import Store
from tests.sandbox_helpers import fiscal_code

CONNECTIONS = 20
"""The most connections one worker process may hold, whatever the number of its tenants."""


def _named(postgres_url: str) -> tuple[str, str]:
    """The test's URL with an application name of its own: the worker's connections carry it."""
    name = f"firmaio-tenants-{uuid.uuid4().hex[:8]}"
    return f"{postgres_url}&application_name={name}", name


def _tenants(monkeypatch: pytest.MonkeyPatch, sandbox_keys: dict[str, str]) -> Tenants:
    tenants = {}
    for n, key in enumerate(sandbox_keys):
        name = f"comune-{n:04d}"
        monkeypatch.setenv(f"FIRMAIO_KEY_{n}", key)
        tenants[name] = Tenant(name, key_env=f"FIRMAIO_KEY_{n}")
    return Tenants(tenants, source=None)


async def _queue(postgres_url: str, store: Store, flows: dict[str, list[str]]) -> None:
    """Register each tenant's flows and queue a visit to each (as ``firmaio enqueue`` does)."""
    await install_schema(postgres_url)
    app = queue_app(postgres_url)
    now = time.time()
    async with app.open_async():
        for tenant, ids in flows.items():
            await store.create_many(ids, activation_deadline=now + 120, now=now, tenant=tenant)
            await defer(app, ids, tenant=tenant)


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for {why}"
        await asyncio.sleep(0.1)


def test_two_hundred_tenants_on_bounded_connections(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 tenants, each its own key, one flow each, one worker process: it holds at most
    :data:`CONNECTIONS` connections all along (not one lane, listener and window per tenant),
    one row in Procrastinate's table of live workers, and drives every flow to rest with one
    message each and no 429."""
    keys = {f"key-{n:04d}": f"issuer-{n:04d}" for n in range(200)}
    dsn, app_name = _named(postgres_url)
    peak, workers_seen = 0, 0

    async def scenario(sandbox: Sandbox) -> dict[str, str]:
        nonlocal peak, workers_seen
        tenants = _tenants(monkeypatch, keys)
        flows: dict[str, list[str]] = {}
        for n, key in enumerate(keys):
            code = fiscal_code()
            sandbox.issuer.add_citizen(code)
            flows[f"comune-{n:04d}"] = [sandbox.issuer.create_ready_request(key, code)]
        store = open_async_store(dsn)
        await _queue(postgres_url, store, flows)
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Runtime(factory, dsn, tenants).open()
        handle = WorkerHandle()
        worker = asyncio.create_task(work(dsn, runtime, WorkerOptions(concurrency=20), handle))
        ids = [rid for ids in flows.values() for rid in ids]
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:

            async def rested() -> bool:
                nonlocal peak, workers_seen
                cursor = await admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (app_name,),
                )
                peak = max(peak, (await cursor.fetchone() or (0,))[0])
                found = await admin.execute(
                    "SELECT to_regclass('procrastinate_workers') IS NOT NULL"
                )
                if (await found.fetchone() or (False,))[0]:
                    live = await admin.execute("SELECT count(*) FROM procrastinate_workers")
                    workers_seen = max(workers_seen, (await live.fetchone() or (0,))[0])
                assert not worker.done(), worker
                rows = await store.rows(ids)
                return all(r.state == "NOTIFIED" and r.intent is None for r in rows)

            try:
                await _until(rested, 120, "every tenant's flow at rest")
            finally:
                handle.stop()
                await asyncio.wait_for(worker, 60)
                await runtime.close()
        states = {r.flow_id: r.tenant or "" for r in await store.rows(ids)}
        await store.close()
        return states

    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        tenant_of = asyncio.run(scenario(sandbox))
        assert len(tenant_of) == 200
        assert all(sandbox.issuer.messages_sent(rid) == 1 for rid in tenant_of)
        assert sandbox.state.throttled == 0, "the gateway answered 429"
    assert len(set(tenant_of.values())) == 200, "each flow kept its own tenant"
    assert 0 < peak <= CONNECTIONS, f"one worker with 200 tenants held {peak} connections"
    assert workers_seen == 1, f"{workers_seen} live workers for one process: one per tenant?"


def test_a_busy_tenant_does_not_starve_a_quiet_one(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant queues 40 flows, then another tenant queues one, on a worker that runs 4 at
    once: the quiet tenant's flow is taken as soon as a slot frees (among the first visits to
    end), not after the busy tenant's 40."""
    keys = {"key-busy": "issuer-busy", "key-quiet": "issuer-quiet"}
    ended: list[tuple[str | None, str]] = []

    class Tracked(Runtime):
        async def tend(self, flow_id: str) -> Tended:
            tended = await super().tend(flow_id)
            ended.append((tended.tenant, tended.did))
            return tended

    async def scenario(sandbox: Sandbox) -> None:
        tenants = _tenants(monkeypatch, keys)
        flows: dict[str, list[str]] = {"comune-0000": [], "comune-0001": []}
        for tenant, key, count in (
            ("comune-0000", "key-busy", 40),
            ("comune-0001", "key-quiet", 1),
        ):
            for _ in range(count):
                code = fiscal_code()
                sandbox.issuer.add_citizen(code)
                flows[tenant].append(sandbox.issuer.create_ready_request(key, code))
        store = open_async_store(postgres_url)
        await _queue(postgres_url, store, flows)  # the busy tenant's first
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Tracked(factory, postgres_url, tenants).open()
        handle = WorkerHandle()
        worker = asyncio.create_task(
            work(postgres_url, runtime, WorkerOptions(concurrency=4), handle)
        )

        async def all_ended() -> bool:
            assert not worker.done(), worker
            return len([e for e in ended if e[1] == "driven"]) >= 41

        try:
            await _until(all_ended, 120, "every flow driven")
        finally:
            handle.stop()
            await asyncio.wait_for(worker, 60)
            await runtime.close()
            await store.close()

    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        asyncio.run(scenario(sandbox))
    order = [tenant for tenant, did in ended if did == "driven"]
    quiet = order.index("comune-0001")
    assert quiet < 8, f"the quiet tenant's one flow ended {quiet + 1}th of {len(order)}"


def test_a_worker_never_takes_a_job_of_a_tenant_it_has_no_key_for(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store holds three tenants' flows; a worker has the keys of two: it drives their flows
    to rest and leaves the third tenant's visit waiting as it was queued (not taken, not
    failed), though it was queued first, at the top priority."""
    keys = {"key-a": "issuer-a", "key-b": "issuer-b"}

    async def scenario(sandbox: Sandbox) -> tuple[list[str], list[tuple[str, str, int]]]:
        tenants = _tenants(monkeypatch, keys)
        flows: dict[str, list[str]] = {"comune-other": ["flow-of-another-tenant"]}
        for n, key in enumerate(keys):
            flows[f"comune-{n:04d}"] = []
            for _ in range(2):
                code = fiscal_code()
                sandbox.issuer.add_citizen(code)
                flows[f"comune-{n:04d}"].append(sandbox.issuer.create_ready_request(key, code))
        store = open_async_store(postgres_url)
        await _queue(postgres_url, store, flows)  # the other tenant's first
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Runtime(factory, postgres_url, tenants).open()
        handle = WorkerHandle()
        worker = asyncio.create_task(
            work(postgres_url, runtime, WorkerOptions(concurrency=4), handle)
        )
        ours = [rid for tenant, ids in flows.items() if tenant != "comune-other" for rid in ids]

        async def rested() -> bool:
            assert not worker.done(), worker
            rows = await store.rows(ours)
            return all(r.state == "NOTIFIED" and r.intent is None for r in rows)

        try:
            await _until(rested, 60, "the two tenants' flows at rest")
        finally:
            handle.stop()
            await asyncio.wait_for(worker, 60)
            await runtime.close()
        states = [r.state for r in await store.rows(["flow-of-another-tenant"])]
        await store.close()
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(
                "SELECT lock, status::text, attempts FROM procrastinate_jobs"
                " WHERE queue_name = 'firmaio.comune-other'"
            )
            jobs = [(str(a), str(b), int(c)) for a, b, c in await cursor.fetchall()]
        return states, jobs

    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        states, jobs = asyncio.run(scenario(sandbox))
    assert jobs == [("flow-of-another-tenant", "todo", 0)], "the other tenant's visit was taken"
    assert states == ["READY"], "the other tenant's flow was touched"
