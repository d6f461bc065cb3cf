"""``firmaio batch status BATCH``: where a manifest's rows are, read from the store.

Counts by state; the rows refused before sending (line, reference, reasons); the rows whose
flow ended FAILED or DOCUMENT_REFUSED, with the reason their last record gives. No fiscal code
is stored, so none is shown: a row is named by its line and reference.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any, TextIO

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import State

from ..store import AsyncStore
from . import exits
from .envelope import emit
from .wiring import flow_store

ENDED_BADLY = (str(State.FAILED), str(State.DOCUMENT_REFUSED))


def add_batch_command(sub: Any) -> None:
    """Add ``batch status`` to ``firmaio``'s subparsers."""
    batch = sub.add_parser("batch", help="a manifest's batch: where its rows are")
    batch_sub = batch.add_subparsers(dest="batch_command", required=True)
    status = batch_sub.add_parser("status", help="counts by state, refused and failed rows")
    status.add_argument("batch_id", metavar="BATCH", help="the batch's id (send --manifest)")
    status.add_argument("--db", required=True, help="the store the batch was sent with")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=cmd_batch_status)


def cmd_batch_status(args: argparse.Namespace, out: TextIO) -> int:
    """Print the batch's counts and its refused and failed rows; 0 when every flow is at
    rest and none failed, else 15 (not settled) or 14 (some failed)."""
    shown = asyncio.run(_status(args.db, args.batch_id))
    code = exits.FAILED.code if shown["failed"] else exits.OK.code
    if args.json:
        failure = None
        if shown["failed"]:
            failure = exits.Failure(exits.FAILED, f"{len(shown['failed'])} rows failed or refused")
        emit(args, out, code, failure, **shown)
    else:
        _print(shown, out)
    return code


async def _status(db: str, batch_id: str) -> dict[str, Any]:
    store = flow_store(db, read_only=True)
    try:
        return await batch_status(store, batch_id)
    finally:
        await store.close()


async def batch_status(store: AsyncStore, batch_id: str) -> dict[str, Any]:
    """The batch's status, as ``batch status --json`` prints it."""
    rows = await store.batch_rows(batch_id)
    if not rows:
        raise InvalidInput(f"the store has no batch {batch_id!r}")
    counts = Counter(row.state or "NOT_STARTED" for row in rows if row.flow_id is not None)
    failed = []
    for row in rows:
        if row.state in ENDED_BADLY and row.flow_id is not None:
            stored = await store.load(row.flow_id)
            last = stored.records[-1] if stored and stored.records else None
            failed.append(
                {"line": row.line, "reference": row.reference, "flow_id": row.flow_id,
                 "state": row.state, "reason": last.reason if last else None}
            )  # fmt: skip
    return {
        "batch_id": batch_id,
        "rows": len(rows),
        "counts": dict(sorted(counts.items())),
        "refused": [
            {"line": r.line, "reference": r.reference, "reasons": (r.refused or "").split("; ")}
            for r in rows
            if r.refused is not None
        ],
        "failed": failed,
    }


def _print(shown: dict[str, Any], out: TextIO) -> None:
    print(f"batch {shown['batch_id']}: {shown['rows']} rows", file=out)
    for state, count in shown["counts"].items():
        print(f"  {state:<20} {count:>6}", file=out)
    for row in shown["refused"]:
        print(f"  line {row['line']}: refused, not sent: {'; '.join(row['reasons'])}", file=out)
    for row in shown["failed"]:
        print(f"  line {row['line']}: {row['state']}: {row['reason']}", file=out)
