"""``firmaio check ID...``: ask for a status read now of stored flows (:mod:`..checks`); the
running service or workers make it."""

from __future__ import annotations

import argparse
import asyncio
from typing import TextIO

from ..checks import check_now
from ..clock import SystemClock
from .envelope import emit
from .wiring import flow_store


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Ask for a status read now of each flow named; exit 2, nothing asked, if one is not in
    the store."""
    ids = list(dict.fromkeys(args.flow_ids))

    async def ask() -> int:
        store = flow_store(args.db, read_only=True)  # a missing store is said, not made
        try:
            return await check_now(args.db, store, ids, SystemClock().now())
        finally:
            await store.close()

    asked = asyncio.run(ask())
    if args.json:
        emit(args, out, 0, None, asked=asked, flow_ids=ids)
    else:
        print(
            f"firmaio check: a status read asked for now for {asked} flow(s); the running "
            "service or workers make it",
            file=out,
        )
    return 0
