"""Store calls never block the event loop: a slow store holds one flow, not every flow."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from firmaio.adapters.factory import Factory
from firmaio.adapters.runner import BatchRun
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import AsyncStore, SqliteStore, open_async_store
from firmaio.fsm import Answer
from firmaio.fsm.errors import StoreError
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock

LATENCY = 0.05
IDS = [f"01ARZ3NDEKTSV4RRFFQ69G5FA{c}" for c in "VWXYZ"]


def batch(store: AsyncStore, api: Any, **settings: Any) -> BatchRun:
    """A batch run over IDS, on a manual clock."""
    return Factory(Settings(**settings), ManualClock(), store).batch(api, IDS)


class Hold:
    """One store call held until another flow calls the API (or 10 s pass)."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.released = threading.Event()
        self.over = threading.Event()
        self.released_in_time: bool | None = None

    def wait(self) -> None:
        self.held.set()
        self.released_in_time = self.released.wait(timeout=10)
        self.over.set()

    def api_called(self) -> None:
        if self.held.is_set() and not self.over.is_set():
            self.released.set()


class SlowStore(SqliteStore):
    """Every call takes 50 ms more; the first append is also held (see :class:`Hold`)."""

    def __init__(self, path: str, hold: Hold) -> None:
        super().__init__(path)
        self.hold = hold

    def load(self, flow_id: str) -> Any:
        time.sleep(LATENCY)
        return super().load(flow_id)

    def open_intent(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(LATENCY)
        super().open_intent(*args, **kwargs)

    def append(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(LATENCY)
        if not self.hold.held.is_set():
            self.hold.wait()
        super().append(*args, **kwargs)


class WatchingApi:
    """Answers every request as signable and every notification as sent; a call made while a
    store call is held releases it."""

    def __init__(self, hold: Hold) -> None:
        self.hold = hold

    def _seen(self) -> None:
        self.hold.api_called()

    async def get_request(self, request_id: str) -> Answer:
        self._seen()
        return Answer.request("WAIT_FOR_SIGNATURE")

    async def send_notification(self, request_id: str) -> Answer:
        self._seen()
        return Answer.sent(EXAMPLE_IO_MESSAGE_ID)

    async def cancel_request(self, request_id: str) -> Answer:  # pragma: no cover - not fired
        raise AssertionError("not fired here")


def test_the_event_loop_runs_while_a_store_call_is_held(tmp_path: Path) -> None:
    """One store thread (SQLite's default): while a call is held, other work on the loop (here a
    task that releases it) still runs; a store that blocked the loop would never release."""
    hold = Hold()
    path = str(tmp_path / "flows.sqlite")

    async def release_when_held() -> None:
        while not hold.over.is_set():
            hold.api_called()
            await asyncio.sleep(0.005)

    async def run() -> dict[str, int]:
        store = AsyncStore(lambda: SlowStore(path, hold), threads=1)
        releaser = asyncio.create_task(release_when_held())
        try:
            api = WatchingApi(Hold())  # answers only; the task above releases the hold
            report = await batch(store, api, concurrency=5).run()
        finally:
            releaser.cancel()
            await store.close()
        return dict(report.counts)

    assert asyncio.run(run()) == {"NOTIFIED": len(IDS)}
    assert hold.released_in_time, "nothing ran on the event loop while a store call was held"


def test_other_flows_keep_moving_while_a_store_call_is_held(tmp_path: Path) -> None:
    """Two store threads: while one call is held, other flows read, write and call the API."""
    hold = Hold()
    api = WatchingApi(hold)
    path = str(tmp_path / "flows.sqlite")

    async def run() -> dict[str, int]:
        store = AsyncStore(lambda: SlowStore(path, hold), threads=2)
        try:
            report = await batch(store, api, concurrency=5).run()
        finally:
            await store.close()
        return dict(report.counts)

    assert asyncio.run(run()) == {"NOTIFIED": len(IDS)}
    assert hold.held.is_set(), "the held call never happened"
    assert hold.released_in_time, "no other flow called the API while a store call was held"


def test_a_sqlite_write_lock_held_elsewhere_never_stalls_the_loop(tmp_path: Path) -> None:
    """SQLite's default store: while another connection holds the write lock, writes wait in the
    worker thread and the event loop runs on. Only the loop releases the lock here: a store that
    waited on the loop would stall it for the whole busy timeout (30 s) before giving up."""
    path = str(tmp_path / "flows.sqlite")
    store = open_async_store(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    ticks_while_held = 0
    longest_stall = 0.0

    async def release_later() -> None:
        nonlocal ticks_while_held, longest_stall
        last = time.monotonic()
        for _ in range(20):
            await asyncio.sleep(0.005)
            now = time.monotonic()
            longest_stall, last = max(longest_stall, now - last), now
            ticks_while_held += 1
        holder.execute("COMMIT")

    async def run() -> dict[str, int]:
        releaser = asyncio.create_task(release_later())
        await asyncio.sleep(0)  # the releaser starts its clock before the first write
        try:
            report = await batch(store, WatchingApi(Hold())).run()
        finally:
            await releaser
            await store.close()
        return dict(report.counts)

    assert asyncio.run(run()) == {"NOTIFIED": len(IDS)}
    assert ticks_while_held == 20
    assert longest_stall < 1.0, f"the event loop stood still {longest_stall:.1f} s on a lock"
    holder.close()


@pytest.mark.parametrize("kind", ["sqlite", "threads"])
def test_a_closed_store_refuses_calls_by_name(tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / "flows.sqlite")
    store = open_async_store(path) if kind == "sqlite" else AsyncStore(lambda: SqliteStore(path))

    async def run() -> None:
        await store.close()
        await store.load("01ARZ3NDEKTSV4RRFFQ69G5FAV")

    with pytest.raises(StoreError, match="the store is closed: load was not run"):
        asyncio.run(run())
