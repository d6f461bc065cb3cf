"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TextIO

from ..flow_locks import FlowLocks
from ..outage import Outage
from ..serve import ServeReport, Service
from ..store import AsyncStore, store_name
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
    try:
        report = await _served(args, store, locks, outage, stopping, services)
    finally:
        await _close(store, locks)
    return _summary(args, out, report)


async def _served(
    args: argparse.Namespace,
    store: AsyncStore,
    locks: FlowLocks | None,
    outage: Outage,
    stopping: asyncio.Event,
    services: list[Service],
) -> ServeReport:
    """The service on its open store: its settings checked before any flow is registered
    (riding out the outage meanwhile: its key's window is in the database), then its passes
    until it is stopped."""
    factory = factory_of(args, store)
    client = await outage.made(lambda: checked_client(args), stopping)
    if client is None:
        return ServeReport()
    server = None
    async with client:
        try:
            server = factory.metrics(client, args.db)
            if server is not None:
                print(
                    f"firmaio serve: metrics on http://127.0.0.1:{server.port}/metrics",
                    file=sys.stderr,
                )
            service = Service(factory, client, locks=locks, outage=outage)
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
        json.dump(summary, out)
        out.write("\n")
    else:
        print(f"firmaio serve: stopped cleanly; {summary}", file=out)
    return 0


async def _close(store: AsyncStore, locks: FlowLocks | None) -> None:
    await store.close()
    if locks is not None:
        await locks.aclose()


def _say(line: str) -> None:
    print(f"firmaio serve: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Keep every flow of the store moving until stopped."""
    return asyncio.run(_serve(args, out))
