"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TextIO

from ..checks import Asks
from ..client import IssuerClient
from ..documents import check_writable
from ..factory import Factory
from ..flow_locks import FlowLocks
from ..health import Health, probes_url
from ..outage import Outage
from ..serve import Service
from ..serve_report import ServeReport
from ..settings import Settings
from ..store import AsyncStore, store_name
from ..tenants import DEFAULT_TENANT
from ..webhooks import Deliverer
from .envelope import emit
from .wiring import checked_client, factory_of, flow_locks, flow_store, settings_of


async def _serve(args: argparse.Namespace, out: TextIO) -> int:
    stopping = asyncio.Event()  # a SIGTERM before the service runs: it registers the ids
    services: list[Service] = []

    def stop() -> None:
        stopping.set()
        for service in services:
            service.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    # a database gone is an outage to ride out, from the first connection on
    outage = Outage(settings_of(args).store_outage_limit, say=_say)
    store = await outage.made(lambda: asyncio.to_thread(flow_store, args.db), stopping)
    if store is None:  # stopped while the store could not be reached: nothing was done
        return _summary(args, out, ServeReport())
    locks = flow_locks(args.db)
    asks = Asks(args.db)
    try:
        report = await _served(args, store, locks, asks, outage, stopping, services)
    finally:
        await _close(store, locks, asks)
    return _summary(args, out, report)


async def _served(
    args: argparse.Namespace,
    store: AsyncStore,
    locks: FlowLocks | None,
    asks: Asks,
    outage: Outage,
    stopping: asyncio.Event,
    services: list[Service],
) -> ServeReport:
    """The service on its open store: its settings checked before any flow is registered
    (riding out the outage meanwhile: its key's window is in the database), then its passes
    until it is stopped, its events delivered beside them."""
    factory = factory_of(args, store)
    _check_folder(factory.settings)  # an unusable folder: said before anything
    deliverer = _deliverer(factory, store)  # a webhook's bad secret: before anything
    try:
        client = await outage.made(lambda: checked_client(args), stopping)
        if client is None:
            return ServeReport()
        delivered = asyncio.Event()
        delivering = asyncio.create_task(_deliver(deliverer, delivered))
        try:
            return await _passes(args, factory, client, locks, asks, outage, stopping, services)
        finally:
            delivered.set()  # the deliveries under way end, their attempts logged
            await delivering
    finally:
        if deliverer is not None:
            await deliverer.aclose()


async def _passes(
    args: argparse.Namespace,
    factory: Factory,
    client: IssuerClient,
    locks: FlowLocks | None,
    asks: Asks,
    outage: Outage,
    stopping: asyncio.Event,
    services: list[Service],
) -> ServeReport:
    """The service's passes with its client, until it is stopped; with ``--metrics-port``,
    its metrics, liveness and readiness (:mod:`..health`) meanwhile."""
    server = None
    health = Health(args.db)
    health.checked(client)
    beating = asyncio.create_task(health.beating(stopping))
    async with client:
        try:
            server = factory.probes(args.db, health, [client])
            if server is not None:
                _say(f"metrics on {probes_url(server)}/metrics (/livez, /readyz)")
            service = Service(factory, client, locks=locks, asks=asks, say=_say, outage=outage)
            services.append(service)
            if stopping.is_set():
                service.stop()
            print(
                f"firmaio serve: serving {store_name(args.db)}; SIGTERM or Ctrl-C stops",
                file=sys.stderr,
            )
            ids = list(args.request_ids)
            if args.dossier:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
            return await service.run(ids, dossier_id=args.dossier)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            if server is not None:
                server.close()


def _summary(args: argparse.Namespace, out: TextIO, report: ServeReport) -> int:
    summary = {
        "stopped": True,
        "passes": report.passes,
        "driven": report.driven,
        "later_attempts": report.later_attempts,
        "checks": report.checks,
        "errors": report.errors,
    }
    if args.json:
        emit(args, out, 0, None, **summary)
    else:
        said = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in summary.items()
                         if name != "stopped")  # fmt: skip
        print(f"firmaio serve: stopped cleanly; {said}", file=out)
    return 0


def _deliverer(factory: Factory, store: AsyncStore) -> Deliverer | None:
    """With a webhook (``--webhook-url``), what delivers the served tenant's events."""
    webhook = factory.settings.webhook
    if webhook is None:
        return None
    return Deliverer(store, [webhook], clock=factory.clock)


async def _deliver(deliverer: Deliverer | None, stopping: asyncio.Event) -> None:
    """The events' delivery, beside the service's passes, until ``stopping``."""
    if deliverer is not None:
        await deliverer.run(stopping)


def _check_folder(settings: Settings) -> None:
    """The documents folder, if signed documents are collected: writable, or exit 3."""
    if settings.documents_dir is not None:
        check_writable(settings.documents_dir, f"tenant {settings.tenant or DEFAULT_TENANT!r}")


async def _close(store: AsyncStore, locks: FlowLocks | None, asks: Asks) -> None:
    await asks.close()
    await store.close()
    if locks is not None:
        await locks.aclose()


def _say(line: str) -> None:
    print(f"firmaio serve: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Keep every flow of the store moving until stopped."""
    return asyncio.run(_serve(args, out))
