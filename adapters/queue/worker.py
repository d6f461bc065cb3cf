"""Running workers and queueing flows: what ``firmaio worker`` and ``firmaio enqueue`` do.

:func:`work` runs one worker process until it is told to stop (:class:`WorkerHandle.stop`, which
``firmaio worker`` calls on SIGTERM or SIGINT): nothing new starts, every wait under way (a
recovery grace, a backoff) ends at once, flows stop at their next step boundary with every record
written; a job still on a call ``stop_within`` seconds later is cut off (its flow's open intent is
recovered by the next worker), and every job goes back to the queue at once for the other
workers; the worker leaves Procrastinate's table of live workers.

A lane that stops by itself has lost the queue's database (a restart, a failover): the worker
rides the outage out (:class:`~firmaio.adapters.outage.Outage`: one line when it begins, one
when it ends), waiting with a backoff until the database answers, then starts the lane again;
its jobs under way when it stopped go back to the queue once their heartbeat is
``stalled_after`` old. The worker's start (its windows, its settings check, the queue's schema
and pool: :meth:`WorkerHandle.through`) rides out the same outage, and a worker told to stop
once the database answers again says the outage is over before it stops. Past
``store_outage_limit`` it stops with :class:`~firmaio.fsm.errors.StoreUnavailable` saying so
(``firmaio worker`` exits 7), whichever step found the database gone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import procrastinate

from firmaio.fsm.driving import PollingPolicy
from firmaio.fsm.errors import InvalidInput, StoreError, StoreUnavailable
from firmaio.fsm.ports import Clock, Store

from ..outage import Outage, log_line
from ..settings import STORE_OUTAGE_LIMIT, worker_name
from ..store.failures import postgres_error
from ..tenants import DEFAULT_TENANT
from .fetch import fetch_from, register, set_key
from .jobs import MAINTENANCE, defer, install_schema, queue_app, queue_of, reachable
from .runtime import Runtime


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker process runs."""

    concurrency: int = 50
    """Jobs (flows) this process runs at once, every tenant's together (shared fairly)."""
    name: str | None = None
    """This worker's name in Procrastinate's logs (default: host:pid)."""
    stalled_after: float = 30.0
    """Seconds without a heartbeat after which a worker's jobs go to the others."""
    heartbeat: float = 10.0
    """Seconds between two heartbeats of this worker."""
    stop_within: float = 5.0
    """Seconds the flows under way get to reach a step boundary once the worker is told to
    stop; a job still running then (a call under way) is cut off and handed back. Keep it
    under ``stalled_after - heartbeat``, so no other worker is handed a job still running."""
    store_outage_limit: float = STORE_OUTAGE_LIMIT
    """Seconds the worker rides out a queue database it cannot reach before it stops."""


LANE = "jobs"
"""The one lane of a worker process: a Procrastinate worker over the maintenance queue and every
tenant's (the tenants share its ``concurrency`` through the jobs' priorities: :mod:`.jobs`);
its fetch takes only the jobs of its queue set (:mod:`.fetch`)."""

POLL = 1.0
"""Seconds between a lane's looks for jobs when no notification woke it: a visit queued while
its flow's previous job still held the lock is taken within this long of the lock's release."""


class WorkerHandle:
    """Stops a running :func:`work` cleanly, from a signal handler or another task; ``say``
    gets the worker's lines about a store outage (default: a structlog warning)."""

    def __init__(self, say: Callable[[str], None] = log_line) -> None:
        self.stopping = asyncio.Event()
        self.say = say
        self._outage: Outage | None = None

    def stop(self) -> None:
        self.stopping.set()

    def outage(self, limit: float) -> Outage:
        """This worker's outage of its database, one for its whole life (made on first use):
        an outage that spans its start and its lanes is said once, and its limit counts from
        when it began."""
        if self._outage is None:
            self._outage = Outage(limit, what="the job queue's database", say=self.say)
        return self._outage

    async def through(self, attempt: Callable[[], Awaitable[object]], limit: float) -> bool:
        """``attempt()`` until it is done (True) or the worker is told to stop (False), riding
        out this worker's outage on the way (:meth:`Outage.through`): :func:`work` says when
        it is over, once the lanes run."""
        return await self.outage(limit).through(attempt, self.stopping)


async def work(
    dsn: str, runtime: Runtime, options: WorkerOptions, handle: WorkerHandle | None = None
) -> None:
    """Run flows as jobs until ``handle.stop()`` (see the module docstring)."""
    handle = handle or WorkerHandle()
    limit = options.store_outage_limit
    if not await handle.through(lambda: install_schema(dsn), limit):
        return
    # one lane over every queue: one listening connection, one poll, one heartbeat; its fetch
    # takes jobs of this worker's queues only, named by their set's key (:mod:`.fetch`)
    queues = [MAINTENANCE, *(queue_of(tenant) for tenant in runtime.tenants)]
    if not await handle.through(lambda: register(dsn, queues), limit):
        return
    app = queue_app(dsn, [target.tenant for target in runtime.tenants.webhooks()])
    fetch_from(app, set_key(queues), queues)
    name = options.name or worker_name()
    lanes = [LANE]
    context = {"firmaio": runtime, "stalled_after": options.stalled_after}

    def start(_lane: str) -> asyncio.Task[None]:
        return asyncio.create_task(
            app.run_worker_async(  # no queues: it listens on its own queues' deferrals,
                name=name,  # and fetches from this worker's queue set only (.fetch)
                concurrency=options.concurrency,
                fetch_job_polling_interval=POLL,
                install_signal_handlers=False,
                additional_context=context,
                update_heartbeat_interval=options.heartbeat,
                stalled_worker_timeout=options.stalled_after,
                shutdown_graceful_timeout=options.stop_within,
                delete_jobs="successful",
            )
        )

    if not await handle.through(lambda: _open(app, dsn), limit):
        return
    running = {queue: start(queue) for queue in lanes}
    try:
        await _supervise(app, dsn, running, start, options, handle)
    finally:
        runtime.stop()  # flows under way stop at their next step boundary, waits end
        for lane in running.values():
            lane.cancel()  # Procrastinate waits stop_within for the jobs, then unregisters
        await asyncio.gather(*running.values(), return_exceptions=True)
        pool: Any = getattr(app.connector, "pool", None)
        if pool is not None:  # its reconnections to a database gone need not be waited for
            await pool.close(timeout=1.0)
        with contextlib.suppress(Exception):
            await app.close_async()


OPEN_WITHIN = 5.0
"""Seconds the queue's pool gets to make its first connection when the worker starts."""


async def _open(app: procrastinate.App, dsn: str) -> None:
    """Open the queue's pool; a database that does not let it is a StoreUnavailable (and the
    half-made pool is closed, so the next try starts afresh)."""
    import psycopg

    try:
        async with asyncio.timeout(OPEN_WITHIN):
            await app.open_async()
    except (psycopg.Error, TimeoutError) as error:
        with contextlib.suppress(Exception):
            await app.close_async()
        if isinstance(error, psycopg.Error):
            raise postgres_error(error, dsn) from None
        raise StoreUnavailable(
            f"the job queue's pool made no connection within {OPEN_WITHIN:g} s"
        ) from None


STEADY = 3.0
"""Seconds the restarted lanes must run without stopping before an outage counts as over."""

LOOK_EVERY = 2.0
"""Seconds between two looks at the queue's database while no lane stops: an outage is seen
within this long even while the lanes wait for a connection of their pool."""


async def _supervise(
    app: procrastinate.App,
    dsn: str,
    running: dict[str, asyncio.Task[None]],
    start: Callable[[str], asyncio.Task[None]],
    options: WorkerOptions,
    handle: WorkerHandle,
) -> None:
    """Until a stop: look at the queue's database every :data:`LOOK_EVERY` seconds (during an
    outage, after each wait of its backoff) and whenever a lane stops; start each stopped lane
    again once the database answers; the outage is over once the lanes have run
    :data:`STEADY` seconds with the database answering (a lane still waiting on a connection
    the outage cut stops within that), or at once if the worker is told to stop with the
    database answering. StoreUnavailable when it lasts longer than the limit (a lane that keeps
    stopping, the database answering or not, counts as one outage)."""
    outage = handle.outage(options.store_outage_limit)
    loop = asyncio.get_running_loop()
    stopping = asyncio.create_task(handle.stopping.wait())
    down: dict[str, BaseException | None] = {}
    started: float | None = loop.time() if outage.under_way else None
    """When the lanes (re)started during the outage under way (None: they did not)."""
    answered = True
    """Whether the database answered at the last look."""
    try:
        while not handle.stopping.is_set():
            lanes = {*running.values(), stopping}
            wait = _next_look(outage, started, loop.time())
            await asyncio.wait(lanes, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if handle.stopping.is_set():
                break
            for queue in [queue for queue, lane in running.items() if lane.done()]:
                down[queue] = _cause(running.pop(queue), dsn)
            try:
                await reachable(dsn)
            except StoreError as error:
                answered, started = False, None
                outage.failed(error)  # says it once; raises past the limit
                continue
            answered = True
            if down:  # the database answers: start them again
                why = next((c for c in down.values() if c is not None), None)
                outage.failed(why or StoreError("a lane of the job queue stopped by itself"))
                await _fresh_pool(app)
                for queue in down:
                    running[queue] = start(queue)
                down.clear()
                started = loop.time()
            else:
                started = _steady(outage, started, loop.time())
        if answered:  # stopping with the database back: this outage is over
            outage.recovered()
    finally:
        stopping.cancel()


def _steady(outage: Outage, started: float | None, now: float) -> float | None:
    """The database answers and every lane runs: when the lanes began to run steadily during
    the outage under way (it answers again: they have :data:`STEADY` seconds to show it), or
    None once the outage is over (said here) or if none is under way."""
    if not outage.under_way:
        return None
    if started is None:
        return now
    if now - started >= STEADY:
        outage.recovered()
        return None
    return started


def _next_look(outage: Outage, started: float | None, now: float) -> float:
    """Seconds until the supervisor looks again: when the restarted lanes have run
    :data:`STEADY` seconds, the outage's next backoff, or :data:`LOOK_EVERY`."""
    if started is not None:
        return max(started + STEADY - now, 0.0)
    if outage.under_way:
        return outage.next_wait()
    return LOOK_EVERY


async def _fresh_pool(app: procrastinate.App) -> None:
    """Replace the pool's connections the outage cut (so the lanes start on good ones)."""
    pool: Any = getattr(app.connector, "pool", None)
    if pool is not None:
        with contextlib.suppress(Exception):  # the lanes' own calls say if it still fails
            await pool.check()


def _cause(lane: asyncio.Task[None], dsn: str) -> BaseException | None:
    """Why a lane stopped, in the store's terms where the database failed (its text keeps no
    password); retrieving it keeps asyncio quiet about it."""
    with contextlib.suppress(asyncio.CancelledError):
        cause = lane.exception()
        seen = cause
        while seen is not None:
            if type(seen).__module__.startswith("psycopg") and isinstance(seen, Exception):
                return postgres_error(seen, dsn)
            seen = seen.__cause__ or seen.__context__
        return cause
    return None


async def enqueue(
    dsn: str,
    store: Store,
    clock: Clock,
    flow_ids: Sequence[str],
    *,
    tenant: str | None = None,
    dossier_id: str | None = None,
    policy: PollingPolicy | None = None,
) -> int:
    """Register the flows (for ``tenant``, in ``dossier_id``) and queue a visit to each that has
    none waiting, on the tenant's queue. How many visits were queued. A flow already stored for
    another tenant is refused before anything is written (:class:`InvalidInput`)."""
    others = [r.flow_id for r in await store.rows(list(flow_ids)) if r.tenant != tenant]
    if others:
        raise InvalidInput(
            f"{len(others)} of these flows belong to another tenant than "
            f"{tenant or DEFAULT_TENANT!r} (first: {others[0]}); nothing was queued"
        )
    now = clock.now()
    deadline = now + (policy or PollingPolicy()).activation_timeout
    await store.create_many(
        list(flow_ids), activation_deadline=deadline, now=now, tenant=tenant, dossier_id=dossier_id
    )
    await install_schema(dsn)
    app: procrastinate.App = queue_app(dsn)
    async with app.open_async():
        return await defer(app, flow_ids, tenant=tenant)
