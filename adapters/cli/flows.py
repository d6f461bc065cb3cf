"""The commands that drive flows: ``notify``, ``watch``, ``cancel`` (one request) and ``run``."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from firmaio.fsm.driver import Driver, PollingPolicy
from firmaio.fsm.durable import DurableDriver
from firmaio.fsm.engine import Flow
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.states import State, Trigger

from ..batching import DossierStatusReader
from ..clock import SystemClock
from ..runner import BatchRun
from . import exits
from .output import flow_json, print_flow, print_report, progress, write_qr
from .wiring import flow_store, issuer_client, wiring_of


async def _run_on_flow(
    args: argparse.Namespace,
    out: TextIO,
    body: Callable[[Driver, Flow], Awaitable[None]],
    goal: State | None,
) -> int:
    policy = PollingPolicy(activation_timeout=args.activation_timeout)
    client = issuer_client(args)
    store = flow_store(args.db) if args.db else None
    driver: Driver
    try:
        if store is not None:
            durable = DurableDriver(
                client, SystemClock(), store, policy=policy, on_boundary=wiring_of(args).on_boundary
            )
            driver, flow = durable, await durable.open(args.request_id)
        else:
            driver = Driver(client, SystemClock(), policy=policy)
            flow = driver.new_flow(args.request_id)
        try:
            await body(driver, flow)
        finally:
            code = exits.exit_code_for(flow.state, goal)
            qr = write_qr(flow, Path(args.qr_dir)) if flow.fallback is not None else None
            if args.json:
                json.dump(flow_json(flow, code, qr), out, indent=2)
                out.write("\n")
            else:
                print_flow(args.command, flow, qr, out)
    finally:
        await client.aclose()
        if store is not None:
            await store.close()
    return code


async def _notify(driver: Driver, flow: Flow) -> None:
    await driver.advance(flow)


async def _watch(args: argparse.Namespace, driver: Driver, flow: Flow) -> None:
    while flow.state is State.READY:  # learn where the request is, without notifying
        await driver.step(flow, Trigger.CHECK_ACTIVATION)
        if flow.state is State.READY:
            await driver.clock.sleep(args.interval)
    await driver.watch(flow, interval=args.interval, max_checks=args.max_checks)


async def _cancel(driver: Driver, flow: Flow) -> None:
    await driver.step(flow, Trigger.CHECK_ACTIVATION)
    if not flow.is_closed:
        await driver.step(flow, Trigger.CANCEL)


def cmd_notify(args: argparse.Namespace, out: TextIO) -> int:
    """Take one real request from READY to its resting state."""
    return asyncio.run(_run_on_flow(args, out, _notify, State.NOTIFIED))


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    """Check one request until it is closed."""

    async def body(driver: Driver, flow: Flow) -> None:
        await _watch(args, driver, flow)

    return asyncio.run(_run_on_flow(args, out, body, State.SIGNED))


def cmd_cancel(args: argparse.Namespace, out: TextIO) -> int:
    """Cancel one request (possible once it is WAIT_FOR_SIGNATURE)."""
    return asyncio.run(_run_on_flow(args, out, _cancel, State.CANCELLED))


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    store = flow_store(args.db)
    try:
        async with issuer_client(args) as client:
            ids = list(args.request_ids)
            if args.dossier:
                ids += [item["id"] async for item in client.list_dossier_requests(args.dossier)]
            if not ids:
                raise InvalidInput("name the requests to run: IDs, or --dossier DOSSIER_ID")
            reader = DossierStatusReader(client, args.dossier) if args.dossier else None
            batch = BatchRun(
                store,
                client,
                SystemClock(),
                ids,
                worker=args.worker,
                concurrency=args.concurrency,
                lease=args.lease,
                policy=PollingPolicy(activation_timeout=args.activation_timeout),
                on_boundary=wiring_of(args).on_boundary,
                progress=None if args.json else progress,
                status_reader=reader,
            )
            report = await batch.run()
    finally:
        await store.close()
    if report.errors:
        code = exits.UNAVAILABLE.code
    else:
        code = exits.NOT_SETTLED.code if report.unsettled else exits.OK.code
    if args.json:
        summary = {
            "worker": report.worker,
            "exit_code": code,
            "counts": dict(report.counts),
            "driven": report.driven,
            "conflicts": report.conflicts,
            "errors": report.errors,
            "unsettled": report.unsettled,
            "flows": [{"id": r.flow_id, "state": r.state, "records": r.seq} for r in report.rows],
        }
        json.dump(summary, out, indent=2)
        out.write("\n")
    else:
        print_report(report, args.db, out)
    return code


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Drive many requests to rest, concurrently and resumably."""
    return asyncio.run(_run(args, out))
