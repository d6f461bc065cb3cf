"""``firmaio send --manifest FILE``: every citizen of a list, each row checked before anything is
sent (:mod:`firmaio.adapters.manifest`), the good rows sent on this process
(:mod:`firmaio.adapters.batch_send`); ``--dry-run`` checks and sends nothing.

Bad rows are printed with their line and reasons and are not sent; the exit code is then 2
(after the good rows were sent). Running the same manifest again creates nothing new and
resumes what is unfinished.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, TextIO

from firmaio.fsm.driving import DurableDriver
from firmaio.fsm.errors import InvalidInput

from ..batch_send import BatchSent, send_batch
from ..manifest import Defaults, Manifest, read_manifest
from . import exits
from .envelope import emit
from .wiring import checked_client, factory_of, flow_locks, flow_store, settings_of


def _defaults(args: argparse.Namespace) -> Defaults:
    return Defaults(
        fields=tuple(args.field or ()),
        dossier=args.dossier,
        dossier_title=args.dossier_title,
        expires_at=args.expires_at,
        support_email=args.support_email,
        validation_timeout=args.validation_timeout,
        activation_timeout=args.activation_timeout,
    )


def cmd_send_manifest(args: argparse.Namespace, out: TextIO) -> int:
    """Check the manifest's rows, then send the good ones (unless ``--dry-run``)."""
    if args.pdf:
        raise InvalidInput("with --manifest, the PDFs are the manifest's pdf column: name none")
    if args.fields or args.fiscal_code or args.fiscal_code_file or args.request_id:
        raise InvalidInput(
            "with --manifest, each row names its citizen, PDFs and fields: no --fields, "
            "--fiscal-code, --fiscal-code-file or --id"
        )
    if not args.db and not args.dry_run:
        raise InvalidInput("--manifest needs --db: a batch is resumed from its store")
    manifest = read_manifest(args.manifest, _defaults(args), args.batch)
    sent = None if args.dry_run else asyncio.run(_send(args, manifest))
    shown = _summary(manifest, sent, dry_run=args.dry_run)
    code = exits.OK.code
    failure = None
    if manifest.bad:
        code = exits.USAGE.code
        failure = exits.Failure(exits.USAGE, f"{len(manifest.bad)} rows refused, not sent")
    elif sent is not None and sent.errors:
        code = exits.NOT_SETTLED.code
        failure = exits.Failure(exits.NOT_SETTLED, f"{sent.errors} rows not settled: rerun")
    if args.json:
        emit(args, out, code, failure, **shown)
    else:
        _print(shown, out)
    return code


async def _send(args: argparse.Namespace, manifest: Manifest) -> BatchSent:
    store = flow_store(args.db)
    locks = flow_locks(args.db)
    try:
        async with await checked_client(args) as client:
            driver = factory_of(args, store).driver(client)
            assert isinstance(driver, DurableDriver)  # a store was given
            settings = settings_of(args)
            return await send_batch(
                manifest,
                store,
                driver,
                concurrency=settings.concurrency,
                tenant=settings.tenant,
                progress=None if args.json else _progress,
                locks=locks,
                lock_wait=settings.lock_wait,
            )
    finally:
        if locks is not None:
            await locks.aclose()
        await store.close()


def _progress(done: int, total: int) -> None:
    end = "\r" if sys.stderr.isatty() else "\n"
    if done == total or sys.stderr.isatty() or done % 100 == 0:
        print(f"firmaio send: {done}/{total} rows sent", end=end, file=sys.stderr, flush=True)


def _summary(manifest: Manifest, sent: BatchSent | None, *, dry_run: bool) -> dict[str, Any]:
    return {
        "batch_id": manifest.batch_id,
        "dry_run": dry_run,
        "rows": len(manifest.rows),
        "good": len(manifest.good),
        "bad": [
            {"line": row.line, "reference": row.reference, "reasons": list(row.problems)}
            for row in manifest.bad
        ],
        "states": dict(sorted(sent.states.items())) if sent else {},
        "errors": [{"line": line, "error": error} for line, error in sorted(sent.errors.items())]
        if sent
        else [],
    }


def _print(shown: dict[str, Any], out: TextIO) -> None:
    what = "checked (dry run, nothing sent)" if shown["dry_run"] else "sent"
    print(
        f"batch {shown['batch_id']}: {shown['rows']} rows, {shown['good']} good, "
        f"{len(shown['bad'])} refused; {what}",
        file=out,
    )
    for row in shown["bad"]:
        print(f"  line {row['line']}: {'; '.join(row['reasons'])}", file=out)
    for state, count in shown["states"].items():
        print(f"  {state:<20} {count:>6}", file=out)
    for error in shown["errors"]:
        print(f"  line {error['line']}: not finished, run again: {error['error']}", file=out)
