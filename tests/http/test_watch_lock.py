"""A worker's status check reads before it takes the flow's lock, so a watch call waiting for its
share of the key's window keeps no command waiting; the reading counts only if the flow is as it
was when read.

Over the sandbox on loopback, a worker's runtime on a fake clock (PostgreSQL for the flows and
their locks): while a visit's listing call waits for its watch slot (the watch's share spent), a
``firmaio cancel`` of that flow takes the lock at once (``--lock-wait 0``), cancels and records
it; the visit then drops its reading. A reading made stale by a change written under the lock
between the read and the visit's lock (a cancel the service refused: the request was signed)
is dropped, no record from it; the next visit reads again and records the signature once.
``firmaio serve`` on PostgreSQL reads its page's due checks before it locks the page, the same
way."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from firmaio.adapters.cli import exits, main
from firmaio.adapters.factory import Factory
from firmaio.adapters.flow_locks import FlowLocks
from firmaio.adapters.queue import Runtime
from firmaio.adapters.sandbox import DEMO_DOSSIER, Sandbox
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from firmaio.adapters.tenants import DEFAULT_TENANT, Tenants
from firmaio.adapters.watch import LISTING
from firmaio.adapters.watch_share import WatchShare
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import fiscal_code

HOUR = 3600.0


class SpentShare:
    """A watch window whose share is spent: each watch call waits until :attr:`opened`."""

    calls = 1

    def __init__(self) -> None:
        self.waiting, self.opened = asyncio.Event(), asyncio.Event()

    def in_use(self) -> int:
        return 1

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting.set()
        await self.opened.wait()
        yield


class LocksAfter(FlowLocks):
    """Flow locks that run ``between`` once, before the first lock is taken: what another
    process does after a visit read and before it takes its lock."""

    def __init__(self, dsn: str, between: Callable[[], Awaitable[None]]) -> None:
        super().__init__(dsn)
        self.between: Callable[[], Awaitable[None]] | None = between

    @contextlib.asynccontextmanager
    async def hold(self, flow_id: str, *, wait: float = 0.0) -> AsyncIterator[bool]:
        between, self.between = self.between, None
        if between is not None:
            await between()
        async with super().hold(flow_id, wait=wait) as took:
            yield took


def cancel(db: str, request_id: str) -> tuple[int, dict[str, Any]]:
    """``firmaio cancel`` on the flow, not waiting for its lock at all (``--lock-wait 0``)."""
    out = io.StringIO()
    argv = ["cancel", request_id, "--db", db, "--actor", "desk-7", "--lock-wait", "0", "--json"]
    code = main(argv, out=out)
    return code, json.loads(out.getvalue())


@contextlib.asynccontextmanager
async def worker_runtime(
    sandbox: Sandbox, postgres_url: str, ids: list[str], dossier: str
) -> AsyncIterator[tuple[Runtime, ManualClock]]:
    """A worker's runtime on a fake clock (statuses watched hourly) over ``ids`` (of ``dossier``),
    registered READY in its PostgreSQL store (``runtime.store``)."""
    store = open_async_store(postgres_url)
    clock = ManualClock(time.time())
    settings = Settings(base_url=sandbox.url, retry=FAST_RETRY, watch_every=HOUR)
    runtime = await Runtime(Factory(settings, clock, store), postgres_url, Tenants()).open()
    try:
        now = clock.now()
        await store.create_many(ids, activation_deadline=now + 600, now=now, dossier_id=dossier)
        yield runtime, clock
    finally:
        await runtime.close()
        await store.close()


@contextlib.asynccontextmanager
async def notified_runtime(
    sandbox: Sandbox, postgres_url: str, ids: list[str], dossier: str
) -> AsyncIterator[tuple[Runtime, ManualClock]]:
    """A worker's runtime whose visits drove ``ids`` (of ``dossier``) to NOTIFIED, an hour
    ago by its clock: each is due for a status check."""
    async with worker_runtime(sandbox, postgres_url, ids, dossier) as (runtime, clock):
        first = await asyncio.gather(*(runtime.tend(i) for i in ids))
        assert {visit.state for visit in first} == {"NOTIFIED"}
        clock.advance(HOUR)
        yield runtime, clock


def requests(sandbox: Sandbox, count: int) -> tuple[list[str], str]:
    key = sandbox.issuer.keys["sandbox-key"]
    dossier = sandbox.issuer.create_dossier(key, DEMO_DOSSIER)["id"]
    ids = []
    for _ in range(count):
        code = fiscal_code()
        sandbox.issuer.add_citizen(code)
        ids.append(sandbox.issuer.create_ready_request("sandbox-key", code, dossier))
    return ids, dossier


def triggers(records: list[dict[str, Any]]) -> list[str]:
    return [record["trigger"] for record in records]


def test_a_cancel_is_not_kept_waiting_by_a_watch_waiting_for_its_slot(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    ids, dossier = requests(sandbox, 1)

    async def scenario() -> tuple[int, dict[str, Any], str]:
        async with notified_runtime(sandbox, postgres_url, ids, dossier) as (runtime, _clock):
            share = runtime.clients[DEFAULT_TENANT].rate_limit
            assert isinstance(share, WatchShare)
            share.watch = spent = SpentShare()
            visit = asyncio.create_task(runtime.tend(ids[0]))
            await asyncio.wait_for(spent.waiting.wait(), 10)  # its listing call waits
            code, shown = await asyncio.to_thread(cancel, postgres_url, ids[0])
            assert not visit.done()
            spent.opened.set()
            tended = await asyncio.wait_for(visit, 10)
            return code, shown, tended.did

    code, shown, did = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert (code, shown["failure"]) == (exits.OK.code, None), shown["failure"]
    assert shown["flow"]["state"] == "CANCELLED"
    assert sandbox.issuer.requests[ids[0]].status == "CANCELLED"
    assert did == "nothing_due", "the visit read before the cancel: its reading was dropped"


def test_a_reading_made_stale_by_a_change_under_the_lock_is_dropped(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    ids, dossier = requests(sandbox, 1)
    refused: list[tuple[int, dict[str, Any]]] = []

    async def cancel_between() -> None:  # after the visit read SIGNED, before its lock
        refused.append(await asyncio.to_thread(cancel, postgres_url, ids[0]))

    async def scenario() -> tuple[str, str]:
        async with notified_runtime(sandbox, postgres_url, ids, dossier) as (runtime, clock):
            sandbox.issuer.close(ids[0], "SIGNED")  # at the service; the store says NOTIFIED
            await runtime.locks.aclose()
            runtime.locks = LocksAfter(postgres_url, cancel_between)
            pages = sandbox.state.calls.get("getRequestsByDossier", 0)
            stale = await runtime.tend(ids[0])
            assert sandbox.state.calls.get("getRequestsByDossier", 0) == pages + 1, "it read"
            after = await runtime.store.load(ids[0])
            assert after is not None
            assert [r.trigger for r in after.records][-2:] == ["notify", "cancel"], (
                "no record from the reading: the flow changed since it was read"
            )
            clock.advance(HOUR)
            again = await runtime.tend(ids[0])
        return stale.did, again.did

    stale, again = asyncio.run(asyncio.wait_for(scenario(), 60))
    code, now = cancel(postgres_url, ids[0])  # the flow as stored now: closed, nothing called
    assert code == exits.NOT_ALLOWED.code
    records = now["flow"]["records"]
    [(code, shown)] = refused
    assert code == exits.NOT_ALLOWED.code, "the service refused the cancel: signed"
    assert triggers(shown["flow"]["records"])[-1] == "cancel"
    assert stale == "nothing_due", "the refused cancel's record filed it an hour on"
    assert again == "checked"
    assert triggers(records)[-3:] == ["notify", "cancel", "check_status"]
    signed = records[-1]
    assert (signed["source"], signed["target"]) == ("NOTIFIED", "SIGNED")
    assert signed["facts"]["status.read_from"] == LISTING, "read again from the listing"


def test_a_serve_pass_reads_before_it_locks_its_page(
    sandbox: Sandbox, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    monkeypatch.setenv("FIRMAIO_BASE_URL", sandbox.url)
    ids, dossier = requests(sandbox, 2)

    async def scenario() -> tuple[int, dict[str, Any], Any]:
        async with notified_runtime(sandbox, postgres_url, ids, dossier) as (runtime, clock):
            settings = Settings(base_url=sandbox.url, retry=FAST_RETRY, watch_every=HOUR)
            factory = Factory(settings, clock, runtime.store)
            locks = FlowLocks(postgres_url)
            async with factory.client("sandbox-key") as client:
                share = client.rate_limit
                assert isinstance(share, WatchShare)
                share.watch = spent = SpentShare()
                service = Service(factory, client, locks=locks)
                try:
                    passing = asyncio.create_task(service._pass())
                    await asyncio.wait_for(spent.waiting.wait(), 10)  # its listing call waits
                    code, shown = await asyncio.to_thread(cancel, postgres_url, ids[0])
                    assert not passing.done()
                    spent.opened.set()
                    await asyncio.wait_for(passing, 10)
                finally:
                    await locks.aclose()
                return code, shown, service.report

    code, shown, report = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert (code, shown["failure"]) == (exits.OK.code, None), shown["failure"]
    assert sandbox.issuer.requests[ids[0]].status == "CANCELLED"
    assert (report.checks, report.quiet) == (1, 1), "the cancelled flow's reading dropped"
