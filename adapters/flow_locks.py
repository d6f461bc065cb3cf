"""One process at a time on a flow, across every process of a PostgreSQL deployment.

A compare-and-set on each write stops two processes from both *recording* a step of a flow, but
not from both *making* its call: two processes recovering one lost notification at once could
both read "not sent yet" and both send. :class:`FlowLocks` holds a PostgreSQL session-level
advisory lock on a flow while a process works on it; another process that asks for the same flow
is told it is busy and leaves it. The locks belong to one connection of this process: if the
process dies its connection goes, and so do its locks, at once. PostgreSQL's advisory locks are
re-entrant within a session, so a lock this process holds is told no to its own other tasks here
(a second job of the flow, a page), not taken again. A task queue's own job locks do
not cover a worker that stops heart-beating while its job still runs (a paused or stopping
process); these do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from .store.failures import postgres_error


class FlowLocks:
    """Advisory locks on flows, on one connection of this process (opened on first use)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None
        self._opening = asyncio.Lock()
        self._mine: set[str] = set()
        """The flows this process holds (or is taking): no other task of its own takes them."""

    async def _query(self, sql: str, flow_id: str) -> Any:
        return (await self._rows(sql, f"firmaio_flow:{flow_id}"))[0][0]

    async def _rows(self, sql: str, param: Any) -> list[Any]:
        import psycopg

        async with self._opening:
            if self._conn is None or self._conn.closed or self._conn.broken:
                try:
                    self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
                except psycopg.Error as error:
                    raise postgres_error(error, self.dsn) from None
        try:
            cursor = await self._conn.execute(sql, (param,))
            rows: list[Any] = await cursor.fetchall()
            return rows
        except psycopg.Error as error:
            raise postgres_error(error, self.dsn) from None

    @asynccontextmanager
    async def hold_many(self, flow_ids: Sequence[str]) -> AsyncIterator[set[str]]:
        """Hold the locks of those of ``flow_ids`` no other process holds while the block runs
        (one statement takes them all, one lets them go); yields the ids held."""
        asked = [flow_id for flow_id in dict.fromkeys(flow_ids) if flow_id not in self._mine]
        self._mine.update(asked)
        held: set[str] = set()
        try:
            try:
                taken = await self._rows(
                    "SELECT k FROM unnest(%s::text[]) AS k "
                    "WHERE pg_try_advisory_lock(hashtextextended(k, 0))",
                    [f"firmaio_flow:{flow_id}" for flow_id in asked],
                )
            except BaseException:
                await self._let_go(asked)
                raise
            held = {str(key).removeprefix("firmaio_flow:") for (key,) in taken}
            self._mine.difference_update(set(asked) - held)
            yield held
        finally:
            try:
                if held:
                    await self._rows(
                        "SELECT count(pg_advisory_unlock(hashtextextended(k, 0))) "
                        "FROM unnest(%s::text[]) AS k",
                        [f"firmaio_flow:{flow_id}" for flow_id in held],
                    )
            finally:
                self._mine.difference_update(asked)

    async def free(self, flow_ids: Sequence[str]) -> set[str]:
        """Those of ``flow_ids`` no other process holds now, holding none of them (each lock
        taken and let go at once, one statement): what a page may read before it locks. A flow
        this process holds is not free either."""
        taken = await self._rows(
            "SELECT k FROM unnest(%s::text[]) AS k WHERE CASE WHEN "
            "pg_try_advisory_lock(hashtextextended(k, 0)) THEN "
            "pg_advisory_unlock(hashtextextended(k, 0)) ELSE false END",
            [f"firmaio_flow:{flow_id}" for flow_id in flow_ids if flow_id not in self._mine],
        )
        return {str(key).removeprefix("firmaio_flow:") for (key,) in taken}

    @asynccontextmanager
    async def hold(self, flow_id: str, *, wait: float = 0.0) -> AsyncIterator[bool]:
        """Hold ``flow_id``'s lock while the block runs; yields False (and holds nothing) if
        another process holds it for longer than ``wait`` seconds (a command waits out a
        worker's short visit; a worker does not wait)."""
        took = await self._take(flow_id)
        deadline, pause = time.monotonic() + wait, 0.02
        while not took and time.monotonic() < deadline:
            await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.25)
            took = await self._take(flow_id)
        try:
            yield took
        finally:
            if took:
                try:
                    await self._query("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", flow_id)
                finally:
                    self._mine.discard(flow_id)

    async def _take(self, flow_id: str) -> bool:
        """Take the lock, unless a task of this process holds it (or is taking it)."""
        if flow_id in self._mine:
            return False
        self._mine.add(flow_id)
        took = False
        try:
            took = bool(
                await self._query("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", flow_id)
            )
        except BaseException:
            await self._let_go([flow_id])
            raise
        finally:
            if not took:
                self._mine.discard(flow_id)
        return took

    async def _let_go(self, flow_ids: Sequence[str]) -> None:
        """Let go of ``flow_ids``' locks after a statement taking them was interrupted: a task
        cancelled while it waited for the answer (psycopg cancels the query, which may have
        taken the locks already) would otherwise leave them held by this connection, every
        other process told "busy" until this one exits. Shielded from a second cancellation;
        a lock not held is left as it is, and a connection gone took its locks with it."""
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            return  # never a new connection: it would hold none of the old one's locks
        try:
            await asyncio.shield(
                conn.execute(
                    "SELECT count(pg_advisory_unlock(hashtextextended(k, 0))) "
                    "FROM unnest(%s::text[]) AS k",
                    ([f"firmaio_flow:{flow_id}" for flow_id in flow_ids],),
                )
            )
        except Exception:  # the connection went meanwhile: so did its locks
            return

    async def aclose(self) -> None:
        """Close the connection, which lets go of every lock still held."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
