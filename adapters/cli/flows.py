"""The commands that drive flows: ``notify``, ``watch``, ``cancel`` (one request) and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from firmaio.fsm.driving import Driver, DurableDriver, Flow
from firmaio.fsm.errors import FlowBusy, InvalidInput, StaleFlow
from firmaio.fsm.machine import Order, State, Trigger
from firmaio.fsm.trail import Outcome

from ..client import IssuerClient
from ..factory import open_flow
from ..flow_locks import FlowLocks
from ..runner import RunReport
from ..store import AsyncStore, store_name
from . import exits
from .envelope import emit, flow_json, flow_row
from .output import (
    iso_utc,
    on_a_terminal,
    print_flow,
    print_report,
    print_step,
    progress,
    write_qr,
)
from .wiring import (
    NoCalls,
    checked_client,
    factory_of,
    flow_locks,
    flow_store,
    issuer_client,
    settings_of,
)


async def run_on_flow(
    args: argparse.Namespace,
    out: TextIO,
    body: Callable[[Driver, Flow], Awaitable[None]],
    goal: State | None,
    order: Order | None = None,
    *,
    stored_only: bool = False,
    short: exits.Exit | None = None,
    check: bool = False,
    calls_api: bool = True,
) -> int:
    """Run ``body`` on the request's flow, then print where the flow is.

    On a ``postgresql://`` store the flow's lock is taken before the flow is loaded (waiting up
    to ``--lock-wait`` for another process's visit), so what ``body`` sees and calls on is what
    is stored, and no other process acts on the flow until it is done. With ``check`` the base
    URL and the key are checked first, with one call (:func:`.wiring.checked_client`); without
    ``calls_api`` (``delivered``) no client is made and no key read (:class:`.wiring.NoCalls`). A
    flow
    left short of ``goal`` exits with ``short``'s code (if given) where its state's own would
    be 0 or it is still open.

    On an error that maps to an exit code, what is printed (``--json`` included) carries that
    code and the failure; a flow another process changed first is reloaded, so the stored state
    and trail are what is reported. The error is raised again for :func:`main` to map.
    """
    flow: Flow | None = None
    failure: exits.Failure | None = None
    client: IssuerClient | None = None
    store: AsyncStore | None = None
    driver: Driver | None = None
    unexpected = False
    locks = flow_locks(args.db)
    settings = settings_of(args)
    try:
        store = flow_store(args.db) if args.db else None  # a --db to fix is said first
        if calls_api:
            client = await checked_client(args) if check else issuer_client(args)
        factory = factory_of(args, store)
        if on_a_terminal(args):  # each step as it happens, on stderr
            factory.hooks.subscribe(print_step)
        driver = factory.driver(client or NoCalls(getattr(args, "invocation", "delivered")))
        async with _held(locks, args.request_id, settings.lock_wait):
            flow = await open_flow(
                driver, args.request_id, tenant=settings.tenant, order=order,
                create=not stored_only,
            )  # fmt: skip
            await body(driver, flow)
    except Exception as error:
        failure = exits.failure_of(error)
        unexpected = failure is None
        if isinstance(error, StaleFlow) and isinstance(driver, DurableDriver):
            flow = await driver.open(args.request_id, tenant=settings.tenant)  # the winner's
        raise
    finally:
        try:
            if not unexpected:
                next_at = None if flow is None or driver is None else driver.next_attempt(flow)
                code = _report(args, out, flow, goal, failure, next_at, short=short)
        finally:
            if client is not None:
                await client.aclose()
            if store is not None:
                await store.close()
            if locks is not None:
                await locks.aclose()
    return code


@asynccontextmanager
async def _held(locks: FlowLocks | None, flow_id: str, wait: float) -> AsyncIterator[None]:
    """Hold the flow's lock (if the store has locks) while the block runs; :class:`FlowBusy`
    if another process keeps it longer than ``wait`` seconds."""
    if locks is None:
        yield
        return
    async with locks.hold(flow_id, wait=wait) as held:
        if not held:
            raise FlowBusy(flow_id)
        yield


def _report(
    args: argparse.Namespace,
    out: TextIO,
    flow: Flow | None,
    goal: State | None,
    failure: exits.Failure | None,
    next_attempt: float | None,
    *,
    short: exits.Exit | None = None,
) -> int:
    """Print the flow (or, with no flow, only the failure as JSON); return the exit code."""
    if failure is not None:
        code = failure.exit.code
    else:
        assert flow is not None  # no failure means the flow was opened
        if short is not None and goal is not None:
            code = exits.goal_exit_code(flow.state, goal, short)
        else:
            code = exits.exit_code_for(flow.state, goal)
    qr = None
    if flow is not None and flow.fallback and getattr(args, "qr_dir", None):
        try:
            qr = write_qr(flow, Path(args.qr_dir))
        except OSError as error:  # the flow's outcome stands; only the QR files are missing
            print(f"firmaio: the QR code was not written ({error})", file=sys.stderr)
    if args.json:
        files = (
            {} if qr is None else {"png": str(qr.png), "svg": str(qr.svg), "button": str(qr.button)}
        )
        shown = None if flow is None else flow_json(flow, files=files, next_attempt=next_attempt)
        if failure is None and flow is not None and flow.failure:
            failure = exits.Failure(exits.FAILED, flow.failure)
        emit(args, out, code, failure, flow=shown, **({} if flow else {"flow_id": args.request_id}))
    elif flow is not None:
        print_flow(args.command, flow, qr, out)
        if next_attempt is not None:
            print(
                f"  the notification will be tried again from {iso_utc(next_attempt)}: "
                f"rerun `firmaio notify {flow.id}` (with --db to keep counting attempts)",
                file=out,
            )
    return code


async def _watch(args: argparse.Namespace, driver: Driver, flow: Flow) -> None:
    while flow.state is State.READY:  # learn where the request is, without notifying
        record = await driver.step(flow, Trigger.CHECK_ACTIVATION)
        if record.outcome is Outcome.REFUSED:
            return  # an unknown status past the deadline: left open, as it is
        if flow.state is State.READY:
            await driver.clock.sleep(args.interval)
    await driver.watch(flow, interval=args.interval, max_checks=args.max_checks)


async def _cancel(driver: Driver, flow: Flow) -> None:
    if Trigger.CHECK_ACTIVATION in driver.engine.allowed(flow.state):  # a new or READY flow
        await driver.step(flow, Trigger.CHECK_ACTIVATION)
    if not flow.is_closed:
        await driver.step(flow, Trigger.CANCEL)


def cmd_notify(args: argparse.Namespace, out: TextIO) -> int:
    """Take one real request from READY to its resting state (or re-notify it: ``--again``)."""

    async def body(driver: Driver, flow: Flow) -> None:
        if args.again and driver.can_renotify(flow):
            await driver.renotify(flow)
        else:
            await driver.advance(flow)

    return asyncio.run(run_on_flow(args, out, body, State.NOTIFIED))


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    """Check one request until it is closed: exit 0 only once SIGNED; 15 when the checks ran
    out with it still open (NOTIFIED and FALLBACK_SUGGESTED included); a closed state's own."""

    async def body(driver: Driver, flow: Flow) -> None:
        await _watch(args, driver, flow)

    return asyncio.run(run_on_flow(args, out, body, State.SIGNED, short=exits.NOT_SETTLED))


def cmd_cancel(args: argparse.Namespace, out: TextIO) -> int:
    """Cancel one request (possible once it is WAIT_FOR_SIGNATURE). Exit 0 only when the flow
    ends CANCELLED; a cancel the service refused (or a request signed first) exits 5."""
    short = exits.NOT_ALLOWED
    return asyncio.run(run_on_flow(args, out, _cancel, State.CANCELLED, short=short))


async def _batch(args: argparse.Namespace) -> RunReport:
    ids = list(args.request_ids)
    if not ids and not args.dossier:
        raise InvalidInput("name the requests to run: IDs, or --dossier DOSSIER_ID")
    store = flow_store(args.db)  # a --db to fix is said first
    locks = flow_locks(args.db)
    factory = factory_of(args, store)
    try:
        client = await checked_client(args)  # before any flow is registered or loaded
    except BaseException:
        await _close(store, locks)
        raise
    async with client:
        try:
            if args.dossier:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
            if not ids:
                raise InvalidInput(f"dossier {args.dossier} has no requests: nothing to run")
            batch = factory.batch(
                client,
                ids,
                status_reader=factory.status_reader(client, args.dossier),
                progress=progress if on_a_terminal(args) else None,
                locks=locks,
                dossier_id=args.dossier,
            )
            report = await batch.run()
            if on_a_terminal(args):
                progress(report, final=True)
            return report
        finally:
            await _close(store, locks)


async def _close(store: AsyncStore, locks: FlowLocks | None) -> None:
    await store.close()
    if locks is not None:
        await locks.aclose()


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        report = await _batch(args)
    except Exception as error:
        failure = exits.failure_of(error)
        if failure is not None and args.json:
            emit(args, out, failure.exit.code, failure)
        raise
    failure = None
    if report.errors:
        failure = exits.Failure(
            exits.UNAVAILABLE,
            f"{len(report.errors)} flow(s) got no usable answer from the issuer API; "
            "rerun to resume them",
        )
    code = failure.exit.code if failure else exits.NOT_SETTLED.code if report.unsettled else 0
    if args.json:
        emit(
            args,
            out,
            code,
            failure,
            flows=[flow_row(r.flow_id, r.state, r.seq, r.flow_id) for r in report.rows],
            worker=report.worker,
            counts=dict(report.counts),
            driven=report.driven,
            conflicts=report.conflicts,
            errors=report.errors,
            unsettled=report.unsettled,
            needs_attention=report.attention,
        )
    else:
        print_report(report, store_name(args.db), out)
    return code


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Drive many requests to rest, concurrently and resumably."""
    return asyncio.run(_run(args, out))
