"""``firmaio worker`` and ``firmaio enqueue``: many workers on one PostgreSQL store, through a
task queue (Procrastinate), with one rate limit per API key shared by every worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import TERMINAL

from ..clock import SystemClock
from ..health import Health, probes_url
from ..store import AsyncStore, store_name
from ..tenants import DEFAULT_TENANT, Tenant, Tenants
from . import exits
from .envelope import emit
from .quiet import quiet_logs
from .wiring import BASE_URL_NAMED, factory_of, flow_store, issuer_client, settings_of

if TYPE_CHECKING:
    from ..queue import Runtime, WorkerHandle, WorkerOptions


def _need_the_extra() -> None:
    """The queue package needs the [queue] extra: say so, clearly, if it is missing."""
    try:
        import procrastinate  # noqa: F401
    except ImportError as missing:
        raise InvalidInput(
            f"workers need the [queue] extra: pip install 'firmaio-fsm[queue]' ({missing})"
        ) from None


def _postgres(db: str) -> str:
    if not db.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(
            f"workers share flows through PostgreSQL: --db must be a postgresql:// URL, not "
            f"{store_name(db)} (one process on SQLite: firmaio run or firmaio serve)"
        )
    return db


STOP_WITHIN = 5.0
"""Seconds a stopping worker gives its flows to reach a step boundary before it cuts off the
calls still under way (at most its heartbeat's age limit, so no job is handed out twice): with
the time to hand the jobs back, it is gone well within the 10 s an orchestrator may wait."""


def _tenants(args: argparse.Namespace) -> Tenants:
    """The tenants file's, or the default tenant alone (collecting into ``--documents-dir``,
    delivering to ``--webhook-url``)."""
    documents_dir = getattr(args, "documents_dir", None)
    if args.tenants:
        tenants = Tenants.load(args.tenants)
        if documents_dir is not None:  # refused: the file names each tenant's folder
            Tenants(tenants, source=tenants.source, documents_dir=documents_dir)
        return tenants
    webhook = settings_of(args).webhook  # the default tenant's, from the options
    folder = None if documents_dir is None else Path(documents_dir)
    default = Tenant(
        DEFAULT_TENANT, key_env="FIRMAIO_API_KEY", documents_dir=folder, webhook=webhook
    )
    return Tenants({DEFAULT_TENANT: default})


async def _worker(args: argparse.Namespace, out: TextIO) -> int:
    _need_the_extra()
    from ..queue import WorkerHandle, WorkerOptions

    dsn = _postgres(args.db)
    tenants = _tenants(args)
    tenants.keys_by_tenant()  # a missing key stops the worker here, before anything opens
    for webhook in tenants.webhooks():  # so does a webhook's missing or malformed secret
        webhook.secret()
    handle = WorkerHandle(say=lambda line: print(f"firmaio worker: {line}", file=sys.stderr))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, handle.stop)  # from the start: a stop is never lost
    loud_again = quiet_logs(loop, verbose=args.verbose or args.log_level in ("debug", "info"))
    heartbeat = min(10.0, args.stalled_after / 3)
    options = WorkerOptions(
        concurrency=args.concurrency, name=args.worker, stalled_after=args.stalled_after,
        heartbeat=heartbeat, stop_within=min(STOP_WITHIN, args.stalled_after - heartbeat),
        store_outage_limit=args.store_outage_limit,
    )  # fmt: skip
    outage = handle.outage(options.store_outage_limit)
    try:  # a database gone is an outage to ride out, from the first connection on
        store = await outage.made(lambda: asyncio.to_thread(flow_store, dsn), handle.stopping)
        if store is not None:
            try:
                await _work(args, dsn, tenants, store, handle, options)
            finally:
                await store.close()
    finally:
        loud_again()
    summary = {"stopped": True, "tenants": sorted(tenants)}
    if args.json:
        emit(args, out, 0, None, **summary)
    else:
        print("firmaio worker: stopped cleanly", file=out)
    return 0


async def _work(
    args: argparse.Namespace,
    dsn: str,
    tenants: Tenants,
    store: AsyncStore,
    handle: WorkerHandle,
    options: WorkerOptions,
) -> None:
    """The worker, once its store is open: its windows and clients, its settings checked
    (riding out the outage meanwhile), then the jobs until it is told to stop."""
    from ..queue import Runtime, work

    runtime = Runtime(factory_of(args, store), dsn, tenants)
    limit = options.store_outage_limit
    try:
        started = await handle.through(runtime.open, limit) and await handle.through(
            lambda: runtime.check_settings(BASE_URL_NAMED),
            limit,  # before any job runs
        )
        if not started or handle.stopping.is_set():
            return
        names = ", ".join(sorted(tenants))
        print(
            f"firmaio worker: serving {store_name(dsn)} for {names}; SIGTERM or Ctrl-C stops",
            file=sys.stderr,
        )
        async with _probes(dsn, runtime, handle):
            await work(dsn, runtime, options, handle)
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def _probes(dsn: str, runtime: Runtime, handle: WorkerHandle) -> AsyncIterator[None]:
    """With ``--metrics-port``: the worker's metrics, liveness and readiness while it works."""
    health = Health(dsn)
    for client in runtime.clients.values():
        health.checked(client)
    server = runtime.factory.probes(dsn, health, list(runtime.clients.values()))
    if server is None:
        yield
        return
    print(f"firmaio worker: metrics on {probes_url(server)}/metrics (/livez, /readyz)",
          file=sys.stderr)  # fmt: skip
    beating = asyncio.create_task(health.beating(handle.stopping))
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        server.close()


async def _enqueue(args: argparse.Namespace, out: TextIO) -> int:
    _need_the_extra()
    from ..queue import enqueue

    dsn = _postgres(args.db)
    found = _tenants(args)[args.tenant]  # an unknown tenant is refused before anything
    tenant = found.name
    ids = list(args.request_ids)
    store = flow_store(dsn)
    try:
        if args.open:  # this tenant's open flows
            ids += [
                row.flow_id
                for row in await store.rows()
                if row.state not in _CLOSED and (row.tenant or DEFAULT_TENANT) == tenant
            ]
        if args.dossier:
            async with issuer_client(args, found.key()) as client:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
        if not ids:
            raise InvalidInput(
                "name the requests to queue: IDs, --dossier DOSSIER_ID, or --open for every "
                "open flow"
            )
        queued = await enqueue(
            dsn, store, SystemClock(), list(dict.fromkeys(ids)),
            tenant=None if tenant == DEFAULT_TENANT else tenant, dossier_id=args.dossier,
            policy=settings_of(args).polling,
        )  # fmt: skip
    finally:
        await store.close()
    summary = {"flow_count": len(ids), "queued": queued, "tenant": tenant}
    if args.json:
        emit(args, out, 0, None, **summary)
    else:
        waiting = len(ids) - queued
        already = f" ({waiting} had a visit waiting already)" if waiting else ""
        print(
            f"firmaio enqueue: {queued} of {len(ids)} flows queued for {tenant}{already}", file=out
        )
    return 0


_CLOSED = frozenset(map(str, TERMINAL))


def _answered(run: Callable[[argparse.Namespace, TextIO], Coroutine[Any, Any, int]]) -> Command:
    """A command whose failures are also answered as JSON under ``--json``."""

    def command(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return asyncio.run(run(args, out))
        except Exception as error:
            failure = exits.failure_of(error)
            if failure is not None and args.json:
                emit(args, out, failure.exit.code, failure)
            raise

    return command


Command = Callable[[argparse.Namespace, TextIO], int]

cmd_worker = _answered(_worker)
"""Run flows as jobs until stopped."""

cmd_enqueue = _answered(_enqueue)
"""Register flows for a tenant and queue them for the workers."""
