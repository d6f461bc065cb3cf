"""Flows as jobs of Procrastinate, a PostgreSQL task queue: how many workers share the flows.

Each flow is one job at a time, ``firmaio:tend`` with the flow's id, deferred with the flow's id
as both its **lock** (two jobs of one flow never run at once, on any worker) and its **queueing
lock** (at most one waiting job per flow), on its tenant's queue (``firmaio.<tenant>``). A
worker process runs one Procrastinate worker over every tenant's queue (one listening
connection, one polling loop, one heartbeat, ``concurrency`` jobs at once, whatever the number
of tenants), and the tenants share it fairly through the jobs' **priority**: a visit is queued
behind the visits its own tenant already has waiting or running, never behind another tenant's
(:func:`fair_priority`), so a tenant with one flow is served next to a tenant with ten thousand,
and a slot no tenant's work needs goes to whoever has work. A job does what is due on its flow
(:meth:`.runtime.Runtime.tend`), then defers the flow's next visit at the time the flow wants it:
at once while it needs driving, at a later attempt's due time, or a status check
``watch_every`` seconds after the last record; a closed flow gets none.

A worker that dies (killed, a lost machine) stops sending heartbeats; every worker runs the
periodic ``firmaio:retry_stalled`` job, which hands the dead worker's jobs back to the queue once
its heartbeat is ``stalled_after`` seconds old. The flow's own records say where it stood (an
open notification intent is recovered before anything is sent again), so nothing is lost or
sent twice.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from collections.abc import Iterable, Sequence

import procrastinate
from procrastinate import exceptions
from procrastinate.jobs import Job, Status
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.schema import SchemaManager

from firmaio.fsm.errors import StoreUnavailable

from ..store.due import PAGE
from ..tenants import DEFAULT_TENANT
from . import fetch
from .fairness import (
    BATCH,
    BY_LOCK,
    analyze_after,
    defer_each,
    defer_many,
    defer_one,
    fair_priority,
    refresh,
)
from .pool import connector
from .runtime import Runtime

SCHEMA_LOCK = 727273
"""The advisory lock under which one process at a time installs Procrastinate's schema."""

SWEEP = "* * * * * */15"
"""How often (cron, with seconds) a worker looks for due flows with no visit waiting."""

MAINTENANCE = "firmaio"
"""The queue of the periodic jobs below (each worker serves it beside the tenants' queues)."""

MAINTENANCE_PRIORITY = 1000
"""The periodic jobs' priority: taken before any flow's visit (which is 0 or less)."""

STALLED_CHECK = "* * * * * */5"
"""How often (cron, with seconds) the workers look for jobs of dead workers: every 5 s."""


def _runtime(context: procrastinate.JobContext) -> Runtime:
    runtime: Runtime = context.additional_context["firmaio"]
    return runtime


async def tend(context: procrastinate.JobContext, flow_id: str) -> None:
    """Do what is due on one flow, then schedule its next visit."""
    runtime = _runtime(context)
    tended = await runtime.tend(flow_id)
    if tended.next_visit is not None:
        at = None  # due now: no time, so the fetch finds it among the jobs due now (.fetch)
        if tended.next_visit > runtime.clock.now():
            at = datetime.datetime.fromtimestamp(tended.next_visit, tz=datetime.UTC)
        assert context.app is not None
        await defer(context.app, [flow_id], tenant=tended.tenant, at=at)


async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Give the jobs of workers silent for ``stalled_after`` seconds back to the queue."""
    del timestamp
    assert context.app is not None
    manager = context.app.job_manager
    after: float = context.additional_context.get("stalled_after", 30.0)
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=after):
        try:
            await manager.retry_job(job)
        except exceptions.UniqueViolation:  # the same visit is already waiting: that one does it
            await manager.finish_job(job, status=Status.FAILED, delete_job=True)


UNVISITED = """
SELECT f.id, f.tenant, f.due_at FROM flows f
 WHERE f.due_at IS NOT NULL AND f.due_at <= %(now)s
   AND (f.due_at > %(due)s OR (f.due_at = %(due)s AND f.id > %(id)s))
   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = f.id
                   AND j.status = 'todo')
   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.lock = f.id
                   AND j.status = 'doing')
 ORDER BY f.due_at, f.id LIMIT %(page)s
"""
"""Flows due by now with no visit waiting or running (a job that failed, a flow stored by
hand), a page after the last one read: only the due rows (the ``flows_due`` index), never a
closed flow (its due time is NULL), nor a flow from a PDF with no record yet (left to the
``firmaio send`` that holds its fiscal code)."""


UNCOLLECTED = """
SELECT f.id, f.tenant FROM flows f
 WHERE f.state = 'SIGNED'
   AND (f.tenant = ANY(%(tenants)s) OR (f.tenant IS NULL AND %(default)s))
   AND NOT EXISTS (SELECT 1 FROM audit_records r WHERE r.flow_id = f.id
                   AND r.payload::jsonb ->> 'trigger' = 'fetch_documents'
                   AND (r.payload::jsonb ->> 'outcome' = 'accepted'
                        OR r.payload::jsonb #> '{facts,documents.given_up}' IS NOT NULL))
   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queueing_lock = f.id
                   AND j.status = 'todo')
   AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.lock = f.id
                   AND j.status = 'doing')
"""
"""SIGNED flows of the tenants that collect their documents, not collected (nor given up), with
no visit waiting or running."""


async def sweep(context: procrastinate.JobContext, timestamp: int) -> None:
    """Queue a visit to every due flow that has none: no flow is left unwatched because a job
    of it failed (a wrong key, a long outage) or because it was stored without one; and to
    every SIGNED flow whose documents are still to be collected (one signed before its tenant
    collected has no due time)."""
    del timestamp
    runtime = _runtime(context)
    assert context.app is not None
    if runtime.stopping:
        return
    await refresh(context.app)  # the fetch's plan fits the table as it now is
    if runtime.collecting:
        tenants = sorted(runtime.collecting)
        rows = await context.app.connector.execute_query_all_async(
            UNCOLLECTED, tenants=tenants, default=DEFAULT_TENANT in tenants
        )
        for row in rows:
            await defer(context.app, [row["id"]], tenant=row["tenant"])
    now, after = runtime.clock.now(), (float("-inf"), "")
    while not runtime.stopping:
        rows = await context.app.connector.execute_query_all_async(
            UNVISITED, now=now, due=after[0], id=after[1], page=PAGE
        )
        for row in rows:
            await defer(context.app, [row["id"]], tenant=row["tenant"])
        if len(rows) < PAGE:
            return
        after = (float(rows[-1]["due_at"]), rows[-1]["id"])


async def deliver(context: procrastinate.JobContext, timestamp: int, shard: int) -> None:
    """Deliver the due events of this worker's webhook tenants of ``shard``
    (:func:`delivery_shard`) for up to :data:`DELIVER_BUDGET` seconds (one such job per shard
    at a time on every worker: its lock)."""
    del timestamp
    runtime = _runtime(context)
    tenants = [t.tenant for t in runtime.tenants.webhooks() if delivery_shard(t.tenant) == shard]
    if tenants:
        await runtime.deliver(tenants, budget=DELIVER_BUDGET)


DELIVER = "* * * * * *"
"""How often (cron, with seconds) each shard's delivery job is queued: every second."""
DELIVER_BUDGET = 20.0
"""Seconds one delivery job delivers before it makes way for the next (a backlog)."""
DELIVER_SHARDS = 8
"""Delivery jobs, each for the webhook tenants whose name hashes to it: at most this many jobs a
second, whatever the number of tenants (the events of one flow stay with one job at a time)."""


def delivery_shard(tenant: str | None) -> int:
    """The delivery job a tenant's events go out with (the same on every worker)."""
    digest = hashlib.sha256((tenant or DEFAULT_TENANT).encode()).digest()
    return int.from_bytes(digest[:4], "big") % DELIVER_SHARDS


class HandBack(BaseRetryStrategy):
    """When a visit's job is queued again after it failed: at once when this worker's stop cut
    it off (another worker takes it up from the flow's records), :data:`STORE_RETRY` seconds
    later when the store failed (up to :data:`STORE_ATTEMPTS` times); never for anything
    else (the sweep queues a new visit)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):  # cut off by a stop: hand it back
            return RetryDecision(retry_in={"seconds": 0})
        if isinstance(exception, StoreUnavailable) and job.attempts < STORE_ATTEMPTS:
            return RetryDecision(retry_in={"seconds": STORE_RETRY})
        return None


STORE_RETRY = 5
STORE_ATTEMPTS = 100


def queue_app(dsn: str, webhook_tenants: Iterable[str] = ()) -> procrastinate.App:
    """The Procrastinate app of the store at ``dsn`` (a ``postgresql://`` URL), with the jobs
    above (a new app each time: Procrastinate renames the tasks an app takes in); the delivery
    job of each shard holding one of ``webhook_tenants`` runs every second, one at a time on
    every worker (its lock and queueing lock: an event is never sent by two workers at once)."""
    app = procrastinate.App(connector=connector(dsn))
    app.task(name="firmaio:tend", pass_context=True, retry=HandBack())(tend)
    app.periodic(cron=SWEEP)(
        app.task(
            name="firmaio:sweep", queue=MAINTENANCE, queueing_lock="firmaio:sweep",
            pass_context=True, priority=MAINTENANCE_PRIORITY,
        )(sweep)
    )  # fmt: skip
    periodic = app.periodic(cron=STALLED_CHECK)
    periodic(
        app.task(
            name="firmaio:retry_stalled",
            queue=MAINTENANCE,
            queueing_lock="firmaio:retry_stalled",
            pass_context=True,
            priority=MAINTENANCE_PRIORITY,
        )(retry_stalled)
    )
    delivery = app.task(name="firmaio:deliver", pass_context=True)(deliver)
    for shard in sorted({delivery_shard(tenant) for tenant in webhook_tenants}):
        app.periodic(
            cron=DELIVER, periodic_id=f"shard-{shard}", queue=MAINTENANCE,
            lock=f"firmaio:deliver:{shard}", queueing_lock=f"firmaio:deliver:{shard}",
            task_kwargs={"shard": shard},
        )(delivery)  # fmt: skip
    return app


def queue_of(tenant: str | None) -> str:
    """The queue of a tenant's flows (None: the default tenant): ``firmaio.`` and its name; for
    a name over 32 characters (a tenant's may have 63), its first 15 and a digest of the whole:
    a deferral's channel, ``procrastinate_queue_v1#`` and the queue, may have 63 bytes."""
    name = tenant or DEFAULT_TENANT
    if len(name) > 32:
        name = f"{name[:15]}.{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return f"firmaio.{name}"


async def defer(
    app: procrastinate.App,
    flow_ids: Iterable[str],
    *,
    tenant: str | None,
    at: datetime.datetime | None = None,
) -> int:
    """Queue a visit to each flow of ``tenant`` (now, or ``at``), each behind its tenant's
    visits already waiting (:func:`fair_priority`); a flow with a visit waiting keeps that one.
    How many were queued."""
    task, flow_ids = app.tasks["firmaio:tend"], list(flow_ids)
    if len(flow_ids) == 1:  # a visit's next one, the sweep's: one statement
        return int(await defer_one(app, task.name, flow_ids[0], queue_of(tenant), at))
    queued, queue = 0, queue_of(tenant)
    priority = await fair_priority(app, queue, at)
    flow_ids = list(dict.fromkeys(flow_ids))
    for start in range(0, len(flow_ids), BATCH):  # a statement per batch of visits
        batch = flow_ids[start : start + BATCH]
        done = await defer_many(app, task.name, batch, queue, at, priority - queued)
        if done is None:  # one was queued meanwhile by another process: one at a time
            done = await defer_each(task, batch, queue, at, priority - queued)
        queued += done
    await analyze_after(app, queued)
    return queued


async def visit_now(dsn: str, flows: Sequence[tuple[str, str | None]]) -> int:
    """Bring each flow's waiting visit forward to now, or queue one (``firmaio check``); on a
    store without the job queue's tables (no workers), nothing. How many flows it touched."""
    import psycopg

    from ..store.failures import postgres_error

    try:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
            found = await cursor.fetchone()
            if found is None or found[0] is None:
                return 0
            for flow_id, _tenant in flows:
                await conn.execute(
                    "UPDATE procrastinate_jobs SET scheduled_at = NOW() "
                    "WHERE queueing_lock = %s AND status = 'todo'",
                    (flow_id,),
                )
    except psycopg.Error as error:
        raise postgres_error(error, dsn) from None
    app = queue_app(dsn)
    async with app.open_async():  # a flow with no visit waiting (one under way) gets one
        for flow_id, tenant in flows:
            await defer(app, [flow_id], tenant=tenant)
    return len(flows)


async def install_schema(dsn: str) -> bool:
    """Install Procrastinate's tables in the database at ``dsn`` unless they are there (one
    process at a time), the index its fetch needs with many visits waiting
    (:data:`~.fairness.BY_LOCK`), and the workers' fetch by queue set (:func:`.fetch.install`).
    Whether it installed the tables."""
    import psycopg

    from ..store.failures import postgres_error

    try:
        async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
            found = await cursor.fetchone()
            installed = found is None or found[0] is None
            if installed:
                await conn.execute(SchemaManager.get_schema())
            await conn.execute(BY_LOCK)
            await fetch.install(conn)
            return installed
    except psycopg.Error as error:
        raise postgres_error(error, dsn) from None


async def reachable(dsn: str) -> None:
    """Whether the database at ``dsn`` answers now: one connection and ``SELECT 1``; a
    :class:`~firmaio.fsm.errors.StoreError` saying why not."""
    import psycopg

    from ..store.failures import postgres_error, postgres_label

    try:
        async with asyncio.timeout(REACHABLE_WITHIN):
            async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=2) as conn:
                await conn.execute("SELECT 1")
    except psycopg.Error as error:
        raise postgres_error(error, dsn) from None
    except TimeoutError:
        raise StoreUnavailable(
            f"{postgres_label(dsn)} did not answer within {REACHABLE_WITHIN:g} s"
        ) from None


REACHABLE_WITHIN = 3.0
"""Seconds :func:`reachable` waits for the database's answer."""
