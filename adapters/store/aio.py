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
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from firmaio.fsm.audit import AuditRecord, ChainLink
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import FlowRow, StoredFlow

from .sql import SqlStore

T = TypeVar("T")


class AsyncStore:
    """A :class:`~firmaio.fsm.ports.Store` over blocking :class:`SqlStore` connections.

    ``opener`` makes one connection's store; ``threads`` is how many run at once.
    """

    def __init__(self, opener: Callable[[], SqlStore], *, threads: int = 1) -> None:
        if threads < 1:
            raise InvalidInput(f"a store needs at least one thread, got threads={threads}")
        self._opener = opener
        first = opener()
        self._spare = [first]
        self._opened = [first]
        self._lock = threading.Lock()
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="firmaio-store")

    def _core(self) -> SqlStore:
        """This worker thread's own connection, opened on its first call."""
        core: SqlStore | None = getattr(self._local, "core", None)
        if core is None:
            with self._lock:
                core = self._spare.pop() if self._spare else None
            if core is None:
                core = self._opener()
                with self._lock:
                    self._opened.append(core)
            self._local.core = core
        return core

    def _in_thread(self, method: Callable[..., T], args: tuple[Any, ...], kwargs: Any) -> T:
        bound: Callable[..., T] = getattr(self._core(), method.__name__)  # a subclass's own
        return bound(*args, **kwargs)

    async def _run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(self._in_thread, method, args, kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    # -- FlowStore ----------------------------------------------------------------------------

    async def create(self, flow_id: str, *, activation_deadline: float, now: float) -> bool:
        return await self._run(
            SqlStore.create, flow_id, activation_deadline=activation_deadline, now=now
        )

    async def load(self, flow_id: str) -> StoredFlow | None:
        return await self._run(SqlStore.load, flow_id)

    async def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, now: float
    ) -> None:
        await self._run(SqlStore.open_intent, flow_id, intent, expected_seq=expected_seq, now=now)

    async def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float
    ) -> None:
        await self._run(
            SqlStore.append, record, expected_seq=expected_seq, close_intent=close_intent, now=now
        )

    # -- LeaseStore ---------------------------------------------------------------------------

    async def create_many(
        self, flow_ids: Sequence[str], *, activation_deadline: float, now: float
    ) -> None:
        await self._run(
            SqlStore.create_many, flow_ids, activation_deadline=activation_deadline, now=now
        )

    async def claim(
        self, worker: str, *, limit: int, lease: float, now: float, ids: Sequence[str] | None = None
    ) -> list[str]:
        return await self._run(SqlStore.claim, worker, limit=limit, lease=lease, now=now, ids=ids)

    async def renew(self, worker: str, ids: Sequence[str], *, lease: float, now: float) -> None:
        await self._run(SqlStore.renew, worker, ids, lease=lease, now=now)

    async def release(self, worker: str, ids: Sequence[str]) -> None:
        await self._run(SqlStore.release, worker, ids)

    async def pending(self, ids: Sequence[str] | None = None) -> int:
        return await self._run(SqlStore.pending, ids)

    # -- TrailReader --------------------------------------------------------------------------

    async def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        return await self._run(SqlStore.rows, ids)

    async def links(self, flow_id: str) -> list[ChainLink]:
        return await self._run(SqlStore.links, flow_id)

    async def orphan_flow_ids(self) -> list[str]:
        return await self._run(SqlStore.orphan_flow_ids)

    async def close(self) -> None:
        """Wait for calls under way, then close every connection."""
        await asyncio.to_thread(self._executor.shutdown, wait=True)
        with self._lock:
            opened, self._opened = self._opened, []
        for core in opened:
            core.close()
