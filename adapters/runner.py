"""Batch runs: many durable flows driven to rest, concurrently, by workers that claim them.

A worker registers the flows it is given (an existing flow is left as it is), then loops: claim
up to ``concurrency`` flows that need driving and nobody else holds, drive each to its next
resting state with a :class:`~fsm.durable.DurableDriver`, renew the leases while they run, and
stop when none of its flows needs driving. Several workers, in several processes or on several
machines sharing one PostgreSQL database, share the work; a worker that dies leaves its flows to
the others once its leases expire. Rerunning resumes: resting flows are skipped, the others go
on from their stored state.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from adapters.store import FlowRow, SqlStore
from fsm.driver import PollingPolicy
from fsm.durable import Boundary, DurableDriver
from fsm.errors import ApiConfigurationError, ApiError, StaleFlow
from fsm.ports import Clock, SignatureApi


def worker_name() -> str:
    """This process's worker id: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunReport:
    """What a batch run did."""

    worker: str
    total: int
    driven: int = 0
    conflicts: int = 0
    """Flows another worker changed first: left to it, nothing written by this one."""
    errors: dict[str, str] = field(default_factory=dict)
    """Flows whose API calls failed after retries: they resume on the next run."""
    rows: list[FlowRow] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.state for row in self.rows)


class BatchRun:
    """One worker's run over a set of flows (see the module docstring)."""

    def __init__(
        self,
        store: SqlStore,
        api: SignatureApi,
        clock: Clock,
        ids: Sequence[str],
        *,
        worker: str | None = None,
        concurrency: int = 20,
        lease: float = 60.0,
        policy: PollingPolicy | None = None,
        on_boundary: Boundary | None = None,
        progress: Callable[[RunReport], None] | None = None,
    ) -> None:
        self.store, self.clock, self.ids = store, clock, list(ids)
        self.worker = worker or worker_name()
        self.concurrency, self.lease = concurrency, lease
        self.policy = policy or PollingPolicy()
        self.driver = DurableDriver(api, clock, store, policy=self.policy, on_boundary=on_boundary)
        self.progress = progress
        self.report = RunReport(worker=self.worker, total=len(self.ids))
        self.scope = list(self.ids)
        self.running: dict[str, asyncio.Task[None]] = {}

    async def _drive(self, request_id: str) -> None:
        flow = self.driver.open(request_id)
        await self.driver.advance(flow)

    def _fill(self) -> None:
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        claimed = self.store.claim(
            self.worker, limit=free, lease=self.lease, now=self.clock.now(), ids=self.scope
        )
        for request_id in claimed:
            if request_id not in self.running:
                self.running[request_id] = asyncio.create_task(self._drive(request_id))

    def _collect(self, finished: set[asyncio.Task[None]]) -> None:
        for request_id, task in list(self.running.items()):
            if task in finished:
                del self.running[request_id]
                self.store.release(self.worker, [request_id])
                _account(self.report, request_id, task, self.scope)
        if self.progress is not None and finished:
            self.report.rows = self.store.rows(self.ids)
            self.progress(self.report)

    async def run(self) -> RunReport:
        """Register the flows, then drive them until none of them needs driving."""
        now = self.clock.now()
        for request_id in self.ids:
            deadline = now + self.policy.activation_timeout
            self.store.create(request_id, activation_deadline=deadline, now=now)
        try:
            while True:
                self._fill()
                if not self.running:
                    if self.store.pending(self.scope) == 0:
                        break
                    await self.clock.sleep(min(1.0, self.lease / 4))  # held by others
                    continue
                finished, _ = await asyncio.wait(
                    self.running.values(),
                    timeout=self.lease / 3,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                self.store.renew(
                    self.worker, list(self.running), lease=self.lease, now=self.clock.now()
                )
                self._collect(finished)
        finally:
            for task in self.running.values():
                task.cancel()
            self.store.release(self.worker, list(self.running))
        self.report.rows = self.store.rows(self.ids)
        return self.report


def _account(
    report: RunReport, request_id: str, task: asyncio.Task[None], scope: list[str]
) -> None:
    error = task.exception()
    if error is None:
        report.driven += 1
    elif isinstance(error, StaleFlow):
        report.conflicts += 1
    elif isinstance(error, ApiConfigurationError):
        raise error
    elif isinstance(error, ApiError):
        report.errors[request_id] = str(error)
        scope.remove(request_id)  # not again in this run; the next run resumes it
    else:
        raise error
