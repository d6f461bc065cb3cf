"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TextIO

from ..client import IssuerClient
from ..flow_locks import FlowLocks
from ..outage import Outage
from ..serve import ServeReport, Service
from ..store import AsyncStore, store_name
from .wiring import checked_client, factory_of, flow_locks, flow_store


async def _serve(args: argparse.Namespace, out: TextIO) -> int:
    server = None
    service: Service | None = None
    stopping = asyncio.Event()  # a SIGTERM before the service runs: it registers the ids

    def stop() -> None:
        stopping.set()
        if service is not None:
            service.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    store = flow_store(args.db)  # a --db to fix is said first
    locks = flow_locks(args.db)
    factory = factory_of(args, store)
    # once the store opened, a database gone is an outage to ride out, even while it starts
    outage = Outage(factory.settings.store_outage_limit, say=_say)
    try:
        client = await _checked(args, outage, stopping)  # before any flow is registered
    except BaseException:
        await _close(store, locks)
        raise
    if client is None:  # stopped while the store could not be reached: nothing was done
        await _close(store, locks)
        return _summary(args, out, ServeReport())
    async with client:
        try:
            server = factory.metrics(client, args.db)
            if server is not None:
                print(
                    f"firmaio serve: metrics on http://127.0.0.1:{server.port}/metrics",
                    file=sys.stderr,
                )
            service = Service(factory, client, locks=locks, outage=outage)
            if stopping.is_set():
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
            if server is not None:
                server.close()
            await _close(store, locks)
    return _summary(args, out, report)


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


async def _checked(
    args: argparse.Namespace, outage: Outage, stopping: asyncio.Event
) -> IssuerClient | None:
    """The command's client once its settings are checked, riding out an outage of the
    store meanwhile (its key's shared window is there); None if stopped first."""
    checked: list[IssuerClient] = []

    async def check() -> None:
        checked.append(await checked_client(args))

    await outage.through(check, stopping)
    return checked[0] if checked else None


async def _close(store: AsyncStore, locks: FlowLocks | None) -> None:
    await store.close()
    if locks is not None:
        await locks.aclose()


def _say(line: str) -> None:
    print(f"firmaio serve: {line}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Keep every flow of the store moving until stopped."""
    return asyncio.run(_serve(args, out))
