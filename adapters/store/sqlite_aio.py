"""The SQLite store's async ports: a call that cannot wait runs at once, one that would in a
thread.

SQLite in WAL mode on a local file: a reader never waits, and a writer waits only for the write
lock another connection holds. So each call is first tried on a connection that never waits (no
busy timeout, no checkpoints, and with ``synchronous=NORMAL`` no sync at commit): it finishes in
tens of microseconds, or fails at once with SQLITE_BUSY having done nothing, and is then run in
the worker thread, whose connection waits for the lock. Either way the event loop never waits on
the database. A thread hop costs 50 to 300 microseconds on these machines, and far more while the
event loop is busy (the GIL passes between threads every few milliseconds): trying first keeps a
batch run as fast as a blocking store was. Checkpoints run in the worker thread; with
``durable=True`` every commit syncs the disk, so every call takes the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from firmaio.fsm.machine import State, TableVersions

from .aio import AsyncStore
from .sqlite import SqliteStore, would_wait

T = TypeVar("T")

CHECKPOINT_EVERY = 500
"""Calls tried at once between two checkpoints run in the worker thread."""


class SqliteAsyncStore(AsyncStore):
    """A :class:`~firmaio.fsm.ports.Store` over one SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: str,
        *,
        driven: Iterable[State] | None = None,
        durable: bool = False,
        threads: int = 1,
        read_only: bool = False,
        versions: TableVersions | None = None,
    ) -> None:
        driven = None if driven is None else frozenset(driven)
        super().__init__(
            lambda: SqliteStore(
                path, driven=driven, versions=versions, durable=durable, read_only=read_only
            ),
            threads=threads,
        )
        self._here = (
            None
            if durable
            else SqliteStore(
                path, driven=driven, versions=versions, never_wait=True, read_only=read_only
            )
        )
        self._tried = 0
        self._checkpoints: set[asyncio.Future[None]] = set()

    async def _run(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._here is not None and not self._closed:
            try:
                result: T = getattr(self._here, method.__name__)(*args, **kwargs)
            except Exception as error:
                if not would_wait(error):
                    raise
            else:
                self._tried += 1
                if self._tried % CHECKPOINT_EVERY == 0:
                    self._checkpoint()
                return result
        return await super()._run(method, *args, **kwargs)

    def _checkpoint(self) -> None:
        """Copy the log into the database file in the worker thread; nobody waits for it."""
        done = asyncio.ensure_future(super()._run(SqliteStore.checkpoint))
        self._checkpoints.add(done)
        done.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, done: asyncio.Future[None]) -> None:
        self._checkpoints.discard(done)
        if not done.cancelled():
            done.exception()  # a checkpoint that failed is tried again CHECKPOINT_EVERY calls on

    async def close(self) -> None:
        """Let a checkpoint under way finish, then close every connection."""
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._checkpoints)
        await super().close()
        if self._here is not None:
            self._here.close()
