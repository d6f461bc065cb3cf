"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any, TextIO

from firmaio.fsm.driving import Hooks, PollingPolicy
from firmaio.fsm.errors import InvalidInput

from ..batching import DossierStatusReader
from ..client import IssuerClient
from ..clock import SystemClock
from ..serve import Service
from ..store import store_name
from .wiring import (
    flow_locks,
    flow_store,
    issuer_client,
    recovery_grace,
    resend_policy,
    tenant_of,
)


def _metrics(args: argparse.Namespace, client: IssuerClient, hooks: Hooks) -> Any:
    """With ``--metrics-port``: Prometheus metrics of this service, served on loopback."""
    try:
        from ..observability import Metrics

        metrics = Metrics()
    except ImportError as missing:
        raise InvalidInput(
            f"--metrics-port needs the [metrics] extra: pip install 'firmaio-fsm[metrics]' "
            f"({missing})"
        ) from None
    metrics.instrument(client)
    metrics.subscribe(hooks)
    metrics.track_store(args.db)
    server = metrics.serve(args.metrics_port)
    print(f"firmaio serve: metrics on http://127.0.0.1:{server.port}/metrics", file=sys.stderr)
    return server


async def _serve(args: argparse.Namespace, out: TextIO) -> int:
    store = flow_store(args.db)
    locks = flow_locks(args.db)
    server = None
    try:
        async with issuer_client(args) as client:
            hooks = Hooks()
            if args.metrics_port is not None:
                server = _metrics(args, client, hooks)
            service = Service(
                store,
                client,
                SystemClock(),
                worker=args.worker,
                concurrency=args.concurrency,
                tenant=tenant_of(args),
                tick=args.tick,
                watch_every=args.watch_every,
                policy=PollingPolicy(activation_timeout=args.activation_timeout),
                resend=resend_policy(args),
                recovery_grace=recovery_grace(args),
                hooks=hooks,
                locks=locks,
                listing=lambda dossier_id: DossierStatusReader(client, dossier_id),
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, service.stop)
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
        await store.close()
        if locks is not None:
            await locks.aclose()
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


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Keep every flow of the store moving until stopped."""
    return asyncio.run(_serve(args, out))
