"""The long-running mode (``firmaio serve``): every stored flow kept moving until it closes.

A signature request lives for days. :class:`Service` loops over the store, one pass per ``tick``:

1. flows that need driving (READY, an activated request not yet notified, a refusal not yet
   answered with the fallback, an open notification intent) are driven to rest by a
   :class:`~firmaio.adapters.runner.BatchRun`;
2. flows resting in FALLBACK_SUGGESTED whose later attempt is due (:class:`ResendPolicy`: IO's
   catch-all, and re-notification if configured) get it;
3. flows at rest (NOTIFIED, FALLBACK_SUGGESTED) not checked for ``watch_every`` seconds get a
   ``check_status``, so a request signed, rejected or cancelled on the issuer's side is recorded:
   a pass is one watch cycle, each dossier's listing read once for its due flows, a check that
   finds nothing new writing no record (:mod:`.watch`); a flow at rest asked to be read now
   (``firmaio check``, :mod:`.checks`) is read alone;
4. with ``Settings.documents_dir``, SIGNED flows get their documents collected
   (:mod:`.collecting`): once, a failed download tried again later.

A pass reads only the flows due by its start (each flow's stored due time,
:mod:`firmaio.fsm.driving.due`), in the order they fell due, :data:`~.store.due.PAGE` rows at a
time; a flow is loaded, with its trail, only when it is due, and closed flows are never read.
A page's resting flows are locked for other processes (PostgreSQL) in one statement and loaded
in one read; the drivers kept per dossier are bounded (:mod:`.drivers`).

:meth:`Service.stop` (``firmaio serve`` calls it on SIGTERM or SIGINT) stops cleanly: nothing new
starts, every wait under way ends, every call under way finishes and its record is written; a
restart goes on from the store. A store it cannot reach (a restart, a failover) is ridden out with
a backoff, one line when the outage begins and one when it ends, for up to
``Settings.store_outage_limit`` seconds (:mod:`.outage`); past that, :meth:`Service.run` raises
:class:`~firmaio.fsm.errors.StoreUnavailable`. One service per store and tenant (the flows of
other tenants are left alone: their keys are not this service's); many workers on one PostgreSQL
store run as jobs of a task queue instead (:mod:`firmaio.adapters.queue`, ``firmaio worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from asyncio import Semaphore
from collections.abc import AsyncIterator, Callable, Sequence

from firmaio.fsm.driving import DurableDriver, Flow
from firmaio.fsm.errors import (
    ApiConfigurationError,
    ApiError,
    InvalidInput,
    StaleFlow,
    StoreUnavailable,
)
from firmaio.fsm.logs import get_logger
from firmaio.fsm.machine import DEFAULT_STEPS, ISSUER_INITIAL, TERMINAL, State, Trigger
from firmaio.fsm.ports import FlowRow, SignatureApi, StatusReader, Store, StoredFlow

from .checks import Asks
from .client import IssuerClient
from .collecting import collect_due
from .documents import check_writable
from .drivers import Drivers
from .factory import Factory
from .flow_locks import FlowLocks
from .memory import give_back
from .outage import Outage, log_line
from .runner import BatchRun
from .serve_report import ServeReport, said
from .store.due import PAGE
from .store.reading import PageLoader
from .tenants import DEFAULT_TENANT
from .watch import DossierWatch, Reading, apply_reading, check_at_rest, read_page


class Service:
    """Keeps every flow of the factory's store moving (see the module docstring), with the
    drivers ``factory`` builds over ``api``; its settings give the tenant, the worker's name, the
    concurrency, ``tick`` and ``watch_every``."""

    def __init__(
        self,
        factory: Factory,
        api: SignatureApi,
        *,
        locks: FlowLocks | None = None,
        asks: Asks | None = None,
        say: Callable[[str], None] = log_line,
        outage: Outage | None = None,
    ):
        if factory.store is None:
            raise InvalidInput("the service keeps the flows of a store: give the Factory one")
        self.factory, self.api = factory, api
        self.store: Store = factory.store
        self.clock, self.settings = factory.clock, factory.settings
        self.tenant = self.settings.tenant
        self.documents = self.settings.documents_dir
        """Where SIGNED flows' documents are collected (None: they are not); checked now."""
        if self.documents is not None:
            check_writable(self.documents, f"tenant {self.tenant or DEFAULT_TENANT!r}")
        self.asks = asks
        """Flows asked to be read now (``firmaio check``), if the service looks for them."""
        self.locks = locks
        """With PostgreSQL, each flow is locked for other processes while this one is on it."""
        self.report = ServeReport()
        self.outage = outage or Outage(self.settings.store_outage_limit, say=say)
        """A store it cannot reach is ridden out up to ``store_outage_limit`` seconds, with a
        backoff and one line (to ``say``) when it begins and one when it ends (``outage``: one
        begun already, while the command started)."""
        self._stopping = asyncio.Event()
        self._log = get_logger("firmaio.adapters.serve")
        self._batches: list[BatchRun] = []
        self._drivers = Drivers[str | None](self._new_driver)
        """Per dossier, those in use and a few more (:mod:`.drivers`), each with its listing."""
        self._cycle: dict[str, DossierWatch] = {}  # this pass's watch cycle (:mod:`.watch`)

    def _reader(self, dossier_id: str | None) -> StatusReader | None:
        """One dossier's listing, shared by every driver of its flows (None: no dossier)."""
        return None if dossier_id is None else self._driver(dossier_id).status_reader

    def _driver(self, dossier_id: str | None) -> DurableDriver:
        """The driver of resting flows of one dossier (read through its listing, if any)."""
        return self._drivers.get(dossier_id)

    def _new_driver(self, dossier_id: str | None) -> DurableDriver:
        reader = None if dossier_id is None else self.factory.status_reader(self.api, dossier_id)
        driver = self.factory.worker_driver(
            self.api, self.tenant, status_reader=reader, documents=self.documents
        )
        driver.stop_requested = self._stopping.is_set()
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
            deadline = now + self.settings.polling.activation_timeout

            async def register() -> None:
                await self.store.create_many(
                    list(ids), activation_deadline=deadline, now=now, tenant=self.tenant,
                    dossier_id=dossier_id,
                )  # fmt: skip

            if not await self.outage.through(register, self._stopping):
                return self.report
        while not self._stopping.is_set():
            before = dataclasses.replace(self.report)
            try:
                await self._pass()
            except StoreUnavailable as error:  # every write is whole: try again shortly
                self.report.errors += 1
                self.outage.failed(error)  # past the limit, it raises: the service stops
                self.report.passes += 1
                await self.outage.pause(self._stopping)
                continue
            self.outage.recovered()
            self.report.passes += 1
            said(self._log, self.tenant or DEFAULT_TENANT, self.report, before)
            give_back()  # what the pass freed (:mod:`.memory`)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.tick)
        return self.report

    async def _pass(self) -> None:
        """The flows due now (only those: the ``flows_due`` index), a page at a time; one
        watch cycle."""
        try:
            await self._due_pages()
        finally:
            cycle, self._cycle = self._cycle, {}
            for watch in cycle.values():
                await watch.aclose()

    async def _due_pages(self) -> None:
        now, after = self.clock.now(), None
        while not self._stopping.is_set():
            rows = await self.store.due(now, tenant=self.tenant, after=after, limit=PAGE)
            if not rows:
                return
            await self._page(rows)
            last = rows[-1]
            after = (float(last.due_at or now), last.flow_id)
            if len(rows) < PAGE:
                return

    async def _page(self, rows: list[FlowRow]) -> None:
        driven = DEFAULT_STEPS.driven
        pending: dict[str | None, list[str]] = {}  # by dossier: one listing answers each
        for r in rows:
            unsent = r.state == ISSUER_INITIAL and r.seq == 0  # only its `send` holds its input
            if (State(r.state) in driven or r.intent is not None) and not unsent:
                pending.setdefault(r.dossier_id, []).append(r.flow_id)
        if pending and not self._stopping.is_set():
            shared = self.factory.with_settings(
                concurrency=max(1, self.settings.concurrency // len(pending))
            )
            self._batches = [
                shared.batch(
                    self.api,
                    ids,
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
        asked = await self.asks.asked() if self.asks is not None else {}
        looked = RESTING_OPEN | ({State.SIGNED} if self.documents is not None else set())
        at_rest = [
            r
            for r in rows
            if (State(r.state) in looked and r.intent is None)
            or (r.flow_id in asked and r.intent is None and State(r.state) not in driven)
        ]
        slots = asyncio.Semaphore(self.settings.concurrency)
        ahead = await self._read_ahead([r for r in at_rest if r.flow_id not in asked], slots)
        async with self._held([r.flow_id for r in at_rest]) as held:  # else another process's
            loaded = await self._preloaded([r.flow_id for r in at_rest if r.flow_id in held])
            await asyncio.gather(
                *(
                    self._look_after(r, slots, asked.get(r.flow_id), loaded.get(r.flow_id), ahead)
                    for r in at_rest
                    if r.flow_id in held
                )
            )
        self._drivers.trim()

    async def _read_ahead(self, rows: list[FlowRow], slots: Semaphore) -> dict[str, Reading] | None:
        """With other processes' locks (PostgreSQL): the page's due status checks read before
        its flows are locked (:func:`~.watch.read_page`), by flow id. None: each reads later."""
        if self.locks is None or not isinstance(self.store, PageLoader):
            return None
        free = await self.locks.free([r.flow_id for r in rows]) if rows else set()
        loaded = await self.store.load_many([r.flow_id for r in rows if r.flow_id in free])
        dossiers = {r.flow_id: r.dossier_id for r in rows}
        return await read_page(
            [stored for stored in loaded.values() if stored.tenant == self.tenant],
            self._driver(None), self.clock.now(), slots, self._stopping,
            lambda flow: self._watch_of(dossiers.get(flow.id) or flow.facts.get("dossier_id")),
        )  # fmt: skip

    @contextlib.asynccontextmanager
    async def _held(self, flow_ids: list[str]) -> AsyncIterator[set[str]]:
        """The page's resting flows no other process is on, locked for them while the page is
        looked after (two statements a page, :meth:`FlowLocks.hold_many`); all without locks."""
        if self.locks is None or not flow_ids:
            yield set(flow_ids)
            return
        async with self.locks.hold_many(flow_ids) as held:
            yield held

    async def _preloaded(self, flow_ids: list[str]) -> dict[str, StoredFlow]:
        """The page's resting flows in one read (under their locks, if any)."""
        if not flow_ids or not isinstance(self.store, PageLoader):
            return {}
        return await self.store.load_many(flow_ids)

    async def _look_after(
        self,
        row: FlowRow,
        slots: asyncio.Semaphore,
        asked: float | None = None,
        stored: StoredFlow | None = None,
        ahead: dict[str, Reading] | None = None,
    ) -> None:
        """A resting flow (as the page read it: ``stored``, else read now): its due later
        attempt, or a status check if one is due (or was asked for at ``asked``), in this
        pass's watch cycle (read before the lock: ``ahead``); a SIGNED one, its documents if
        due."""
        flow_id, driver = row.flow_id, self._driver(None)  # the watch reads the listings
        async with slots:
            if self._stopping.is_set():
                return
            try:
                if stored is not None and stored.tenant == self.tenant:
                    flow = driver.resume(stored)
                else:
                    flow = await driver.open(flow_id, tenant=self.tenant)
                reading = None if ahead is None else ahead.get(flow_id)
                if reading is not None and (stored is None or not reading.fits(stored)):
                    reading = None  # changed since it was read: dropped, the next pass reads
                await self._due(driver, flow, asked, row.dossier_id, reading, ahead is None)
            except ApiConfigurationError:
                raise
            except (ApiError, StaleFlow):  # recorded, or another process's: the next pass
                self.report.errors += 1
            finally:
                driver.forget(flow_id)

    async def _due(
        self, driver: DurableDriver, flow: Flow, asked: float | None = None,
        dossier_id: str | None = None, reading: Reading | None = None, reads: bool = True,
    ) -> None:  # fmt: skip
        """What is due on a resting flow; a status check applies ``reading`` (made before the
        flow's lock), else reads now if it ``reads``, else waits for the next pass."""
        now = self.clock.now()
        if asked is not None and self.asks is not None:  # asked from outside: read it now
            if Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
                await driver.step(flow, Trigger.CHECK_STATUS)  # its record files it again
                self.report.checks += 1
            else:  # nothing to read (closed): filed back where its trail says
                again = driver.due(flow)
                await self.store.refile(flow.id, expected_seq=len(flow.history), due_at=again)
            await self.asks.answered(flow.id, asked)
            return
        due = driver.due(flow)
        if due is None or due > now:  # due by the stored time, not by ours
            await self.store.refile(flow.id, expected_seq=len(flow.history), due_at=due)
            return
        if self.documents is not None and flow.state is State.SIGNED:
            did = await collect_due(driver, flow, self.settings.collect, now)
            self.report.collected += did == "fetched"
            return
        if driver.next_attempt(flow) is not None:
            await driver.advance(flow)
            self.report.later_attempts += 1
        elif reading is not None:
            recorded = await apply_reading(driver, flow, reading)
            self.report.checks += 1
            self.report.quiet += recorded is None
        elif reads and Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
            watch = self._watch_of(dossier_id or flow.facts.get("dossier_id"))
            recorded = await check_at_rest(driver, flow, watch)
            self.report.checks += 1
            self.report.quiet += recorded is None

    def _watch_of(self, dossier_id: str | None) -> DossierWatch | None:
        """This pass's watch cycle of ``dossier_id``: its listing, read once for every due flow
        of the dossier; None (no dossier known, or another API): each request read alone."""
        if dossier_id is None or not isinstance(self.api, IssuerClient):
            return None
        watch = self._cycle.get(dossier_id)
        if watch is None:
            watch = DossierWatch(self.api, dossier_id, self.clock.now(), self.store)
            self._cycle[dossier_id] = watch
        return watch


RESTING_OPEN = DEFAULT_STEPS.resting - TERMINAL
"""Resting states a flow can still leave: NOTIFIED and FALLBACK_SUGGESTED."""
