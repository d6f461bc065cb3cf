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
import contextlib
import functools
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from firmaio.fsm.driver import PollingPolicy
from firmaio.fsm.durable import Boundary, DurableDriver
from firmaio.fsm.errors import ApiConfigurationError, ApiError, StaleFlow
from firmaio.fsm.hooks import Hooks
from firmaio.fsm.ports import Clock, FlowRow, SignatureApi, StatusReader, StepTracer, Store
from firmaio.fsm.resend import ResendPolicy
from firmaio.fsm.states import State
from firmaio.fsm.steps import RESTING


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
    unsettled: dict[str, str] = field(default_factory=dict)
    """Flows that stopped short of rest on an answer no guard accepted (state, reason)."""
    rows: list[FlowRow] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.state for row in self.rows)


class BatchRun:
    """One worker's run over a set of flows (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        api: SignatureApi,
        clock: Clock,
        ids: Sequence[str],
        *,
        worker: str | None = None,
        concurrency: int = 20,
        lease: float = 60.0,
        policy: PollingPolicy | None = None,
        on_boundary: Boundary | None = None,
        recovery_grace: float | None = None,
        resend: ResendPolicy | None = None,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
        progress: Callable[[RunReport], None] | None = None,
        status_reader: StatusReader | None = None,
    ) -> None:
        self.store, self.clock, self.ids = store, clock, list(ids)
        self.worker = worker or worker_name()
        self.concurrency, self.lease = concurrency, lease
        self._refill = max(1, concurrency // 4)
        self.policy = policy or PollingPolicy()
        self.driver = DurableDriver(
            api,
            clock,
            store,
            policy=self.policy,
            on_boundary=on_boundary,
            status_reader=status_reader,
            resend=resend,
            hooks=hooks,
            tracer=tracer,
            actor=self.worker,
        )
        if recovery_grace is not None:
            self.driver.recovery_grace = recovery_grace
        self.progress = progress
        self.report = RunReport(worker=self.worker, total=len(self.ids))
        self.scope = dict.fromkeys(self.ids)
        """The flows this run may still drive (an ordered set)."""
        self.running: dict[str, asyncio.Task[tuple[State, str | None]]] = {}
        self._done: asyncio.Queue[str] = asyncio.Queue()
        self._renewed = self._shown = time.monotonic()
        self._finished: list[str] = []
        """Flows done in this run whose leases are still to be given up."""

    async def _drive(self, request_id: str) -> tuple[State, str | None]:
        flow = await self.driver.open(request_id)
        state = await self.driver.advance(flow)
        return state, flow.history[-1].reason if flow.history else None

    def stop(self) -> None:
        """Claim nothing more; flows under way stop at their next step boundary."""
        self.driver.stop_requested = True

    async def _fill(self) -> None:
        if self.driver.stop_requested:
            return
        free = self.concurrency - len(self.running)
        if free <= 0 or (self.running and free < self._refill):
            return  # claim in batches: a claim's query costs the same for one flow or many
        await self._release_finished()
        idle = [request_id for request_id in self.scope if request_id not in self.running]
        if not idle:
            return
        claimed = await self.store.claim(
            self.worker, limit=free, lease=self.lease, now=self.clock.now(), ids=idle
        )
        for request_id in claimed:  # none of them is running: only idle flows were asked for
            task = asyncio.create_task(self._drive(request_id))
            task.add_done_callback(functools.partial(self._on_done, request_id))
            self.running[request_id] = task

    def _on_done(self, request_id: str, _task: asyncio.Task[tuple[State, str | None]]) -> None:
        self._done.put_nowait(request_id)

    async def _collect(self, finished: list[str]) -> None:
        """Account for finished flows; each finished flow costs O(1), whatever the batch size.
        Their leases are given up with the next claim, in one write."""
        self._finished.extend(finished)
        for request_id in finished:
            _account(self.report, request_id, self.running.pop(request_id), self.scope)
        now = time.monotonic()
        if self.progress is not None and finished and now - self._shown >= 0.5:
            self._shown = now
            self.report.rows = await self.store.rows(self.ids)
            self.progress(self.report)

    async def _release_finished(self) -> None:
        if self._finished:
            finished, self._finished = self._finished, []
            await self.store.release(self.worker, finished)

    async def _renew_if_due(self) -> None:
        now = time.monotonic()
        if self.running and now - self._renewed >= self.lease / 3:
            self._renewed = now
            await self.store.renew(
                self.worker, list(self.running), lease=self.lease, now=self.clock.now()
            )

    async def _next_finished(self) -> list[str]:
        """Wait for a flow to finish (or for the next lease renewal); take all that finished."""
        finished = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.lease / 3):
                finished.append(await self._done.get())
        while not self._done.empty():
            finished.append(self._done.get_nowait())
        return finished

    async def run(self) -> RunReport:
        """Register the flows, then drive them until none of them needs driving."""
        now = self.clock.now()
        deadline = now + self.policy.activation_timeout
        await self.store.create_many(self.ids, activation_deadline=deadline, now=now)
        try:
            while True:
                await self._fill()
                if not self.running:
                    if self.driver.stop_requested or not self.scope:
                        break
                    if await self.store.pending(list(self.scope)) == 0:
                        break
                    await self.clock.sleep(min(1.0, self.lease / 4))  # held by others
                    continue
                finished = await self._next_finished()
                await self._renew_if_due()
                await self._collect(finished)
        finally:
            for task in self.running.values():
                task.cancel()
            self._finished.extend(self.running)
            await self._release_finished()
        if self.progress is not None:
            self.progress(self.report)
        self.report.rows = await self.store.rows(self.ids)
        return self.report


def _account(
    report: RunReport,
    request_id: str,
    task: asyncio.Task[tuple[State, str | None]],
    scope: dict[str, None],
) -> None:
    error = task.exception()
    if error is None:
        state, reason = task.result()
        del scope[request_id]  # at rest, or refused short of it: either way done for this run
        if state in RESTING:
            report.driven += 1
        else:  # refused short of rest: driving it again now would only repeat the same call
            report.unsettled[request_id] = f"{state}: {reason}"
    elif isinstance(error, StaleFlow):
        report.conflicts += 1
    elif isinstance(error, ApiConfigurationError):
        raise error
    elif isinstance(error, ApiError):
        report.errors[request_id] = str(error)
        del scope[request_id]  # not again in this run; the next run resumes it
    else:
        raise error
