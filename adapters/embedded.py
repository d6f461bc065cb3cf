"""Every flow from an asyncio program: :class:`AsyncFirmaio`, what the sync facade runs.

One client (its connection pool, its rate window) and, with ``db``, one store serve every call;
each call takes a flow to its next resting state and returns the :class:`~firmaio.fsm.Flow`, as
the command of the same name does::

    async with await AsyncFirmaio.open(api_key, db="flows.sqlite") as firmaio:
        flow = await firmaio.send("modulo.pdf", fiscal_code, fields=["Firma"])
        flow = await firmaio.fetch(flow.id)          # once the citizen signed

``send`` (a PDF to NOTIFIED or FALLBACK_SUGGESTED), ``notify`` and ``cancel`` (a request made
elsewhere), ``fetch`` (a signed request's documents, into ``Settings.signed_dir``),
``delivered`` (the fallback reached the citizen), ``run`` (a batch) and ``check`` (a status read
now, by the running service or workers). Errors are the library's own
(:mod:`firmaio.fsm.errors`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from ulid import ULID

from firmaio.fsm.driving import Driver, Flow, Hooks
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import State, Trigger
from firmaio.fsm.ports import StepTracer

from .checks import check_now
from .client import IssuerClient, order_from_pdf
from .clock import SystemClock
from .factory import Factory, open_flow
from .runner import RunReport
from .settings import Settings, operator
from .store import AsyncStore, open_async_store

Field = str | Mapping[str, Any]
"""A signature field: the name of one the PDF has, or the service's whole object
(``{"attrs": {...}, "clause": {"title": ..., "type": ...}}``)."""


class AsyncFirmaio:
    """Every flow from asyncio (see the module docstring); make one with :meth:`open`."""

    def __init__(
        self, factory: Factory, client: IssuerClient, store: AsyncStore | None, db: str | None
    ) -> None:
        self.factory, self.client, self.store, self.db = factory, client, store, db
        self.settings, self.hooks = factory.settings, factory.hooks

    @classmethod
    async def open(
        cls,
        api_key: str,
        *,
        db: str | None = None,
        settings: Settings | None = None,
        hooks: Hooks | None = None,
        tracer: StepTracer | None = None,
        actor_suffix: str = "AsyncFirmaio",
    ) -> Self:
        """Check the base URL and the key with one call (a wrong one raises
        :class:`~firmaio.fsm.errors.ApiConfigurationError` naming it), then open the store at
        ``db`` (a SQLite file or a ``postgresql://`` URL; None: flows in memory). Records name
        ``settings.actor`` (default: ``USER (AsyncFirmaio)``)."""
        settings = settings if settings is not None else Settings()
        if settings.actor is None:  # its records name who runs it, as a command's do
            settings = dataclasses.replace(settings, actor=f"{operator()} ({actor_suffix})")
        client = await Factory(settings).checked_client(api_key, key_named="the api_key given")
        try:
            store = open_async_store(db) if db else None
        except BaseException:
            await client.aclose()
            raise
        factory = Factory(settings, SystemClock(), store, hooks=hooks, tracer=tracer)
        return cls(factory, client, store, db)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _flow(self, driver: Driver, flow_id: str, **how: Any) -> Flow:
        return await open_flow(driver, flow_id, tenant=self.settings.tenant, **how)

    async def send(
        self,
        pdf: str | Path,
        fiscal_code: str,
        *,
        fields: Sequence[Field],
        flow_id: str | None = None,
        **values: Any,
    ) -> Flow:
        """The PDF to a signature request the citizen is notified of (NOTIFIED) or offered the
        fallback for (FALLBACK_SUGGESTED), through the issuer's set-up, as ``firmaio send``.
        ``flow_id`` (default: a new ULID) names the flow: with a store, sending again with the
        same id resumes it, never a second request or message. The fiscal code is held in
        memory only. ``values``: the order's other fields
        (:func:`~firmaio.adapters.client.order_from_pdf`)."""
        order = order_from_pdf(pdf, fields=fields, **values).with_fiscal_code(fiscal_code)
        driver = self.factory.driver(self.client)
        flow = await self._flow(driver, flow_id or str(ULID()), order=order)
        await driver.advance(flow)
        return flow

    async def notify(self, request_id: str) -> Flow:
        """Take one request made elsewhere to rest: wait for activation, notify, or offer the
        fallback."""
        driver = self.factory.driver(self.client)
        flow = await self._flow(driver, request_id)
        await driver.advance(flow)
        return flow

    async def cancel(self, flow_id: str) -> Flow:
        """Cancel a flow's request (possible once it is WAIT_FOR_SIGNATURE)."""
        driver = self.factory.driver(self.client)
        flow = await self._flow(driver, flow_id)
        if Trigger.CHECK_ACTIVATION in driver.engine.allowed(flow.state):
            await driver.step(flow, Trigger.CHECK_ACTIVATION)
        if not flow.is_closed:
            await driver.step(flow, Trigger.CANCEL)
        return flow

    async def fetch(self, flow_id: str) -> Flow:
        """Read where a stored flow's request is; once SIGNED, download its signed documents to
        ``Settings.signed_dir``/<request id>/ (the last record's facts name each file and its
        SHA-256). A flow not SIGNED is returned as it is: nothing was downloaded."""
        driver = self.factory.driver(self.client)
        flow = await self._flow(driver, self._stored(flow_id, "fetch"), create=False)
        if flow.state is State.READY:
            await driver.step(flow, Trigger.CHECK_ACTIVATION)
        if Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
            await driver.step(flow, Trigger.CHECK_STATUS)
        if flow.state is State.SIGNED:
            await driver.fetch_documents(flow)
        return flow

    async def delivered(self, flow_id: str, channel: str, note: str | None = None) -> Flow:
        """Record that a FALLBACK_SUGGESTED flow's fallback reached the citizen through
        ``channel`` (``email``, ``letter``, ``desk``, ``pec``...): no API call."""
        driver = self.factory.driver(self.client)
        flow = await self._flow(driver, self._stored(flow_id, "delivered"), create=False)
        await driver.deliver_fallback(flow, channel, note)
        return flow

    async def run(
        self, request_ids: Sequence[str], *, concurrency: int = 20, **options: Any
    ) -> RunReport:
        """Drive many requests to rest, as ``firmaio run`` does; needs a store. ``options``
        change fields of the settings for this run (``worker=``, ``tenant=``)."""
        self._stored("", "run")
        factory = self.factory.with_settings(concurrency=concurrency, **options)
        return await factory.batch(self.client, list(request_ids)).run()

    async def check(self, flow_ids: Sequence[str]) -> int:
        """Ask the running ``firmaio serve`` or workers for a status read now of stored flows
        (only ids are taken); ids the store does not hold are refused by name, nothing asked.
        How many flows were asked for."""
        if self.store is None or self.db is None:
            raise InvalidInput("check needs a store: pass db= when you make the Firmaio")
        return await check_now(self.db, self.store, list(flow_ids), self.factory.clock.now())

    def _stored(self, flow_id: str, method: str) -> str:
        if self.store is None:
            raise InvalidInput(f"{method} needs a store: pass db= when you make the Firmaio")
        return flow_id

    async def close(self) -> None:
        """Close the client and the store."""
        await self.client.aclose()
        if self.store is not None:
            await self.store.close()
