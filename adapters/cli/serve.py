"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TextIO

from ..checks import Asks
from ..documents import check_writable
from ..factory import Factory
from ..flow_locks import FlowLocks
from ..serve import Service
from ..settings import Settings
from ..store import AsyncStore, store_name
from ..tenants import DEFAULT_TENANT
from ..webhooks import Deliverer
from .wiring import checked_client, factory_of, flow_locks, flow_store


async def _serve(args: argparse.Namespace, out: TextIO) -> int:
    server = None
    service: Service | None = None
    stopping = False  # a SIGTERM before the service runs: it registers the ids, then stops

    def stop() -> None:
        nonlocal stopping
        stopping = True
        if service is not None:
            service.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    store = flow_store(args.db)  # a --db to fix is said first
    locks = flow_locks(args.db)
    factory = factory_of(args, store)
    asks = Asks(args.db)
    deliverer = None
    try:
        _check_folder(factory.settings)  # an unusable folder: said before anything
        deliverer = _deliverer(factory, store)  # a webhook's bad secret: before anything
        client = await checked_client(args)  # before any flow is registered or loaded
    except BaseException:
        await _close(store, locks, asks, deliverer)
        raise
    delivered = asyncio.Event()
    delivering = asyncio.create_task(_deliver(deliverer, delivered))
    async with client:
        try:
            server = factory.metrics(client, args.db)
            if server is not None:
                print(
                    f"firmaio serve: metrics on http://127.0.0.1:{server.port}/metrics",
                    file=sys.stderr,
                )
            service = Service(factory, client, locks=locks, asks=asks, say=_say)
            if stopping:
                service.stop()
            print(
                f"firmaio serve: serving {store_name(args.db)}; SIGTERM or Ctrl-C stops",
                file=sys.stderr,
            )
            ids = list(args.request_ids)
            if args.dossier:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
            report = await service.run(ids, dossier_id=args.dossier)
        finally:
            delivered.set()  # the deliveries under way end, their attempts logged
            await delivering
            if server is not None:
                server.close()
            await _close(store, locks, asks, deliverer)
    summary = {
        "stopped": True,
        "passes": report.passes,
        "driven": report.driven,
        "later_attempts": report.later_attempts,
        "checks": report.checks,
        "collected": report.collected,
        "errors": report.errors,
    }
    if args.json:
        json.dump(summary, out)
        out.write("\n")
    else:
        print(f"firmaio serve: stopped cleanly; {summary}", file=out)
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


async def _close(
    store: AsyncStore, locks: FlowLocks | None, asks: Asks, deliverer: Deliverer | None
) -> None:
    await asks.close()
    if deliverer is not None:
        await deliverer.aclose()
    await store.close()
    if locks is not None:
        await locks.aclose()


def _check_folder(settings: Settings) -> None:
    """The documents folder, if signed documents are collected: writable, or exit 3."""
    if settings.documents_dir is not None:
        check_writable(settings.documents_dir, f"tenant {settings.tenant or DEFAULT_TENANT!r}")


def _say(line: str) -> None:
    print(f"firmaio serve: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Keep every flow of the store moving until stopped."""
    return asyncio.run(_serve(args, out))
