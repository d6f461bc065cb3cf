"""One rate limit per API key, shared by every worker: the sliding window kept in PostgreSQL.

The gateway allows 150 calls per 5 seconds per key, whatever process makes them.
:class:`~firmaio.adapters.ratelimit.SlidingWindow` keeps that rule inside one process;
:class:`SharedWindow` keeps it across processes and machines, with the same rule: a call is
counted from the moment its slot is taken (in flight) until a whole window after its answer.
Each key's slots are rows of ``firmaio_rate_slots``; taking one is one round trip to a function
that holds the key's advisory lock while it counts, so two workers never both take the last
slot. Times are the database's clock, so workers on several machines agree. A slot whose worker
died in flight is forgotten after ``stale`` seconds (longer than any call lasts).

A full window is not polled: the function reserves the next slot that frees, at the time it
frees (a window after the answer of the call it follows, counting every slot in flight or
reserved before it as never freeing), and the call waits until then with no connection held,
and sends. So a slot is used again as soon as the rule allows, not a round trip and a wake-up
later, and each call costs one query to take its slot, however full the window. A call cut
off while it waits for its reserved slot (a worker stopping) gives it back unused. The end of a
call is recorded as when its answer came, not when the query recording it ran: the database's
clock at that query less the time this process took to send it, which is never before the
answer. Coroutines of one process take their slots one at a time per key (the others queue).
The windows of one process share a small pool of connections
(:class:`WindowConnections`: a worker with a thousand tenants' keys holds as many connections for
its windows as for one); a window made alone has a pool of one connection of its own, opened on
first use; ``aclose`` closes a pool the window owns (a later call opens it again).

Every process that calls the API with a key of a PostgreSQL deployment uses it: the workers, and
``firmaio`` commands given a ``postgresql://`` store (a ``cancel`` while the workers run, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from firmaio.fsm.errors import InvalidInput, StoreUnavailable

from .ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD
from .store.failures import postgres_error, postgres_label

SETUP_LOCK = 727272
"""The advisory lock under which one process at a time creates the table and the function."""

SETUP = (
    """CREATE TABLE IF NOT EXISTS firmaio_rate_slots (
        id BIGSERIAL PRIMARY KEY,
        key_id TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        ended DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS firmaio_rate_slots_by_key ON firmaio_rate_slots (key_id, ended)",
    """CREATE OR REPLACE FUNCTION firmaio_reserve_slot(
        p_key TEXT, p_calls INTEGER, p_window DOUBLE PRECISION, p_stale DOUBLE PRECISION
    ) RETURNS TABLE (slot BIGINT, wait DOUBLE PRECISION, used INTEGER)
    LANGUAGE plpgsql AS $$
    DECLARE
        now_ DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
        flying INTEGER;
        done INTEGER;
        freed_at DOUBLE PRECISION;
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended('firmaio_rate_slots:' || p_key, 0));
        DELETE FROM firmaio_rate_slots s WHERE s.key_id = p_key
            AND (s.ended <= now_ - p_window OR (s.ended IS NULL AND s.started <= now_ - p_stale));
        SELECT count(*) FILTER (WHERE s.ended IS NULL), count(*) FILTER (WHERE s.ended IS NOT NULL)
            INTO flying, done FROM firmaio_rate_slots s WHERE s.key_id = p_key;
        used := flying + done;
        wait := 0;
        IF used >= p_calls THEN
            IF done <= used - p_calls THEN
                wait := p_window;  -- in flight or reserved, they fill it: none frees before a
                RETURN NEXT;       -- window after it ends; no slot taken, ask again then
                RETURN;
            END IF;
            -- the slot freed when as many ended calls leave the window as it is over-full:
            -- those in flight or reserved are counted as never ending
            SELECT s.ended INTO freed_at FROM firmaio_rate_slots s
                WHERE s.key_id = p_key AND s.ended IS NOT NULL
                ORDER BY s.ended OFFSET used - p_calls LIMIT 1;
            wait := greatest(freed_at + p_window - now_, 0);
        END IF;
        INSERT INTO firmaio_rate_slots (key_id, started) VALUES (p_key, now_ + wait)
            RETURNING id INTO slot;
        used := used + 1;
        RETURN NEXT;
    END $$""",
)


Params = tuple[object, ...] | Callable[[], tuple[object, ...]]
"""A statement's parameters, or a function giving them when the statement is sent."""

WINDOW_POOL = 4
"""Connections one worker process's windows share, whatever the number of keys."""

POOL_WAIT = 2.0
"""Seconds a window waits for a connection of its pool before its call fails (the database gone)."""


class WindowConnections:
    """A pool of at most ``size`` connections the rate windows of one process share; the table
    and the function are made once, on first use."""

    def __init__(self, dsn: str, *, size: int = WINDOW_POOL) -> None:
        if size < 1:
            raise InvalidInput("WindowConnections needs size >= 1")
        self.dsn, self.size = dsn, size
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def open(self) -> WindowConnections:
        """Open the pool and make the table and the function if they are missing."""
        import psycopg
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        async with self._opening:
            if self._pool is not None:
                return self
            pool = AsyncConnectionPool(
                self.dsn, min_size=1, max_size=self.size, timeout=POOL_WAIT, open=False,
                kwargs={"autocommit": True}, name="firmaio-windows",
            )  # fmt: skip
            try:
                await pool.open(wait=True, timeout=POOL_WAIT)
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETUP_LOCK,))
                    for statement in SETUP:
                        await conn.execute(statement)
            except (psycopg.Error, PoolTimeout) as error:
                await pool.close(timeout=0)
                raise self._failure(error) from None  # its text may hold the URL
            self._pool = pool
        return self

    def _failure(self, error: Exception) -> Exception:
        import psycopg

        if isinstance(error, psycopg.Error):
            return postgres_error(error, self.dsn)
        return StoreUnavailable(
            f"{postgres_label(self.dsn)}: no connection for the rate windows within {POOL_WAIT:g} s"
        )

    async def fetchone(self, sql: str, params: Params) -> Any:
        """One statement on a connection of the pool (opened first if need be), its first row;
        a connection the database cut is replaced by the pool. ``params`` may be a function,
        called once the connection is in hand (a duration measured up to the sending)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._pool is None:
            await self.open()
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(sql, params() if callable(params) else params)
                return await cursor.fetchone()
        except (psycopg.Error, PoolTimeout) as error:
            raise self._failure(error) from None

    async def aclose(self) -> None:
        """Close the pool (slots still in flight end when their calls do, or go stale)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(timeout=1.0)


class SharedWindow:
    """At most ``calls`` calls with one key in any window of ``period`` seconds, across every
    process that opens a window for the same ``key_id`` on the same database. ``connections``:
    the pool it shares with the process's other windows (None: a pool of one of its own)."""

    def __init__(
        self,
        dsn: str,
        key_id: str,
        *,
        calls: int = GATEWAY_CALLS,
        period: float = GATEWAY_PERIOD,
        stale: float = 120.0,
        connections: WindowConnections | None = None,
    ) -> None:
        if calls < 1 or period <= 0 or stale <= period:
            raise InvalidInput("SharedWindow needs calls >= 1, period > 0 and stale > period")
        self.dsn, self.key_id = dsn, key_id
        self.calls, self.period, self.stale = calls, period, stale
        self._owned = connections is None
        self.connections = connections or WindowConnections(dsn, size=1)
        self._lock = asyncio.Lock()
        self._used = 0

    async def open(self) -> SharedWindow:
        """Open its pool, creating the table and the function if they are missing (first use
        does it too)."""
        await self.connections.open()
        return self

    async def aclose(self) -> None:
        """Close the pool it owns (a shared pool is closed by its owner)."""
        if self._owned:
            await self.connections.aclose()

    close = aclose

    async def _query(self, sql: str, params: Params) -> Any:
        """Run one statement, its first row; a connection found cut (a restart, a failover) is
        replaced first, so the window comes back with the database."""
        return await self.connections.fetchone(sql, params)

    async def _take(self) -> tuple[int | None, float]:
        """A slot reserved, and the seconds until it is the call's (0: at once); no slot (None)
        while calls in flight fill the window, and the seconds until asking again."""
        row = await self._query(
            "SELECT slot, wait, used FROM firmaio_reserve_slot(%s, %s, %s, %s)",
            (self.key_id, self.calls, self.period, self.stale),
        )
        slot, wait, used = row
        self._used = int(used)
        return slot, float(wait)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until one more call fits; count it while in flight and a window after it ends."""
        async with self._lock:
            while True:
                slot, wait = await self._take()
                if slot is not None:
                    break
                await asyncio.sleep(wait)
        if wait > 0:
            try:
                await asyncio.sleep(wait)  # reserved: the call's from then on
            except BaseException:  # cut off before it was sent: the slot is given back
                with contextlib.suppress(StoreUnavailable):  # else it goes stale: safe
                    await self._query(
                        "DELETE FROM firmaio_rate_slots WHERE id = %s RETURNING id", (slot,)
                    )
                raise
        try:
            yield
        finally:
            answered = time.monotonic()
            with contextlib.suppress(StoreUnavailable):  # else it goes stale in flight: safe
                await self._query(
                    "UPDATE firmaio_rate_slots "
                    "SET ended = extract(epoch FROM clock_timestamp()) - %s "
                    "WHERE id = %s RETURNING id",
                    lambda: (time.monotonic() - answered, slot),
                )

    def in_use(self) -> int:
        """Calls the window held when this process last took a slot (for a gauge)."""
        return self._used
