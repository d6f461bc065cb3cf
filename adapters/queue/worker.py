"""Running workers and queueing flows: what ``firmaio worker`` and ``firmaio enqueue`` do.

:func:`work` runs one worker process until it is told to stop (:class:`WorkerHandle.stop`, which
``firmaio worker`` calls on SIGTERM or SIGINT): nothing new starts, flows under way stop at their
next step boundary with every record written, their jobs go back to the queue at once for the
other workers, and the worker leaves Procrastinate's table of live workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import procrastinate

from firmaio.fsm.driving import PollingPolicy
from firmaio.fsm.errors import InvalidInput, StoreUnavailable
from firmaio.fsm.ports import Clock, Store

from ..settings import worker_name
from ..tenants import DEFAULT_TENANT
from .jobs import MAINTENANCE, defer, install_schema, queue_app, queue_of
from .runtime import Runtime


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker process runs."""

    concurrency: int = 50
    """Jobs (flows) of each tenant run at once by this process."""
    name: str | None = None
    """This worker's name in Procrastinate's logs (default: host:pid)."""
    stalled_after: float = 30.0
    """Seconds without a heartbeat after which a worker's jobs go to the others."""
    heartbeat: float = 10.0
    """Seconds between two heartbeats of this worker."""


POLL = 1.0
"""Seconds between a lane's looks for jobs when no notification woke it: a visit queued while
its flow's previous job still held the lock is taken within this long of the lock's release."""


class WorkerHandle:
    """Stops a running :func:`work` cleanly, from a signal handler or another task."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        self.stopping.set()


async def work(
    dsn: str, runtime: Runtime, options: WorkerOptions, handle: WorkerHandle | None = None
) -> None:
    """Run flows as jobs until ``handle.stop()`` (see the module docstring)."""
    handle = handle or WorkerHandle()
    await install_schema(dsn)
    app = queue_app(dsn)
    name = options.name or worker_name()
    lanes = {MAINTENANCE: 1} | {queue_of(tenant): options.concurrency for tenant in runtime.tenants}
    async with app.open_async():
        workers = [
            asyncio.create_task(
                app.run_worker_async(
                    queues=[queue],
                    name=f"{name}/{queue}",
                    concurrency=concurrency,
                    fetch_job_polling_interval=POLL,
                    install_signal_handlers=False,
                    additional_context={
                        "firmaio": runtime,
                        "stalled_after": options.stalled_after,
                    },
                    update_heartbeat_interval=options.heartbeat,
                    stalled_worker_timeout=options.stalled_after,
                    delete_jobs="successful",
                )
            )
            for queue, concurrency in lanes.items()
        ]
        stopping = asyncio.create_task(handle.stopping.wait())
        await asyncio.wait({*workers, stopping}, return_when=asyncio.FIRST_COMPLETED)
        asked = handle.stopping.is_set()
        runtime.stop()  # flows under way stop at their next step boundary
        for worker in workers:
            worker.cancel()  # Procrastinate waits for the jobs under way, then unregisters
        stopping.cancel()
        ended = await asyncio.gather(*workers, return_exceptions=True)
    if not asked:  # a lane stopped by itself (the queue's database went away): not a clean stop
        cause = next((e for e in ended if not isinstance(e, asyncio.CancelledError)), None)
        why = type(cause).__name__ if isinstance(cause, BaseException) else "it ended"
        raise StoreUnavailable(
            f"the job queue stopped this worker ({why}); every flow under way stopped at a step "
            "boundary: start the worker again"
        )


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
