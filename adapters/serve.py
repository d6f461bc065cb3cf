"""The long-running mode (``firmaio serve``): every stored flow kept moving until it closes.

A signature request lives for days. :class:`Service` loops over the store, one pass per ``tick``:

1. flows that need driving (READY, an activated request not yet notified, a refusal not yet
   answered with the fallback, an open notification intent) are driven to rest by a
   :class:`~firmaio.adapters.runner.BatchRun`;
2. flows resting in FALLBACK_SUGGESTED whose later attempt is due (:class:`ResendPolicy`: IO's
   catch-all, and re-notification if configured) get it;
3. flows at rest (NOTIFIED, FALLBACK_SUGGESTED) not checked for ``watch_every`` seconds get a
   ``check_status``, so a request signed, rejected or cancelled on the issuer's side is recorded.

:meth:`Service.stop` (``firmaio serve`` calls it on SIGTERM or SIGINT) stops cleanly: nothing new
starts, every call under way finishes and its record is written; a restart
goes on from the store. One service per store and tenant (the flows of other tenants are left
alone: their keys are not this service's); many workers on one PostgreSQL store run as jobs of a
task queue instead (:mod:`firmaio.adapters.queue`, ``firmaio worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from firmaio.fsm.driving import DurableDriver, Flow, Hooks, PollingPolicy, ResendPolicy
from firmaio.fsm.errors import ApiConfigurationError, ApiError, StaleFlow, StoreUnavailable
from firmaio.fsm.machine import DEFAULT_STEPS, ISSUER_INITIAL, TERMINAL, State, Trigger
from firmaio.fsm.ports import Clock, SignatureApi, StatusReader, StepTracer, Store

from .client import setup_for
from .flow_locks import FlowLocks
from .runner import BatchRun, worker_name


@dataclass
class ServeReport:
    """What a service did until it stopped."""

    passes: int = 0
    driven: int = 0
    later_attempts: int = 0
    checks: int = 0
    errors: int = 0


class Service:
    """Keeps every flow of ``store`` moving (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        api: SignatureApi,
        clock: Clock,
        *,
        worker: str | None = None,
        concurrency: int = 20,
        tenant: str | None = None,
        tick: float = 5.0,
        watch_every: float = 3600.0,
        policy: PollingPolicy | None = None,
        resend: ResendPolicy | None = None,
        hooks: Hooks | None = None,
        recovery_grace: float | None = None,
        tracer: StepTracer | None = None,
        locks: FlowLocks | None = None,
        listing: Callable[[str], StatusReader] | None = None,
    ) -> None:
        self.store, self.api, self.clock = store, api, clock
        self.listing = listing
        """How to read the statuses of one dossier's flows from its listing (flows registered
        with their dossier); without it, one request at a time."""
        self._readers: dict[str, StatusReader] = {}
        self.worker = worker or worker_name()
        self.concurrency, self.tenant = concurrency, tenant
        self._actor = self.worker if tenant is None else f"{self.worker}/{tenant}"
        self.tick, self.watch_every = tick, watch_every
        self.policy, self.resend, self.hooks = policy, resend, hooks
        self.recovery_grace = recovery_grace
        self.tracer = tracer
        self.locks = locks
        """With PostgreSQL, each flow is locked for other processes while this one is on it."""
        self.report = ServeReport()
        self._stopping = asyncio.Event()
        self._log = structlog.get_logger("firmaio.adapters.serve")
        self._batches: list[BatchRun] = []
        self._drivers: dict[str | None, DurableDriver] = {}

    def _reader(self, dossier_id: str | None) -> StatusReader | None:
        if dossier_id is None or self.listing is None:
            return None
        if dossier_id not in self._readers:
            self._readers[dossier_id] = self.listing(dossier_id)
        return self._readers[dossier_id]

    def _driver(self, dossier_id: str | None) -> DurableDriver:
        """The driver of resting flows of one dossier (None: read one request at a time)."""
        driver = self._drivers.get(dossier_id)
        if driver is None:
            driver = DurableDriver(
                self.api, self.clock, self.store, policy=self.policy, resend=self.resend,
                hooks=self.hooks, tracer=self.tracer, actor=self._actor,
                status_reader=self._reader(dossier_id), setup=setup_for(self.api),
            )  # fmt: skip
            if self.recovery_grace is not None:
                driver.recovery_grace = self.recovery_grace
            driver.stop_requested = self._stopping.is_set()
            self._drivers[dossier_id] = driver
        return driver

    def stop(self) -> None:
        """Start nothing new; let calls under way finish; then :meth:`run` returns."""
        self._stopping.set()
        for driver in self._drivers.values():
            driver.stop_requested = True
        for batch in self._batches:
            batch.stop()

    async def run(self, ids: Sequence[str] = (), *, dossier_id: str | None = None) -> ServeReport:
        """Register ``ids`` (if any, for this service's tenant, in ``dossier_id``), then pass
        over the store until :meth:`stop`."""
        if ids:
            now = self.clock.now()
            deadline = now + (self.policy or PollingPolicy()).activation_timeout
            await self.store.create_many(
                list(ids), activation_deadline=deadline, now=now, tenant=self.tenant,
                dossier_id=dossier_id,
            )  # fmt: skip
        while not self._stopping.is_set():
            try:
                await self._pass()
            except StoreUnavailable as outage:  # a blip: every write is whole; try next pass
                self.report.errors += 1
                self._log.error("firmaio.serve.store_unavailable", error=str(outage))
            self.report.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick)
        return self.report

    async def _pass(self) -> None:
        rows = [r for r in await self.store.rows() if r.tenant == self.tenant]
        driven = DEFAULT_STEPS.driven
        pending: dict[str | None, list[str]] = {}  # by dossier: one listing answers each
        for r in rows:
            unsent = r.state == ISSUER_INITIAL and r.seq == 0  # only its `send` holds its input
            if (State(r.state) in driven or r.intent is not None) and not unsent:
                pending.setdefault(r.dossier_id, []).append(r.flow_id)
        if pending and not self._stopping.is_set():
            share = max(1, self.concurrency // len(pending))
            self._batches = [
                BatchRun(
                    self.store,
                    self.api,
                    self.clock,
                    ids,
                    worker=self.worker,
                    concurrency=share,
                    tenant=self.tenant,
                    policy=self.policy,
                    resend=self.resend,
                    hooks=self.hooks,
                    recovery_grace=self.recovery_grace,
                    tracer=self.tracer,
                    locks=self.locks,
                    status_reader=self._reader(dossier_id),
                )
                for dossier_id, ids in pending.items()
            ]
            if self._stopping.is_set():
                self.stop()
            reports = await asyncio.gather(*(batch.run() for batch in self._batches))
            self._batches = []
            self.report.driven += sum(report.driven for report in reports)
            self.report.errors += sum(len(report.errors) for report in reports)
        at_rest = [r for r in rows if State(r.state) in RESTING_OPEN and r.intent is None]
        slots = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(
            *(self._look_after(r.flow_id, self._driver(r.dossier_id), slots) for r in at_rest)
        )

    async def _look_after(
        self, flow_id: str, driver: DurableDriver, slots: asyncio.Semaphore
    ) -> None:
        """A resting flow: its due later attempt, or a status check if one is due."""
        async with slots:
            if self._stopping.is_set():
                return
            try:
                if self.locks is None:
                    await self._due(driver, await driver.open(flow_id, tenant=self.tenant))
                    return
                async with self.locks.hold(flow_id) as held:
                    if held:  # else another process is on it: the next pass
                        await self._due(driver, await driver.open(flow_id, tenant=self.tenant))
            except ApiConfigurationError:
                raise
            except (ApiError, StaleFlow):  # recorded, or another process's: the next pass
                self.report.errors += 1
            finally:
                driver.forget(flow_id)

    async def _due(self, driver: DurableDriver, flow: Flow) -> None:
        now = self.clock.now()
        due = driver.next_attempt(flow)
        if due is not None:
            if due <= now:
                await driver.advance(flow)
                self.report.later_attempts += 1
            return
        if Trigger.CHECK_STATUS not in driver.engine.allowed(flow.state):
            return
        last = flow.history[-1].decided_at if flow.history else 0.0
        if now - last >= self.watch_every:
            await driver.step(flow, Trigger.CHECK_STATUS)
            self.report.checks += 1


RESTING_OPEN = DEFAULT_STEPS.resting - TERMINAL
"""Resting states a flow can still leave: NOTIFIED and FALLBACK_SUGGESTED."""
