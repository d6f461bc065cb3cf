"""A manifest's rows sent on one process: each good row a flow from its PDFs, driven to rest
concurrently, under the key's rate window (the client's, shared in PostgreSQL as ``run``'s is).

The rows are written first (:meth:`~.store.AsyncStore.save_batch`: each good row's flow id,
each bad row's reasons), then each flow is opened (made, or resumed from the store: the same
manifest again creates nothing new), tied to the batch before its first record (so every event
carries ``data.batch_id``), and driven. A closed flow is left as it is. The fiscal codes live in
the manifest's orders, in memory, for the run only.

One process per batch: the rows' fiscal codes are in the manifest this process read, and a
flow from a PDF is driven only by the process that holds its fiscal code until its signer is
found (workers never see it). After the set-up, each flow is an ordinary stored flow: ``run``,
``serve`` or the workers watch it like any other.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from firmaio.fsm.driving import DurableDriver
from firmaio.fsm.errors import FlowBusy, FsmError
from firmaio.fsm.machine import TERMINAL

from .flow_locks import FlowLocks
from .manifest import Manifest, Row
from .store import AsyncStore


@dataclass(slots=True)
class BatchSent:
    """What one run of a manifest did: each good row's state, and the rows that raised."""

    batch_id: str
    states: Counter[str] = field(default_factory=Counter)
    errors: dict[int, str] = field(default_factory=dict)
    """Rows whose flow could not go on this run (by line): the error, without personal data."""


async def send_batch(
    manifest: Manifest,
    store: AsyncStore,
    driver: DurableDriver,
    *,
    concurrency: int = 20,
    tenant: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    locks: FlowLocks | None = None,
    lock_wait: float = 0.0,
) -> BatchSent:
    """Send every good row of ``manifest`` (see the module's docstring). With ``locks`` (a
    PostgreSQL store), each flow is driven holding its lock, as ``run`` does: a flow another
    process is on (``serve``, a worker) for longer than ``lock_wait`` is left for the next
    run, its row said not finished."""
    await store.save_batch(
        manifest.batch_id,
        [
            (row.line, row.reference, manifest.flow_id(row) if row.order else None,
             "; ".join(row.problems) if row.problems else None)
            for row in manifest.rows
        ],
    )  # fmt: skip
    sent = BatchSent(manifest.batch_id)
    todo = list(manifest.good)
    total, done = len(todo), 0

    async def lane() -> None:
        nonlocal done
        while todo:
            row = todo.pop(0)
            await _one(manifest, row, store, driver, tenant, sent, locks, lock_wait)
            done += 1
            if progress is not None:
                progress(done, total)

    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, total)))))
    return sent


async def _one(
    manifest: Manifest,
    row: Row,
    store: AsyncStore,
    driver: DurableDriver,
    tenant: str | None,
    sent: BatchSent,
    locks: FlowLocks | None,
    lock_wait: float,
) -> None:
    flow_id = manifest.flow_id(row)
    try:
        async with AsyncExitStack() as held:
            if locks is not None and not await held.enter_async_context(
                locks.hold(flow_id, wait=lock_wait)
            ):
                raise FlowBusy(flow_id)
            flow = await driver.open(flow_id, tenant=tenant, order=row.order)
            await store.tie_to_batch(flow_id, manifest.batch_id)  # once: a tied flow is kept
            if flow.state not in TERMINAL:
                await driver.advance(flow)
            sent.states[str(flow.state)] += 1
    except FsmError as error:
        sent.errors[row.line] = str(error)
    finally:
        driver.forget(flow_id)
