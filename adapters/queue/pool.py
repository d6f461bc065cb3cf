"""The job queue's connections: Procrastinate's pool, made to cost one round trip a query.

Procrastinate sends every query on a connection of its pool, each one statement (a fetch, a
deferral, a finish, a heartbeat: its SQL functions do their work atomically). By default that
connection is in a transaction, so each query also costs a ``BEGIN`` and a ``COMMIT``, and the
pool checks each connection it hands out with an empty query: four round trips where one does,
a few times per flow in every worker. Here the connections are in autocommit, and a connection
is checked only when it has rested :data:`IDLE_CHECK` seconds or more since it was last given
back (one the database cut while it rested is still replaced before use; a busy worker's
connections, in use every few milliseconds, are not checked before each query: one cut between
two of its queries fails that query, and the lane rides the outage out as it would anyway,
:mod:`.worker`).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import procrastinate
from psycopg_pool import AsyncConnectionPool

POOL = 6
"""Connections of a worker's job queue (its fetches, heartbeats, deferrals), whatever the number
of tenants; its listening connection is one more."""

POOL_WAIT = 2.0
"""Seconds a lane waits for a connection of the pool before its call fails: with the database
gone, the lanes stop within this long (and the worker rides the outage out)."""

IDLE_CHECK = 2.0
"""Seconds a connection rests in the pool after which it is checked before its next use."""


def connector(dsn: str) -> procrastinate.PsycopgConnector:
    """Procrastinate's connector of the database at ``dsn``: a pool of at most :data:`POOL`
    autocommit connections, each checked after it rested (see the module docstring)."""
    given_back: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    async def check(conn: Any) -> None:
        if time.monotonic() - given_back.get(conn, float("-inf")) >= IDLE_CHECK:
            await AsyncConnectionPool.check_connection(conn)

    async def configure(conn: Any) -> None:  # not the pool's kwargs: its listening
        await conn.set_autocommit(True)  # connection takes those and sets autocommit itself

    async def reset(conn: Any) -> None:
        given_back[conn] = time.monotonic()

    def pool(**options: Any) -> AsyncConnectionPool[Any]:
        made = {**options, "check": check, "configure": configure, "reset": reset}
        return AsyncConnectionPool(**made)

    return procrastinate.PsycopgConnector(
        conninfo=dsn, min_size=1, max_size=POOL, timeout=POOL_WAIT, pool_factory=pool
    )
