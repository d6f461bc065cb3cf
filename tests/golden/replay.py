"""Drive on a golden store with the code that imports as ``firmaio``: what a release does to the
flows an earlier release left (tests/golden/<release>/, written by its make_golden.py).

It seeds the in-process sandbox (ASGI, the manifest's fake clock) with the requests the earlier
run left, through ``POST /__sandbox/seed``; checks every chain as this code reads it; opens each
flow, drives every open one to rest (a flow of the set-up is resumed as ``firmaio send --id``
resumes it, with its PDF and none of the citizen's data) and reads the status of one that rests;
checks every chain again; and reports, per flow, where it ended and what the sandbox saw. Only
``firmaio`` and the standard library are imported: tests/store/test_table_upgrade.py runs it as a
script under a release whose table renamed a state.

    python tests/golden/replay.py GOLDEN_DIR sqlite|postgres DB [--report FLOW_ID]
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import structlog

from firmaio.adapters import SlidingWindow
from firmaio.adapters.cli import main as firmaio
from firmaio.adapters.client import IssuerClient, IssuerSetup, RetryPolicy, order_from_pdf
from firmaio.adapters.report import build_report
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.store import open_async_store
from firmaio.adapters.trail import verify_store
from firmaio.fsm import DurableDriver, Flow
from firmaio.fsm.diagrams import to_mermaid
from firmaio.fsm.machine import RESTING, Trigger
from firmaio.fsm.testing import ManualClock


def observed(flow: Flow, driver: DurableDriver, sandbox: Sandbox) -> dict[str, Any]:
    """Where ``flow`` ended, and what the sandbox saw of it."""
    issuer, request_id = sandbox.issuer, flow.request_id
    known = request_id is not None and request_id in issuer.requests
    signer = flow.facts.get("signer_id")
    return {
        "state": str(flow.state),
        "records": len(flow.history),
        "intent": driver.intent(flow),
        "messages": issuer.messages_sent(request_id) if known and request_id else 0,
        "uploads": issuer.uploads_received(request_id) if request_id else 0,
        "requests": None
        if signer is None
        else sum(1 for r in issuer.requests.values() if r.signer_id == signer),
    }


async def drive_on(driver: DurableDriver, flow_id: str, order: dict[str, Any], pdf: Path) -> Flow:
    """Open the stored flow and take it as far as it goes: to rest, then one status read."""
    flow = await driver.open(flow_id, create=False)
    if flow.is_closed:
        return flow
    if flow.order is not None:  # a flow from a PDF: resumed with the file, as `send --id` does
        given = {k: order[k] for k in ("document_title", "dossier_title")}
        again = order_from_pdf(pdf, fields=tuple(order["fields"]), **given)
        flow = await driver.open(flow_id, order=again)
    await driver.advance(flow)
    if flow.state in RESTING and Trigger.CHECK_STATUS in driver.engine.allowed(flow.state):
        await driver.step(flow, Trigger.CHECK_STATUS)
    return flow


def verdict_of(verdict: Any) -> dict[str, Any]:
    return {
        "intact": verdict.intact,
        "flows": verdict.flows,
        "records": verdict.records,
        "broken": [str(b) for b in verdict.broken],
    }


def replay(golden: Path, kind: str, db: str, shown: tuple[str, ...] = ()) -> dict[str, Any]:
    """Drive on the golden store ``db`` (a copy of ``golden``'s, of ``kind``); for the flows
    ``shown``, also their diagram, their ``audit show`` and the report."""
    results = asyncio.run(_driven(golden, kind, db, shown))
    for flow_id in shown:  # the command runs its own event loop
        out = io.StringIO()
        code = firmaio(["audit", "show", flow_id, "--db", db], out=out)
        results["flows"][flow_id]["audit_show"] = (code, out.getvalue())
    return results


async def _driven(golden: Path, kind: str, db: str, shown: tuple[str, ...]) -> dict[str, Any]:
    manifest = json.loads((golden / f"{kind}.json").read_text())
    clock = ManualClock(manifest["clock"])
    sandbox = Sandbox(
        activation_delay=manifest["activation_delay"], validation_delay=0, rate_calls=100_000
    )
    sandbox.issuer.now = clock.now
    sandbox.issuer.base_url = sandbox.url  # its blob URLs on the API's own origin
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=sandbox.root) as controls:
        seeded = await controls.post("/__sandbox/seed", json=manifest["world"])
        if seeded.status_code != 204:
            raise RuntimeError(f"the sandbox refused the seed: {seeded.text}")
    results: dict[str, Any] = {"flows": {}}
    store = open_async_store(db)
    try:
        results["verified_before"] = verdict_of(await verify_store(store))
        results["pending"] = await store.pending()
        retry = RetryPolicy(
            attempts=2, wait_initial=0.01, wait_max=0.01, wait_jitter=0, notification_grace=0
        )
        async with IssuerClient(
            manifest["key"], base_url=sandbox.url, transport=transport, retry=retry,
            rate_limit=SlidingWindow(100_000, 5.0),
        ) as client:  # fmt: skip
            setup = IssuerSetup(client, tempfile.mkdtemp(prefix="golden-signed-"))
            pdf = golden / manifest["order"]["pdf"]
            for entry in manifest["flows"]:
                driver = DurableDriver(client, clock, store, setup=setup, recovery_grace=0.0)
                flow = await drive_on(driver, entry["id"], manifest["order"], pdf)
                results["flows"][entry["id"]] = observed(flow, driver, sandbox)
                if entry["id"] in shown:
                    results["flows"][entry["id"]]["diagram"] = to_mermaid(history=flow.history)
        results["verified_after"] = verdict_of(await verify_store(store))
        if shown:
            html, _ = await build_report(store, shown, label="golden")
            results["report"] = html
    finally:
        await store.close()
    return results


def main(argv: list[str]) -> None:
    """Replay as a script; the results, as JSON, on stdout."""
    golden, kind, db, *rest = argv
    shown = tuple(rest[1:]) if rest[:1] == ["--show"] else ()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    results = replay(Path(golden), kind, db, shown)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
