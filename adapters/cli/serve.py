"""``firmaio serve``: keep every stored flow moving until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import TextIO

from firmaio.fsm.driver import PollingPolicy

from ..clock import SystemClock
from ..serve import Service
from ..store import store_name
from .wiring import flow_store, issuer_client, recovery_grace, resend_policy


async def _serve(args: argparse.Namespace, out: TextIO) -> int:
    store = flow_store(args.db)
    try:
        async with issuer_client(args) as client:
            service = Service(
                store,
                client,
                SystemClock(),
                worker=args.worker,
                concurrency=args.concurrency,
                lease=args.lease,
                tick=args.tick,
                watch_every=args.watch_every,
                policy=PollingPolicy(activation_timeout=args.activation_timeout),
                resend=resend_policy(args),
                recovery_grace=recovery_grace(args),
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, service.stop)
            print(
                f"firmaio serve: serving {store_name(args.db)}; SIGTERM or Ctrl-C stops",
                file=sys.stderr,
            )
            report = await service.run(args.request_ids)
    finally:
        await store.close()
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
