"""Batch runs: many durable flows driven to rest, concurrently, by one process.

A run registers the flows it is given (an existing flow is left as it is), then drives each one
that needs driving to its next resting state with a :class:`~fsm.driving.durable.DurableDriver`, up
to the settings' ``concurrency`` at a time. :meth:`~firmaio.adapters.factory.Factory.batch`
builds one (its driver with it). Rerunning resumes: resting flows are skipped, the others go on from
their stored state. Several processes on one store never both win a step of a flow (every write
is a compare-and-set: the loser counts a conflict and leaves the flow to the winner), but sharing
flows between processes is a task queue's job: :mod:`firmaio.adapters.queue`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from firmaio.fsm.driving import DurableDriver
from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiError,
    FlowBusy,
    InvalidInput,
    StaleFlow,
)
from firmaio.fsm.machine import RESTING, State
from firmaio.fsm.ports import FlowRow, Store

from .flow_locks import FlowLocks
from .settings import Settings


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
    attention: dict[str, str] = field(default_factory=dict)
    """Flows whose request reads a status the table does not know (the status): open,
    watched, and for a person to look at."""
    rows: list[FlowRow] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.state for row in self.rows)


class BatchRun:
    """One process's run over a set of flows (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        driver: DurableDriver,
        ids: Sequence[str],
        *,
        progress: Callable[[RunReport], None] | None = None,
        locks: FlowLocks | None = None,
        dossier_id: str | None = None,
    ) -> None:
        if driver.store is not store:
            raise InvalidInput("a batch run's driver must keep its flows in the run's store")
        self.settings, self.store, self.driver, self.ids = settings, store, driver, list(ids)
        self.clock = driver.clock
        self.worker, self.tenant = settings.worker, settings.tenant
        self.dossier_id = dossier_id
        """The dossier new flows are registered in (a later serve reads them from its listing)."""
        self.progress = progress
        self.locks = locks
        """With PostgreSQL, each flow is locked for other processes while this run drives it."""
        self.report = RunReport(worker=self.worker, total=len(self.ids))
        self._shown = time.monotonic()
        self._fatal: BaseException | None = None

    async def _drive(self, request_id: str) -> tuple[State, str | None]:
        if self.locks is None:
            return await self._drive_now(request_id)
        async with self.locks.hold(request_id) as held:
            if not held:  # another process is on it: a conflict, left to it
                raise FlowBusy(request_id)
            return await self._drive_now(request_id)

    async def _drive_now(self, request_id: str) -> tuple[State, str | None]:
        try:
            flow = await self.driver.open(request_id, tenant=self.tenant)
            state = await self.driver.advance(flow)
            if flow.unknown_status is not None:
                self.report.attention[request_id] = flow.unknown_status
        finally:
            self.driver.forget(request_id)
        return state, flow.history[-1].reason if flow.history else None

    def stop(self) -> None:
        """Start no more flows; flows under way stop at their next step boundary."""
        self.driver.stop_requested = True

    async def _lane(self, todo: deque[str]) -> None:
        """Drive flows from ``todo`` one after another until it is empty or the run stops."""
        while todo and not self.driver.stop_requested:
            request_id = todo.popleft()
            try:
                outcome: tuple[State, str | None] | BaseException = await self._drive(request_id)
            except Exception as error:  # sorted out by _account
                outcome = error
            try:
                _account(self.report, request_id, outcome)
            except BaseException as fatal:  # a wrong key: every other flow would fail the same
                self._fatal = fatal
                self.stop()
                return
            await self._show()

    async def _show(self) -> None:
        now = time.monotonic()
        if self.progress is not None and now - self._shown >= 0.5:
            self._shown = now
            self.report.rows = await self.store.rows(self.ids)
            self.progress(self.report)

    async def run(self) -> RunReport:
        """Register the flows, then drive those that need it until each rests or fails."""
        others = [r.flow_id for r in await self.store.rows(self.ids) if r.tenant != self.tenant]
        if others:  # its key is not theirs: the service would answer 404 and fail them
            raise InvalidInput(
                f"{len(others)} of these flows belong to another tenant than "
                f"{self.tenant or 'default'!r} (first: {others[0]}); nothing was done"
            )
        now = self.clock.now()
        deadline = now + self.driver.policy.activation_timeout
        await self.store.create_many(
            self.ids, activation_deadline=deadline, now=now, tenant=self.tenant,
            dossier_id=self.dossier_id,
        )  # fmt: skip
        driven = self.driver.engine.steps.driven
        rows = await self.store.rows(self.ids)
        todo = deque(r.flow_id for r in rows if State(r.state) in driven or r.intent is not None)
        lanes = [self._lane(todo) for _ in range(min(self.settings.concurrency, len(todo)))]
        await asyncio.gather(*lanes)
        if self._fatal is not None:
            raise self._fatal
        self.report.rows = await self.store.rows(self.ids)
        if self.progress is not None:  # the last line: the counts the summary shows
            self.progress(self.report)
        return self.report


def _account(
    report: RunReport, request_id: str, outcome: tuple[State, str | None] | BaseException
) -> None:
    if not isinstance(outcome, BaseException):
        state, reason = outcome
        if state in RESTING:
            report.driven += 1
        else:  # refused short of rest: driving it again now would only repeat the same call
            report.unsettled[request_id] = f"{state}: {reason}"
    elif isinstance(outcome, StaleFlow):
        report.conflicts += 1
    elif isinstance(outcome, ApiConfigurationError):
        raise outcome
    elif isinstance(outcome, ApiError):
        report.errors[request_id] = str(outcome)  # the next run resumes it
    elif isinstance(outcome, InvalidInput):  # this flow's own: a PDF from `send` needing input
        report.unsettled[request_id] = f"needs input: {outcome}"
    else:
        raise outcome
