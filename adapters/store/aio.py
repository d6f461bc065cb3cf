"""The store's ports, async: the blocking SQL runs in worker threads, never on the event loop.

Each worker thread keeps a connection of its own (SQLite or psycopg), opened on first use, so a
slow call (a lock wait, a round trip to a distant PostgreSQL) holds its thread while the event
loop, and the other threads' calls, go on. Threads over psycopg's ``AsyncConnection``: SQLite has
no async driver in the standard library, and one SQL core (:mod:`.sql`) then serves both
databases. The first connection is opened by the constructor, so a store that cannot be used (a
schema newer than this code, say) fails at once, where it is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import EllipsisType
from typing import Any, Literal, TypeVar

from firmaio.fsm.errors import InvalidInput, StoreError
from firmaio.fsm.machine import State
from firmaio.fsm.ports import FlowRow, StoredFlow
from firmaio.fsm.trail import AuditRecord, ChainLink, StoredEvent

from .batches import BatchRow
from .paging import PAGE
from .sql import SqlStore

T = TypeVar("T")
_Call = tuple["asyncio.Future[Any]", str, tuple[Any, ...], dict[str, Any]]
"""A call waiting for a worker thread: its future, the store method's name, its arguments."""


class AsyncStore:
    """A :class:`~firmaio.fsm.ports.Store` over blocking :class:`SqlStore` connections.

    ``opener`` makes one connection's store; ``threads`` is how many run at once.
    """

    def __init__(self, opener: Callable[[], SqlStore], *, threads: int = 1) -> None:
        if threads < 1:
            raise InvalidInput(f"a store needs at least one thread, got threads={threads}")
        self._opener = opener
        first = opener()
        self._heads = first.heads  # one map for every thread's connection (:mod:`.one_write`)
        self._spare = [first]
        self._opened = [first]
        self._lock = threading.Lock()
        self._local = threading.local()
        self._threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="firmaio-store")
        self._closed = False
        self._waiting: list[_Call] = []
        """Calls made while every thread was busy: they go to the next free thread together."""
        self._busy = 0

    def _core(self) -> SqlStore:
        """This worker thread's own connection, opened on its first call."""
        core: SqlStore | None = getattr(self._local, "core", None)
        if core is None:
            with self._lock:
                core = self._spare.pop() if self._spare else None
            if core is None:
                core = self._opener()
                core.heads = self._heads
                with self._lock:
                    self._opened.append(core)
            self._local.core = core
        return core

    def _in_thread(self, batch: list[_Call]) -> list[tuple[bool, Any]]:
        """Run a batch of calls in order, in this worker thread; each call's outcome."""
        outcomes: list[tuple[bool, Any]] = []
        for _future, name, args, kwargs in batch:
            core = None
            try:
                core = self._core()  # (re)connects here if a cut connection was forgotten
                outcomes.append((True, getattr(core, name)(*args, **kwargs)))
            except Exception as error:  # handed to the caller, as if raised in its task
                outcomes.append((False, error))
                if core is not None and not core.usable():  # cut: the next call reconnects
                    self._forget(core)
        return outcomes

    def _forget(self, core: SqlStore) -> None:
        self._local.core = None
        with self._lock:
            if core in self._opened:
                self._opened.remove(core)
        with contextlib.suppress(Exception):
            core.close()

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._waiting = self._waiting, []
        self._busy += 1
        done = self._executor.submit(self._in_thread, batch)
        done.add_done_callback(
            lambda finished: loop.call_soon_threadsafe(self._settle, loop, batch, finished)
        )

    def _settle(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Call], finished: Future[Any]
    ) -> None:
        self._busy -= 1
        outcomes: list[tuple[bool, Any]] = finished.result()
        for (future, *_call), (ok, value) in zip(batch, outcomes, strict=True):
            if future.cancelled():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._waiting and self._closed:  # closed meanwhile: no thread will take them
            waiting, self._waiting = self._waiting, []
            for future, name, _args, _kwargs in waiting:
                if not future.done():
                    future.set_exception(StoreError(f"the store is closed: {name} was not run"))
        elif self._waiting and self._busy < self._threads:
            self._dispatch(loop)

    async def _run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``method`` (a :class:`SqlStore` method, or its override) in a worker thread.

        A thread hop costs tens to hundreds of microseconds; calls made while every thread is
        busy wait together and cross in one hop, so a busy run pays it once per batch.
        """
        if self._closed:
            raise StoreError(f"the store is closed: {method.__name__} was not run")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((future, method.__name__, args, kwargs))
        if self._busy < self._threads:
            self._dispatch(loop)
        return await future

    async def read(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Any other :class:`SqlStore` method (the console's lists and accounts), in a worker
        thread: ``await store.read(SqlStore.list_flows, flt)``."""
        return await self._run(method, *args, **kwargs)

    # -- FlowStore ----------------------------------------------------------------------------

    async def create(
        self,
        flow_id: str,
        *,
        activation_deadline: float,
        now: float,
        due_at: float | None,
        tenant: str | None = None,
        initial: State = State.READY,
    ) -> bool:
        return await self._run(
            SqlStore.create,
            flow_id,
            activation_deadline=activation_deadline,
            now=now,
            due_at=due_at,
            tenant=tenant,
            initial=initial,
        )

    async def load(self, flow_id: str) -> StoredFlow | None:
        return await self._run(SqlStore.load, flow_id)

    async def load_many(self, flow_ids: Sequence[str]) -> dict[str, StoredFlow]:
        return await self._run(SqlStore.load_many, flow_ids)

    async def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, now: float, due_at: float | None
    ) -> None:
        await self._run(
            SqlStore.open_intent, flow_id, intent, expected_seq=expected_seq, now=now,
            due_at=due_at,
        )  # fmt: skip

    async def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float,
        due_at: float | None,
    ) -> None:  # fmt: skip
        await self._run(
            SqlStore.append, record, expected_seq=expected_seq, close_intent=close_intent,
            now=now, due_at=due_at,
        )  # fmt: skip

    # -- DueReader ----------------------------------------------------------------------------

    async def due(
        self,
        now: float,
        *,
        tenant: str | None = None,
        every_tenant: bool = False,
        after: tuple[float, str] | None = None,
        limit: int = 500,
    ) -> list[FlowRow]:
        return await self._run(
            SqlStore.due, now, tenant=tenant, every_tenant=every_tenant, after=after, limit=limit
        )

    async def checked(
        self, flow_id: str, *, expected_seq: int, at: float, due_at: float | None
    ) -> bool:
        return await self._run(
            SqlStore.checked, flow_id, expected_seq=expected_seq, at=at, due_at=due_at
        )

    async def due_requests(self, request_ids: Sequence[str], *, by: float) -> set[str]:
        return await self._run(SqlStore.due_requests, request_ids, by=by)

    async def refile(self, flow_id: str, *, expected_seq: int, due_at: float | None) -> bool:
        return await self._run(SqlStore.refile, flow_id, expected_seq=expected_seq, due_at=due_at)

    # -- BatchStore ---------------------------------------------------------------------------

    async def create_many(
        self,
        flow_ids: Sequence[str],
        *,
        activation_deadline: float,
        now: float,
        tenant: str | None = None,
        dossier_id: str | None = None,
    ) -> None:
        await self._run(
            SqlStore.create_many,
            flow_ids,
            activation_deadline=activation_deadline,
            now=now,
            tenant=tenant,
            dossier_id=dossier_id,
        )

    async def pending(self, ids: Sequence[str] | None = None) -> int:
        return await self._run(SqlStore.pending, ids)

    # -- TrailReader --------------------------------------------------------------------------

    async def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        return await self._run(SqlStore.rows, ids)

    async def links(self, flow_id: str) -> list[ChainLink]:
        return await self._run(SqlStore.links, flow_id)

    async def store_id(self) -> str:
        return await self._run(SqlStore.store_id)

    async def trail_page(
        self, after: str | None = None, limit: int = PAGE
    ) -> list[tuple[FlowRow, list[ChainLink]]]:
        return await self._run(SqlStore.trail_page, after, limit)

    async def flows_page(
        self, after: str | None = None, limit: int = PAGE
    ) -> list[tuple[FlowRow, StoredFlow, list[ChainLink]]]:
        return await self._run(SqlStore.flows_page, after, limit)

    async def orphan_flow_ids(self) -> list[str]:
        return await self._run(SqlStore.orphan_flow_ids)

    # -- the outbox (:mod:`.outbox`) ------------------------------------------------------------

    async def events(
        self,
        *,
        after: int | None = None,
        tenant: str | EllipsisType | None = ...,
        flow_id: str | None = None,
        type: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        return await self._run(
            SqlStore.events,
            after=after,
            tenant=tenant,
            flow_id=flow_id,
            type=type,
            status=status,
            since=since,
            until=until,
            limit=limit,
        )

    async def due_events(
        self, *, tenants: Sequence[str | None], now: float, limit: int
    ) -> list[StoredEvent]:
        return await self._run(SqlStore.due_events, tenants=tenants, now=now, limit=limit)

    async def record_attempt(
        self,
        event_id: str,
        *,
        attempt: int,
        at: float,
        status_code: int | None,
        latency_ms: float,
        error: str | None,
        outcome: Literal["delivered", "retry", "dead"],
        next_attempt_at: float | None,
    ) -> None:
        await self._run(
            SqlStore.record_attempt,
            event_id,
            attempt=attempt,
            at=at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            outcome=outcome,
            next_attempt_at=next_attempt_at,
        )

    async def deliveries(
        self, event_id: str
    ) -> list[tuple[int, float, int | None, float, str | None]]:
        return await self._run(SqlStore.deliveries, event_id)

    async def redeliver(
        self, event_ids: Sequence[str] | None = None, *, dead_since: float | None = None
    ) -> int:
        return await self._run(SqlStore.redeliver, event_ids, dead_since=dead_since)

    # -- batches (firmaio send --manifest) ---------------------------------------------------

    async def save_batch(
        self, batch_id: str, rows: Sequence[tuple[int, str | None, str | None, str | None]]
    ) -> None:
        await self._run(SqlStore.save_batch, batch_id, rows)

    async def tie_to_batch(self, flow_id: str, batch_id: str) -> None:
        await self._run(SqlStore.tie_to_batch, flow_id, batch_id)

    async def batch_rows(self, batch_id: str) -> list[BatchRow]:
        return await self._run(SqlStore.batch_rows, batch_id)

    async def close(self) -> None:
        """Wait for calls under way, then close every connection."""
        self._closed = True
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        with self._lock:
            opened, self._opened = self._opened, []
        for core in opened:
            core.close()
