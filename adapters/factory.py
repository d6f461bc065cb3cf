"""The one place where clients, status readers and drivers are built, for every run mode.

A :class:`Factory` holds one :class:`~firmaio.adapters.settings.Settings`, a clock and (for
durable flows) a store, with the hooks, the tracer and the step-boundary callback every driver
it builds shares. The command (each of its commands), a batch run, the service, the queue's
workers, the sync facade and the demo all build their drivers here::

    factory = Factory(Settings(worker="worker-7"), SystemClock(), store)
    async with factory.client(api_key) as client:
        report = await factory.batch(client, request_ids).run()
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmaio.fsm.driving import Boundary, Driver, DriverOptions, DurableDriver, Flow, Hooks
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import Order
from firmaio.fsm.ports import Clock, DocumentSink, SignatureApi, StatusReader, StepTracer, Store

from .batching import DossierStatusReader
from .client import IssuerClient, check_settings, setup_for
from .clock import SystemClock
from .ratelimit import RateLimit, SlidingWindow
from .runner import BatchRun, RunReport
from .settings import Settings
from .watch_share import WatchShare, watch_calls

if TYPE_CHECKING:
    import httpx

    from .flow_locks import FlowLocks
    from .health import Health, ProbeServer


class Factory:
    """Builds the clients and drivers of one run mode (see the module docstring)."""

    def __init__(
        self,
        settings: Settings | None = None,
        clock: Clock | None = None,
        store: Store | None = None,
        *,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
        on_boundary: Boundary | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.store = store
        """Where durable flows are kept; None: drivers keep flows in memory."""
        self.hooks = hooks if hooks is not None else Hooks()
        """Shared by every driver built here (metrics subscribe to them)."""
        self.tracer = tracer
        self.on_boundary = on_boundary
        """Called at each step boundary of a durable flow (the crash tests stop there)."""

    def with_settings(self, **changes: Any) -> Factory:
        """The same factory, with these fields of its settings changed."""
        settings = dataclasses.replace(self.settings, **changes)
        return Factory(
            settings, self.clock, self.store, hooks=self.hooks, tracer=self.tracer,
            on_boundary=self.on_boundary,
        )  # fmt: skip

    def client(
        self,
        key: str,
        *,
        rate_limit: RateLimit | None = None,
        watch_window: RateLimit | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> IssuerClient:
        """The issuer-API client for ``key``: the settings' base URL and retry policy; its
        calls in ``rate_limit`` (default: a window of this process, at the settings' rate),
        the watch's in ``watch_window`` too (default: one of this process, of the settings'
        ``watch_share``), yielding to the others (:class:`~.watch_share.WatchShare`); over
        ``transport`` (a worker's pool every tenant shares, :mod:`.client.shared_pool`; default:
        a pool of its own)."""
        settings = self.settings
        period = settings.rate_period
        window = rate_limit or SlidingWindow(settings.rate_calls, period)
        watch = watch_window or SlidingWindow(
            watch_calls(window.calls, settings.watch_share), period
        )
        return IssuerClient(
            key, base_url=settings.base_url, retry=settings.retry,
            rate_limit=WatchShare(window, watch), transport=transport,
        )  # fmt: skip

    async def checked_client(
        self,
        key: str,
        *,
        rate_limit: RateLimit | None = None,
        watch_window: RateLimit | None = None,
        base_url_named: str = "Settings.base_url",
        key_named: str = "the API key",
        tenant: str | None = None,
    ) -> IssuerClient:
        """:meth:`client`, once one call has shown its base URL and key right
        (:func:`~firmaio.adapters.client.check_settings`: the error names ``base_url_named`` or
        ``key_named``); the client is closed if they are not."""
        client = self.client(key, rate_limit=rate_limit, watch_window=watch_window)
        try:
            await check_settings(
                client, base_url_named=base_url_named, key_named=key_named, tenant=tenant
            )
        except BaseException:
            await client.aclose()
            raise
        return client

    def status_reader(self, api: SignatureApi, dossier_id: str | None) -> StatusReader | None:
        """How flows of ``dossier_id`` read their statuses: the dossier's listing over an
        :class:`IssuerClient`; None (one request at a time) without a dossier or another API."""
        if dossier_id is None or not isinstance(api, IssuerClient):
            return None
        return DossierStatusReader(api, dossier_id)

    def driver(self, api: SignatureApi, *, status_reader: StatusReader | None = None) -> Driver:
        """One flow's driver, stamping the settings' actor: durable with a store, else in
        memory. :func:`open_flow` opens or makes its flow either way."""
        options = self._options(api, self.settings.actor, status_reader)
        if self.store is None:
            return Driver(api, self.clock, **options)
        return DurableDriver(api, self.clock, self.store, **self._durable(), **options)

    def worker_driver(
        self,
        api: SignatureApi,
        tenant: str | None,
        *,
        status_reader: StatusReader | None = None,
        documents: DocumentSink | str | Path | None = None,
    ) -> DurableDriver:
        """The durable driver of a batch run, the service or a worker, for ``tenant``'s flows:
        its records name the worker and the tenant; signed documents it fetches go to
        ``documents`` (default: the settings' ``signed_dir``)."""
        options = self._options(api, self.settings.worker_actor(tenant), status_reader)
        durable = self._durable()
        if documents is not None:  # collected on its own: a SIGNED flow is due to fetch them
            options["setup"] = setup_for(api, documents)
            durable["collect"] = self.settings.collect
        return DurableDriver(api, self.clock, self._store(), **durable, **options)

    def _durable(self) -> dict[str, Any]:
        """A durable driver's own keywords: its boundary hook, and what its flows' due times
        are computed with (:mod:`firmaio.fsm.driving.due`)."""
        settings = self.settings
        return {
            "on_boundary": self.on_boundary,
            "watch_every": settings.watch_every,
            "retry_after": settings.retry_after,
        }

    def batch(
        self,
        api: SignatureApi,
        ids: Sequence[str],
        *,
        status_reader: StatusReader | None = None,
        progress: Callable[[RunReport], None] | None = None,
        locks: FlowLocks | None = None,
        dossier_id: str | None = None,
    ) -> BatchRun:
        """A batch run over ``ids`` for the settings' tenant (see :class:`BatchRun`)."""
        settings = self.settings
        driver = self.worker_driver(api, settings.tenant, status_reader=status_reader)
        return BatchRun(
            settings, self._store(), driver, ids, progress=progress, locks=locks,
            dossier_id=dossier_id,
        )  # fmt: skip

    def probes(
        self, db: str, health: Health, clients: Sequence[IssuerClient]
    ) -> ProbeServer | None:
        """With the settings' ``metrics_port``: liveness and readiness (``health``), and
        Prometheus metrics of ``clients``, of every driver built here (through the hooks) and
        of the store at ``db``, served on ``metrics_host`` (:mod:`.health`). Needs the
        ``[metrics]`` extra; None without a port."""
        port = self.settings.metrics_port
        if port is None:
            return None
        try:
            from .observability import Metrics

            metrics = Metrics()
        except ImportError as missing:
            raise InvalidInput(
                f"--metrics-port needs the [metrics] extra: pip install 'firmaio-fsm[metrics]' "
                f"({missing})"
            ) from None
        for client in clients:
            metrics.instrument(client)
        metrics.subscribe(self.hooks)
        metrics.track_store(db)
        from .health import ProbeServer

        return ProbeServer(health, metrics, port, self.settings.metrics_host)

    def _store(self) -> Store:
        if self.store is None:
            raise InvalidInput("durable flows need a store: give the Factory one (store=)")
        return self.store

    def _options(
        self, api: SignatureApi, actor: str | None, status_reader: StatusReader | None
    ) -> DriverOptions:
        """Every driver's keywords, from the settings and what this factory shares."""
        settings = self.settings
        return {
            "policy": settings.polling,
            "resend": settings.resend,
            "recovery_grace": settings.recovery_grace,
            "hooks": self.hooks,
            "tracer": self.tracer,
            "actor": actor,
            "status_reader": status_reader,
            "setup": setup_for(api, settings.signed_dir),
        }


async def open_flow(
    driver: Driver,
    flow_id: str,
    *,
    tenant: str | None = None,
    order: Order | None = None,
    create: bool = True,
) -> Flow:
    """The flow ``flow_id`` of ``driver``: a durable driver's stored one (created unless
    ``create`` is False; see :meth:`DurableDriver.open`), else a new one in memory (in READY or,
    with ``order``, in RECEIVED; ``tenant`` and ``create`` do not apply)."""
    if isinstance(driver, DurableDriver):
        return await driver.open(flow_id, tenant=tenant, order=order, create=create)
    if order is not None:
        return driver.new_order_flow(flow_id, order)
    return driver.new_flow(flow_id)
