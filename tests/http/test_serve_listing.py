"""The long-running service reads a dossier's statuses through its listing: flows registered
with their dossier cost about one call each to notify, and their status checks come from the
listing too, one request at a time only where no dossier is known."""

from __future__ import annotations

import asyncio
from pathlib import Path

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from tests.conftest import make_client
from tests.sandbox_helpers import fiscal_code


def test_a_dossier_s_flows_are_read_through_its_listing(sandbox: Sandbox, tmp_path: Path) -> None:
    issuer = sandbox.issuer.keys["sandbox-key"]
    dossier = sandbox.issuer.create_dossier(issuer, DEMO_DOSSIER)["id"]
    ids = []
    for _ in range(20):
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        ids.append(sandbox.issuer.create_ready_request("sandbox-key", code, dossier))
    calls = sandbox.state.calls
    before = calls.get("getSignatureRequest", 0), calls.get("getRequestsByDossier", 0)

    async def serve() -> list[str]:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            async with make_client(sandbox) as client:
                settings = Settings(tick=0.2, watch_every=0.5)
                service = Service(Factory(settings, SystemClock(), store), client)
                running = asyncio.create_task(service.run(ids, dossier_id=dossier))
                while [r.state for r in await store.rows(ids)] != ["NOTIFIED"] * 20:
                    await asyncio.sleep(0.1)
                for request_id in ids[:2]:
                    sandbox.issuer.close(request_id, "SIGNED")
                while {r.state for r in await store.rows(ids[:2])} != {"SIGNED"}:
                    await asyncio.sleep(0.1)
                service.stop()
                await running
            return [r.dossier_id or "" for r in await store.rows(ids)]
        finally:
            await store.close()

    dossiers = asyncio.run(asyncio.wait_for(serve(), 60))
    assert dossiers == [dossier] * 20
    single = calls.get("getSignatureRequest", 0) - before[0]
    listings = calls.get("getRequestsByDossier", 0) - before[1]
    assert listings >= 2, "neither the activation nor the status checks used the listing"
    assert single == 0, f"{single} requests read one at a time"
    assert all(sandbox.issuer.messages_sent(i) == 1 for i in ids)


def test_a_service_registers_its_flows_for_its_tenant_and_drives_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """``serve --tenant comune-a ID``: the flow is stored for comune-a, so this service (which
    serves only comune-a's flows) drives it."""
    code = fiscal_code()
    sandbox.issuer.add_citizen(code)
    request_id = sandbox.issuer.create_ready_request("sandbox-key", code)

    async def serve() -> tuple[str | None, str]:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            async with make_client(sandbox) as client:
                settings = Settings(tick=0.2, tenant="comune-a")
                service = Service(Factory(settings, SystemClock(), store), client)
                running = asyncio.create_task(service.run([request_id]))
                while [r.state for r in await store.rows([request_id])] != ["NOTIFIED"]:
                    await asyncio.sleep(0.1)
                service.stop()
                await running
            [row] = await store.rows([request_id])
            return row.tenant, row.state
        finally:
            await store.close()

    assert asyncio.run(asyncio.wait_for(serve(), 30)) == ("comune-a", "NOTIFIED")
