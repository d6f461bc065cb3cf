"""The watch: flows at rest checked through their dossier's listing, once per cycle (a serve pass).

Over the in-process sandbox on a fake clock: a dossier of more than 100 requests is listed once
per cycle, paging to the last flow that asked, while requests change and are added between its
pages; a check that finds nothing new writes no record and moves the flow's due time; a change is
recorded once, with the listing's item as its evidence; an item out of its documented shape is
not trusted (that request is read alone); a flow registered by id learns its dossier from its
first read and is watched through the dossier's listing from then on; a worker's visits of one
dossier's flows due together share one listing; a cycle keeps the answers of the flows due, not
every item of the dossier's history it pages through."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.batching import DossierStatusReader
from firmaio.adapters.client import IssuerClient
from firmaio.adapters.factory import Factory
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store, open_store
from firmaio.adapters.watch import LISTING, DossierWatch
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY
from tests.http.test_watch_lock import worker_runtime
from tests.sandbox_helpers import fiscal_code

HOUR = 3600.0


def client_of(asgi: AsgiSandbox) -> IssuerClient:
    """A client whose window and the sandbox's never wait (the calls made are what is counted)."""
    asgi.state.rate_calls = 1_000_000
    return asgi.client(retry=FAST_RETRY, timeout=2.0, rate_limit=SlidingWindow(1_000_000, 1.0))


def requests_of(asgi: AsgiSandbox, dossier: str, count: int, first: int = 0) -> list[str]:
    return [
        asgi.issuer.create_ready_request("sandbox-key", f"WTCMRA80A01H{n:03d}Z", dossier)
        for n in range(first, first + count)
    ]


def notified(
    asgi: AsgiSandbox, clock: ManualClock, db: str, ids: list[str], dossier: str | None
) -> None:
    """``ids`` driven to NOTIFIED by a batch run (registered in ``dossier``, or by id alone)."""

    async def run() -> None:
        store = open_async_store(db)
        try:
            async with client_of(asgi) as client:
                reader = None if dossier is None else DossierStatusReader(client, dossier)
                factory = Factory(Settings(concurrency=50, watch_every=HOUR), clock, store)
                batch = factory.batch(client, ids, status_reader=reader, dossier_id=dossier)
                report = await batch.run()
            assert report.counts == {"NOTIFIED": len(ids)}
        finally:
            await store.close()

    clock.advance(1)
    asyncio.run(run())


def one_pass(asgi: AsgiSandbox, clock: ManualClock, db: str) -> Any:
    """One serve pass (one watch cycle) at ``clock``'s time; the service's report."""

    async def run() -> Any:
        store = open_async_store(db)
        try:
            async with client_of(asgi) as client:
                settings = Settings(watch_every=HOUR, tick=0.01, concurrency=20)
                service = Service(Factory(settings, clock, store), client)
                await service._pass()
                return service.report
        finally:
            await store.close()

    return asyncio.run(run())


def calls(asgi: AsgiSandbox | Sandbox) -> tuple[int, int]:
    """Listing pages and single request reads so far."""
    counted = asgi.state.calls
    return counted.get("getRequestsByDossier", 0), counted.get("getSignatureRequest", 0)


def stored(db: str) -> dict[str, Any]:
    """Each flow's state, record count, due time and last-checked time, and its last record."""
    store = open_store(db)
    try:
        with store._statement() as cur:
            cur.execute("SELECT id, state, seq, due_at, checked_at, dossier_id FROM flows")
            rows = {r[0]: r[1:] for r in cur.fetchall()}
        return {i: (*row, store.load(i).records[-1]) for i, row in rows.items()}  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_dossier_of_130_is_listed_once_a_cycle_while_it_changes_between_pages(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    key = asgi.issuer.keys["sandbox-key"]
    dossier = asgi.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = requests_of(asgi, dossier, 130)
    db = str(tmp_path / "flows.sqlite")
    notified(asgi, clock, db, ids, dossier)
    before = stored(db)
    asgi.issuer.close(ids[3], "SIGNED")
    asgi.issuer.close(ids[119], "REJECTED")

    listing = asgi.issuer.list_requests
    seen: list[str | None] = []

    def changing(key: Any, dossier_id: str, token: str | None, limit: object) -> Any:
        seen.append(token)
        if token == "100" and seen.count("100") == 1:  # between the first page and the second
            asgi.issuer.close(ids[10], "SIGNED")  # on the page already read: the next cycle's
            asgi.issuer.close(ids[115], "SIGNED")  # on a page still to read: this cycle's
            requests_of(asgi, dossier, 1, first=900)  # a request added: listed at the end
        page = listing(key, dossier_id, token, limit)
        for item in page["items"]:
            if item["id"] == ids[20]:
                item["status"] = "signed"  # out of its documented shape: not trusted
        return page

    asgi.issuer.list_requests = changing  # type: ignore[method-assign]
    clock.advance(HOUR)
    cycle_at = clock.now()
    pages, single = calls(asgi)
    report = one_pass(asgi, clock, db)
    pages, single = calls(asgi)[0] - pages, calls(asgi)[1] - single
    assert seen == [None, "100"], "one listing, paged through once"
    assert (pages, single) == (2, 1), "2 pages, and ids[20]'s item read alone"
    after = stored(db)
    changed = {ids[3]: "SIGNED", ids[119]: "REJECTED", ids[115]: "SIGNED"}
    for request_id in ids:
        state, seq, due_at, checked_at, _dossier, last = after[request_id]
        if request_id in changed:
            assert (state, seq) == (changed[request_id], before[request_id][1] + 1)
            facts = dict(last.facts)
            assert facts["status.read_from"] == LISTING, "the listing's item is the evidence"
            assert "status.updated_at" in facts
            assert due_at is None
        elif request_id == ids[20]:
            assert (state, seq) == ("NOTIFIED", before[request_id][1]), "read alone: no news"
        else:
            assert (state, seq) == ("NOTIFIED", before[request_id][1]), "no record"
            assert (checked_at, due_at) == (cycle_at, cycle_at + HOUR), request_id
    assert report.checks == 130
    assert report.quiet == 127

    clock.advance(HOUR)  # the next cycle: the change read before its page came is seen now
    pages, single = calls(asgi)
    one_pass(asgi, clock, db)
    assert (calls(asgi)[0] - pages, calls(asgi)[1] - single) == (2, 1)
    again = stored(db)
    assert again[ids[10]][:2] == ("SIGNED", before[ids[10]][1] + 1), "recorded once"
    for request_id in changed:
        assert again[request_id][1] == after[request_id][1], "a closed flow is not read again"


def test_a_cycle_keeps_the_answers_of_the_flows_due_not_the_dossier_s_history(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dossier's listing holds every request it ever had: here 230, the first 200 checked
    already (due again later), the last 30 due. The pass pages through the listing once, to
    its end, and keeps the answers of the 30 due only, never the 200 before them (a cycle that
    kept every item it read grew with the dossier's history)."""
    key = asgi.issuer.keys["sandbox-key"]
    dossier = asgi.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = requests_of(asgi, dossier, 230)
    db = str(tmp_path / "flows.sqlite")
    notified(asgi, clock, db, ids, dossier)
    clock.advance(HOUR)
    store = open_store(db)
    for request_id in ids[:200]:
        store.execute("UPDATE flows SET due_at = ? WHERE id = ?", (clock.now() + HOUR, request_id))
    store.close()
    kept: list[int] = []
    read_page = DossierWatch._next

    async def counted(watch: DossierWatch) -> None:
        await read_page(watch)
        kept.append(len(watch))

    monkeypatch.setattr(DossierWatch, "_next", counted)
    pages, single = calls(asgi)
    report = one_pass(asgi, clock, db)
    assert (calls(asgi)[0] - pages, calls(asgi)[1] - single) == (3, 0), "one listing, 3 pages"
    assert (report.checks, report.quiet) == (30, 30)
    assert len(kept) == 3, "a page read at a time"
    assert max(kept) <= 30, kept


def test_a_flow_registered_by_id_learns_its_dossier_and_is_watched_through_it(
    asgi: AsgiSandbox, clock: ManualClock, tmp_path: Path
) -> None:
    key = asgi.issuer.keys["sandbox-key"]
    dossier = asgi.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = requests_of(asgi, dossier, 3)
    db = str(tmp_path / "flows.sqlite")
    notified(asgi, clock, db, ids, None)  # registered by id: no dossier named
    learnt = stored(db)
    assert {learnt[i][4] for i in ids} == {dossier}, "the first read named the dossier"
    store = open_store(db)
    first = store.load(ids[0]).records[0]  # type: ignore[union-attr]
    store.close()
    assert first.trigger == "check_activation"
    assert dict(first.facts or ())["dossier_id"] == dossier

    clock.advance(HOUR)
    pages, single = calls(asgi)
    report = one_pass(asgi, clock, db)
    assert (calls(asgi)[0] - pages, calls(asgi)[1] - single) == (1, 0), "one listing page"
    assert report.quiet == 3
    assert all(stored(db)[i][1] == learnt[i][1] for i in ids), "no record"


def test_a_worker_s_visits_of_one_dossier_share_one_listing(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 flows of a dossier at rest, visited together by a worker an hour on: one listing page
    answers them all; the 2 changed are recorded, the 28 others write no record."""

    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    key = sandbox.issuer.keys["sandbox-key"]
    dossier = sandbox.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = []
    for _ in range(30):
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        ids.append(sandbox.issuer.create_ready_request("sandbox-key", code, dossier))

    async def scenario() -> list[str]:
        async with worker_runtime(sandbox, postgres_url, ids, dossier) as (runtime, clock):
            first = await asyncio.gather(*(runtime.tend(i) for i in ids))
            assert {visit.state for visit in first} == {"NOTIFIED"}
            sandbox.issuer.close(ids[0], "SIGNED")
            sandbox.issuer.close(ids[29], "REJECTED")
            clock.advance(HOUR)
            before = calls(sandbox)
            visits = await asyncio.gather(*(runtime.tend(i) for i in ids))
            assert (calls(sandbox)[0] - before[0], calls(sandbox)[1] - before[1]) == (1, 0)
            rows = {r.flow_id: r for r in await runtime.store.rows(ids)}
            assert (rows[ids[0]].state, rows[ids[29]].state) == ("SIGNED", "REJECTED")
            assert all(rows[i].seq == 2 for i in ids[1:29]), (
                "no record of a check that found nothing"
            )
            return sorted(visit.did for visit in visits)

    dids = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert dids == ["checked"] * 2 + ["checked_quiet"] * 28
