"""A running worker (PostgreSQL, Procrastinate's lanes in this process) collects a signed flow's
documents on its own: ``firmaio check`` brings the resting flow's visit forward, the visit reads
SIGNED, the next one fetches, once; the file's SHA-256 is the record's."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import pytest

from firmaio.adapters.cli import main
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.queue import Runtime, WorkerHandle, WorkerOptions, enqueue, work
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import AsyncStore, open_async_store
from firmaio.adapters.tenants import Tenants
from firmaio.fsm import Outcome, Trigger
from tests.conftest import FAST_RETRY
from tests.sandbox_helpers import ready_request


def test_a_running_worker_reads_a_flow_when_asked_and_collects_its_documents_once(
    sandbox: Sandbox, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRMAIO_API_KEY", "sandbox-key")
    folder = tmp_path / "firmati"
    folder.mkdir()
    request_id = ready_request(sandbox)
    downloads = sandbox.state.downloads

    async def until_state(store: AsyncStore, state: str) -> None:
        deadline = time.monotonic() + 30
        while [r.state for r in await store.rows([request_id])] != [state]:
            assert time.monotonic() < deadline, f"the flow never reached {state}"
            await asyncio.sleep(0.05)

    async def scenario() -> list[tuple[str, Outcome, dict[str, str]]]:
        store = open_async_store(postgres_url)
        clock = SystemClock()
        settings = Settings(
            base_url=sandbox.url,
            retry=FAST_RETRY,
            watch_every=3600.0,
            documents_dir=str(folder),  # the default tenant's, without a tenants file
        )
        runtime = Runtime(Factory(settings, clock, store), postgres_url, Tenants())
        await runtime.open()
        handle = WorkerHandle()
        await enqueue(postgres_url, store, clock, [request_id])
        worker = asyncio.create_task(work(postgres_url, runtime, WorkerOptions(), handle))
        try:
            await until_state(store, "NOTIFIED")
            sandbox.issuer.close(request_id, "SIGNED")
            argv = ["check", request_id, "--db", postgres_url]
            assert await asyncio.to_thread(main, argv) == 0  # the hour's wait brought forward
            await until_state(store, "SIGNED")
            deadline = time.monotonic() + 30
            while True:
                stored = await store.load(request_id)
                assert stored is not None
                fetched = [r for r in stored.records if r.trigger == Trigger.FETCH_DOCUMENTS]
                if fetched:
                    break
                assert time.monotonic() < deadline, "the documents were never fetched"
                await asyncio.sleep(0.05)
        finally:
            handle.stop()
            await asyncio.wait_for(worker, 30)
            await runtime.close()
            await store.close()
        return [(r.trigger, r.outcome, dict(r.facts or ())) for r in fetched]

    [(_trigger, outcome, facts)] = asyncio.run(asyncio.wait_for(scenario(), 90))
    assert outcome is Outcome.ACCEPTED
    [path] = sorted(folder.rglob("*.pdf"))
    assert facts[f"signed.{path.stem}.sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert facts[f"signed.{path.stem}.file"] == str(path)
    assert sandbox.state.downloads == downloads + 1
