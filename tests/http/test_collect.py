"""Signed documents collected on their own, and ``firmaio check``, against the sandbox over
loopback: the service (SQLite) reads a resting flow at once when asked, collects its documents
once, a failed download tried again later; two workers (PostgreSQL) racing on a SIGNED flow
write it once; a documents folder that cannot be used stops ``serve`` and ``worker`` at start,
exit 3, nothing sent."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from firmaio.adapters.checks import Asks, check_now
from firmaio.adapters.cli import main
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import AsyncStore, open_async_store
from firmaio.adapters.tenants import Tenants
from firmaio.fsm import AuditRecord, Outcome, Trigger
from firmaio.fsm.driving import CollectPolicy
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY, make_client
from tests.sandbox_helpers import fault, ready_request


async def until(condition: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Wait for ``condition`` (polled), failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def fetches(store: AsyncStore, flow_id: str) -> list[AuditRecord]:
    stored = await store.load(flow_id)
    assert stored is not None
    return [r for r in stored.records if r.trigger == Trigger.FETCH_DOCUMENTS]


async def uncollected(dsn: str) -> list[str]:
    """The SIGNED flows of the default tenant the workers' sweep would queue for collecting."""
    import psycopg

    from firmaio.adapters.queue.jobs import UNCOLLECTED, install_schema

    await install_schema(dsn)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(UNCOLLECTED, {"tenants": ["default"], "default": True})
        return [row[0] for row in await cursor.fetchall()]


def pdfs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf"))


def test_serve_reads_a_flow_when_asked_and_collects_its_documents_once_after_a_failed_download(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """``firmaio check`` makes the service read a flow at rest now (``watch_every`` is an hour):
    it records the SIGNED the sandbox made. Its download fails (503): recorded, nothing
    written, not tried again before the policy's delay; then fetched, once; the file's SHA-256
    is the record's."""
    db, folder = str(tmp_path / "flows.sqlite"), tmp_path / "firmati"
    folder.mkdir()
    request_id = ready_request(sandbox)
    clock = ManualClock(time.time())
    downloads = sandbox.state.downloads

    scenario = _scenario(sandbox, db, folder, request_id, clock)
    record, shown = asyncio.run(asyncio.wait_for(scenario, 60))
    assert '"asked": 1' in shown
    facts = dict(record.facts or ())
    [path] = pdfs(folder)
    body = path.read_bytes()
    assert path.parent == folder / request_id
    assert facts[f"signed.{path.stem}.file"] == str(path)
    assert facts[f"signed.{path.stem}.sha256"] == hashlib.sha256(body).hexdigest()
    assert facts[f"signed.{path.stem}.size"] == str(len(body))
    assert sandbox.state.downloads == downloads + 2  # the failed one, then the one kept


async def _scenario(
    sandbox: Sandbox, db: str, folder: Path, request_id: str, clock: ManualClock
) -> tuple[AuditRecord, str]:
    store = open_async_store(db)
    try:
        async with make_client(sandbox) as client:
            settings = Settings(
                tick=0.02,
                watch_every=3600.0,
                documents_dir=str(folder),
                collect=CollectPolicy(delays=(600.0,)),
            )
            service = Service(Factory(settings, clock, store), client, asks=Asks(db))
            running = asyncio.create_task(service.run([request_id]))

            async def state_is(state: str) -> bool:
                return [r.state for r in await store.rows([request_id])] == [state]

            async def passes(more: int) -> None:
                start = service.report.passes

                async def done() -> bool:
                    return service.report.passes >= start + more

                await until(done)

            async def fetched(count: int) -> bool:
                return len(await fetches(store, request_id)) >= count

            await until(lambda: state_is("NOTIFIED"))
            sandbox.issuer.close(request_id, "SIGNED")
            fault(sandbox, "downloadDocument", "status", status=503, request_id=request_id)
            await passes(3)
            assert await state_is("NOTIFIED")  # not read: watch_every is an hour
            unknown = "01JUNKNOWNFLOW000000000000"
            refused = await asyncio.to_thread(main, ["check", unknown, request_id, "--db", db])
            assert refused == 2  # an unknown id: nothing asked, for any
            await passes(3)
            assert await state_is("NOTIFIED")
            out = io.StringIO()
            argv = ["check", request_id, "--db", db, "--json"]
            assert await asyncio.to_thread(main, argv, out=out) == 0
            await until(lambda: state_is("SIGNED"))
            await until(lambda: fetched(1))
            [failed] = await fetches(store, request_id)
            assert failed.outcome is Outcome.ERROR
            assert pdfs(folder) == []  # nothing half-written is visible
            await passes(3)
            assert len(await fetches(store, request_id)) == 1  # not before its delay
            clock.advance(600.0)
            await until(lambda: fetched(2))
            await passes(3)
            service.stop()
            await running
            records = await fetches(store, request_id)
            assert [r.outcome for r in records] == [Outcome.ERROR, Outcome.ACCEPTED]  # once
            assert service.report.collected == 1
            return records[-1], out.getvalue()
    finally:
        await store.close()


def test_two_workers_racing_on_a_signed_flow_write_its_documents_once(
    sandbox: Sandbox, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firmaio.adapters.queue import Runtime

    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    folder = tmp_path / "firmati"
    folder.mkdir()
    request_id = ready_request(sandbox)
    downloads = sandbox.state.downloads

    async def scenario() -> list[str]:
        store = open_async_store(postgres_url)
        clock = SystemClock()
        settings = Settings(base_url=sandbox.url, retry=FAST_RETRY)

        def runtime(name: str) -> Runtime:
            factory = Factory(settings, clock, store).with_settings(worker=name)
            return Runtime(factory, postgres_url, Tenants(documents_dir=folder))

        a, b = await runtime("A").open(), await runtime("B").open()
        try:
            now = clock.now()
            await store.create_many([request_id], activation_deadline=now + 600, now=now)
            assert (await a.tend(request_id)).state == "NOTIFIED"
            sandbox.issuer.close(request_id, "SIGNED")
            await check_now(postgres_url, store, [request_id], clock.now())
            tended = await b.tend(request_id)
            assert (tended.state, tended.did) == ("SIGNED", "checked_now")
            assert await uncollected(postgres_url) == [request_id]  # the sweep would queue it
            assert tended.next_visit is not None
            assert tended.next_visit <= clock.now()  # collecting is due at once
            both = await asyncio.gather(a.tend(request_id), b.tend(request_id))
            again = await a.tend(request_id)
            assert again.next_visit is None  # collected: no more visits
            assert await uncollected(postgres_url) == []
            return sorted(t.did for t in [*both, again])
        finally:
            await a.close()
            await b.close()
            await store.close()

    dids = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert dids.count("fetched") == 1, dids
    assert sandbox.state.downloads == downloads + 1
    assert [p.name for p in folder.rglob("*")] == [request_id, *[p.name for p in pdfs(folder)]]
    assert len(pdfs(folder)) == 1


def test_the_sync_facade_asks_for_a_read_now_and_refuses_unknown_flows_by_name(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from firmaio.adapters import Firmaio

    db = str(tmp_path / "flows.sqlite")
    request_id = ready_request(sandbox)
    with Firmaio("sandbox-key", db=db, settings=Settings(base_url=sandbox.url)) as firmaio:
        firmaio.notify(request_id)
        unknown = "01JUNKNOWNFLOW000000000000"
        with pytest.raises(InvalidInput, match=f"no such flow in the store: {unknown}"):
            firmaio.check([request_id, unknown])
        assert asyncio.run(asked(db)) == []  # nothing asked, for any
        assert firmaio.check([request_id]) == 1
        assert asyncio.run(asked(db)) == [request_id]


async def asked(db: str) -> list[str]:
    asks = Asks(db)
    try:
        return sorted(await asks.asked())
    finally:
        await asks.close()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_serve_with_a_documents_folder_it_cannot_use_exits_3_at_start(
    api_env: Sandbox, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "firmati"
    if kind == "file":
        folder.write_text("")
    request_id = ready_request(api_env)
    calls = sum(api_env.state.calls.values())
    code = main(["serve", request_id, "--db", "flows.sqlite", "--documents-dir", str(folder)])
    said = capsys.readouterr().err
    assert code == 3
    assert f"tenant 'default': the documents folder {folder}" in said
    assert sum(api_env.state.calls.values()) == calls  # nothing sent, not even the check


def test_a_worker_whose_tenant_folder_cannot_be_used_exits_3_naming_the_tenant(
    api_env: Sandbox, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        '[comune-di-roma]\nkey_env = "FIRMAIO_API_KEY"\ndocuments_dir = "firmati/roma"\n'
    )
    calls = sum(api_env.state.calls.values())
    code = main(["worker", "--db", postgres_url, "--tenants", str(tenants)])
    said = capsys.readouterr().err
    assert code == 3
    assert f"tenant 'comune-di-roma': the documents folder {tmp_path / 'firmati/roma'}" in said
    assert "does not exist" in said
    assert sum(api_env.state.calls.values()) == calls
