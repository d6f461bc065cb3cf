"""What one worker process holds while it runs flows as jobs: the store, and per tenant a client
(with the key's shared rate window; over the pool every tenant shares) and a durable driver.

:meth:`Runtime.tend` is one job's work on one flow: whatever is due now (drive it to rest, make
a due later attempt, check the status of a flow at rest), then when the flow wants looking at
again. The job queue (:mod:`.jobs`) runs it and schedules the next visit; this module knows
nothing of the queue, so it is tested with a plain loop as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from firmaio.fsm.driving import DurableDriver, Flow
from firmaio.fsm.errors import ApiConfigurationError, ApiError, InvalidInput, StaleFlow
from firmaio.fsm.logs import get_logger
from firmaio.fsm.machine import Trigger
from firmaio.fsm.ports import Store

from ..checks import Asks
from ..client import IssuerClient, check_settings
from ..client.shared_pool import SharedPool
from ..collecting import collect_due, next_collect
from ..documents import check_writable
from ..drivers import Drivers
from ..factory import Factory
from ..flow_locks import FlowLocks
from ..shared_window import SharedWindow, WindowConnections
from ..tenants import DEFAULT_TENANT, Tenants, key_id
from ..watch import (
    WORKER_CYCLE,
    DossierWatch,
    Reading,
    apply_reading,
    check_due,
    end_cycles,
    read_at_rest,
)
from ..watch_share import watch_calls, watch_key
from ..webhooks import Deliverer, Outbox

BUSY_RETRY = 5.0
"""Seconds before a flow found locked by another process is looked at again."""


@dataclass
class Tended:
    """What one visit did, and when the flow wants the next one (clock time; None: never)."""

    flow_id: str
    state: str
    next_visit: float | None
    did: str
    tenant: str | None = None
    """The flow's tenant, as stored (None: the default)."""


class Runtime:
    """One worker process's clients, windows and drivers, per tenant (see the module docstring).
    Every tenant's key is read when the runtime opens: a missing key fails there, before any job
    runs, naming the tenant and where its key was looked for."""

    def __init__(self, factory: Factory, dsn: str, tenants: Tenants) -> None:
        if factory.store is None:
            raise InvalidInput("a worker runs the flows of a store: give the Factory one")
        self.factory, self.dsn, self.tenants = factory, dsn, tenants
        self.store: Store = factory.store
        self.clock, self.settings = factory.clock, factory.settings
        self.worker = self.settings.worker
        """This process's name: with the tenant, the actor of every record it writes."""
        self.windows: dict[str, SharedWindow] = {}
        self.window_connections = WindowConnections(dsn)
        """The few connections every key's window shares (not one per key)."""
        self.clients: dict[str, IssuerClient] = {}
        self.connections = SharedPool()  # every tenant's client's connections, not a pool each
        self._key_ids: dict[str, str] = {}
        self.drivers = Drivers[tuple[str, str | None]](self._new_driver)
        """Per tenant and dossier: a flow whose dossier is known reads its status from the
        dossier's listing (one call answers every flow of it that asks at once); those in use
        and a few more are kept (:mod:`~firmaio.adapters.drivers`), not every dossier ever met."""
        self.watches: dict[tuple[str, str], DossierWatch] = {}
        """Per tenant and dossier, the watch cycle under way: visits of flows at rest within
        :data:`~firmaio.adapters.watch.WORKER_CYCLE` seconds of its start share one listing;
        in the order they began, those over dropped (not one per dossier ever watched)."""
        self._stopping = False
        self.locks = FlowLocks(dsn)
        """While a visit runs, its flow is locked for every other process of the deployment."""
        self._visiting: set[str] = set()  # flows a visit of this process is on, read included
        self.collecting = tenants.collecting()
        """The tenants whose signed documents are collected on their own, and where (without a
        tenants file, the default tenant's: ``Settings.documents_dir``)."""
        folder = self.settings.documents_dir
        if folder is not None and tenants.source is None and DEFAULT_TENANT in tenants:
            self.collecting.setdefault(DEFAULT_TENANT, Path(folder))
        self.asks = Asks(dsn)
        """Flows asked to be read now (``firmaio check``)."""
        self._log = get_logger("firmaio.adapters.queue")
        self.deliverer: Deliverer | None = None
        """Delivers the events of the tenants with a webhook (their delivery jobs)."""

    async def open(self) -> Runtime:
        """Check the documents folders; read each tenant's key, open its windows and client."""
        for name, folder in self.collecting.items():  # before anything is sent
            check_writable(folder, f"tenant {name!r}")
        keys = self.tenants.keys_by_tenant()  # a missing key fails here, before anything opens
        settings = self.settings
        targets = self.tenants.webhooks()
        if targets:  # a missing or malformed secret fails here too
            outbox = cast(Outbox, self.store)
            self.deliverer = Deliverer(outbox, targets, clock=self.clock)
        try:
            for name, key in keys.items():
                kid = key_id(key)
                if kid not in self.windows:
                    window = SharedWindow(
                        self.dsn, kid, calls=settings.rate_calls, period=settings.rate_period,
                        connections=self.window_connections,
                    )  # fmt: skip
                    self.windows[kid] = await window.open()
                    watch = SharedWindow(
                        self.dsn, watch_key(kid), period=settings.rate_period,
                        calls=watch_calls(settings.rate_calls, settings.watch_share),
                        connections=self.window_connections,
                    )  # fmt: skip
                    self.windows[watch_key(kid)] = await watch.open()
                watching, shared = self.windows[watch_key(kid)], self.connections.for_client()
                self.clients[name] = self.factory.client(
                    key, rate_limit=self.windows[kid], watch_window=watching, transport=shared
                )
                self._key_ids[name] = kid
        except BaseException:
            await self.close()
            raise
        return self

    async def check_settings(self, base_url_named: str = "Settings.base_url") -> None:
        """One call per key (:func:`~firmaio.adapters.client.check_settings`), before any job
        runs: a wrong base URL or a tenant's refused key stops the worker here, naming the
        setting (and the tenant, and where its key was read from)."""
        checked: set[str] = set()
        for name, client in self.clients.items():
            if self._key_ids[name] in checked:
                continue
            key_named = f"tenant {name!r}'s API key (from {self.tenants[name].source})"
            await check_settings(
                client, base_url_named=base_url_named, key_named=key_named, tenant=name
            )
            checked.add(self._key_ids[name])

    def driver(self, tenant: str, dossier_id: str | None) -> DurableDriver:
        """The driver of a tenant's flows (of one dossier, read through its listing)."""
        return self.drivers.get((tenant, dossier_id))

    def _new_driver(self, key: tuple[str, str | None]) -> DurableDriver:
        tenant, dossier_id = key
        client = self.clients[tenant]
        reader = self.factory.status_reader(client, dossier_id)
        docs = self.collecting.get(tenant)
        driver = self.factory.worker_driver(client, tenant, status_reader=reader, documents=docs)
        driver.stop_requested = self._stopping
        return driver

    def stop(self) -> None:
        """Flows under way stop at their next step boundary (their jobs come back at once)."""
        self._stopping = True
        for driver in self.drivers.values():
            driver.stop_requested = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def close(self) -> None:
        """Close the clients and the windows' connections."""
        for client in self.clients.values():
            await client.aclose()
        await self.connections.aclose()
        for window in self.windows.values():
            await window.close()
        await self.window_connections.aclose()
        await self.locks.aclose()
        await self.asks.close()
        for watch in self.watches.values():
            await watch.aclose()
        self.watches.clear()
        if self.deliverer is not None:
            await self.deliverer.aclose()
        self.clients.clear()
        self.windows.clear()

    async def deliver(self, tenants: list[str], *, budget: float) -> int:
        """Deliver ``tenants``' due events for up to ``budget`` seconds (until a stop)."""
        if self.deliverer is None:
            return 0
        return await self.deliverer.drain(tenants, budget=budget, stopping=lambda: self.stopping)

    async def tend(self, flow_id: str) -> Tended:
        """Do what is due on the flow now; say when it wants the next visit. A due status check
        reads first, the flow unlocked (:meth:`_read_ahead`); then the flow is read under its
        lock: its row and records say its tenant, its dossier and its state, and a check's
        reading is applied only if the flow is as it was when read. One visit of a flow at a
        time in this process too (a second job of the flow, while one runs, is told busy)."""
        if flow_id in self._visiting:
            return await self._busy(flow_id)
        self._visiting.add(flow_id)
        try:
            return await self._visit(flow_id)
        finally:
            self._visiting.discard(flow_id)

    async def _busy(self, flow_id: str) -> Tended:  # another visit is on it: later
        rows = await self.store.rows([flow_id])
        if not rows:
            return Tended(flow_id, "missing", None, "no such flow in the store")
        busy = self.clock.now() + BUSY_RETRY
        return Tended(flow_id, rows[0].state, busy, "busy", rows[0].tenant)

    async def _visit(self, flow_id: str) -> Tended:
        ahead = await self._read_ahead(flow_id)
        async with self.locks.hold(flow_id) as held:
            if not held:  # another process is on it (a stopping worker, a command): later
                return await self._busy(flow_id)
            stored = await self.store.load(flow_id)
            if stored is None:
                return Tended(flow_id, "missing", None, "no such flow in the store")
            reading = ahead if ahead is not None and ahead.fits(stored) else None
            if (
                ahead is not None and reading is None
            ):  # changed since it was read: the reading is dropped
                self._log.info("firmaio.worker.stale_reading", flow_id=flow_id)
            tenant = self.tenants.of(stored.tenant).name
            driver = self.driver(tenant, stored.dossier_id)
            try:
                flow = driver.resume(stored)
                tended = await self._tend(driver, flow, stored.tenant, tenant, reading)
            finally:
                driver.forget(flow_id)  # a worker lives for weeks: keep nothing between visits
                self.drivers.trim()
        self._log.info(
            "firmaio.worker.visit", flow_id=flow_id, tenant=tenant, state=tended.state,
            did=tended.did, next_visit=tended.next_visit,
        )  # fmt: skip
        return tended

    async def _read_ahead(self, flow_id: str) -> Reading | None:
        """A due status check's read (the dossier's listing, or the request alone), made before
        the flow's lock is taken: a watch call waits for its share of the key's window
        (:mod:`~firmaio.adapters.watch_share`) holding no lock, so a command on the flow
        (``firmaio cancel``) is not kept waiting. Reads only: nothing is written here. None:
        no status check due (the visit does what it does under the lock)."""
        stored = await self.store.load(flow_id)
        if stored is None:
            return None
        tenant = self.tenants.of(stored.tenant).name
        driver = self.driver(tenant, stored.dossier_id)
        try:
            flow = driver.resume(stored)
            if not check_due(driver, flow, self.clock.now()):
                return None
            watch = await self._cycle(driver, flow, tenant)
            return await read_at_rest(driver, flow, watch, stored)
        finally:
            driver.forget(flow_id)

    async def _tend(
        self,
        driver: DurableDriver,
        flow: Flow,
        stored: str | None,
        tenant: str,
        reading: Reading | None = None,
    ) -> Tended:
        flow_id, now = flow.id, self.clock.now()
        collects = tenant in self.collecting
        try:
            did = await self._asked(driver, flow)
            if did is None and collects:
                did = await collect_due(driver, flow, self.settings.collect, now)
            if did is None:
                did = await self._due(driver, flow, now, reading)
        except ApiConfigurationError:
            raise  # a wrong key: the job fails, loudly
        except InvalidInput as error:  # a flow from a PDF whose fiscal code only `send` holds
            self._log.warning("firmaio.queue.needs_input", flow_id=flow_id, error=str(error))
            return Tended(flow_id, str(flow.state), None, "needs_input", stored)
        except StaleFlow:  # another process wrote it first: look again shortly
            return Tended(flow_id, str(flow.state), now + 1.0, "conflict", stored)
        except ApiError as error:  # recorded; the client retried already: come back later
            self._log.warning("firmaio.queue.api_error", flow_id=flow_id, error=str(error))
            retry = now + self.settings.retry_after
            return Tended(flow_id, str(flow.state), retry, "api_error", stored)
        visit = driver.due(flow)  # as stored (stopped at a step boundary: due at once)
        if visit is None and collects:
            visit = next_collect(flow, self.settings.collect)
        return Tended(flow_id, str(flow.state), visit, did, stored)

    async def _asked(self, driver: DurableDriver, flow: Flow) -> str | None:
        """A status read asked for from outside (``firmaio check``), made now on a flow at
        rest, and the ask cleared (a flow still driven keeps it until it rests; a closed flow
        needs no read)."""
        if flow.state in driver.engine.steps.driven or driver.intent(flow) is not None:
            return None  # its next steps read the request anyway; the ask waits for the rest
        asked = (await self.asks.asked([flow.id])).get(flow.id)
        if asked is None:
            return None
        did = None
        if Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
            await driver.step(flow, Trigger.CHECK_STATUS)
            did = "checked_now"
        await self.asks.answered(flow.id, asked)
        return did

    async def _due(
        self, driver: DurableDriver, flow: Flow, now: float, reading: Reading | None
    ) -> str:
        due = driver.due(flow)  # the stored due time's computation, with this worker's settings
        if due is None or due > now:  # visited early (another worker's settings): re-filed
            await self.store.refile(flow.id, expected_seq=len(flow.history), due_at=due)
            return "nothing_due"
        if flow.state in driver.engine.steps.driven or driver.intent(flow) is not None:
            await driver.advance(flow)
            return "driven"
        if driver.next_attempt(flow) is not None:
            await driver.advance(flow)
            return "later_attempt"
        if reading is None:  # read before the lock, or made stale since: the next visit reads
            return "read_again"
        recorded = await apply_reading(driver, flow, reading)
        return "checked" if recorded is not None else "checked_quiet"

    async def _cycle(self, driver: DurableDriver, flow: Flow, tenant: str) -> DossierWatch | None:
        """The watch cycle under way of the flow's dossier (one listing read for the flows of
        the dossier due together), or a new one; None: no dossier known (read the request)."""
        registered = getattr(driver.status_reader, "dossier_id", None)  # its row's dossier
        dossier_id, now = flow.facts.get("dossier_id") or registered, self.clock.now()
        if dossier_id is None:
            return None
        watch, request_id = self.watches.get((tenant, dossier_id)), flow.request_id or flow.id
        cycle = min(WORKER_CYCLE, self.settings.watch_every / 2)
        if watch is None or now - watch.started > cycle or watch.answered(request_id):
            old = watch  # the new cycle keeps the answers of the visits due within it
            watch = DossierWatch(self.clients[tenant], dossier_id, now, self.store, cycle)
            self.watches.pop((tenant, dossier_id), None)  # the newest last
            self.watches[(tenant, dossier_id)] = watch
            if old is not None:
                await old.aclose()
        await end_cycles(self.watches, now - cycle)  # other dossiers' cycles over
        return watch
