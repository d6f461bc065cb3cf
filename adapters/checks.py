"""A status read now, asked for from outside: ``firmaio check ID...`` and its library call.

Any signal (an io-sign webhook when it ships, an operator, a case-management system) may ask
for flows to be looked at now; the read decides what happened, the signal's body is never
trusted: only flow ids are taken, and ids the store does not hold are refused by name, nothing
asked for any (:func:`check_now`). An ask is a row of ``firmaio_checks`` (the flow's id, when
it was asked) in the store's own database, made on first use; :func:`due_now` is the one place
it is written. The service reads the flow's status at its next pass and a worker at its next
visit (queued again for now), whatever ``watch_every`` says, then clears the ask.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import Store

from .store.failures import postgres_error, sqlite_error

TABLE = (
    "CREATE TABLE IF NOT EXISTS firmaio_checks ("
    "flow_id TEXT PRIMARY KEY, asked_at DOUBLE PRECISION NOT NULL)"
)

POSTGRES = ("postgresql://", "postgres://")


class Asks:
    """The asks for a status read now, kept in the database at ``db`` (a SQLite file or a
    ``postgresql://`` URL), through a connection of their own."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.postgres = db.startswith(POSTGRES)
        self._conn: Any = None
        self._lock = threading.Lock()

    def _run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            if self.postgres:
                import psycopg

                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.db, autocommit=True, connect_timeout=5)
                        self._conn.execute(TABLE)
                    cursor = self._conn.execute(sql.replace("?", "%s"), params)
                    return list(cursor.fetchall()) if cursor.description else []
                except psycopg.Error as error:
                    raise postgres_error(error, self.db) from None
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(
                        self.db, timeout=30, isolation_level=None, check_same_thread=False
                    )
                    self._conn.execute(TABLE)
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as error:
                raise sqlite_error(error, self.db) from None

    async def ask(self, flow_ids: Sequence[str], now: float) -> None:
        """Mark ``flow_ids`` due for a status read now (:func:`due_now`)."""
        await asyncio.to_thread(due_now, self, flow_ids, now)

    async def asked(self, flow_ids: Sequence[str] | None = None) -> dict[str, float]:
        """The flows (of ``flow_ids``) asked for, and when."""
        if flow_ids is None:
            rows = await asyncio.to_thread(
                self._run, "SELECT flow_id, asked_at FROM firmaio_checks"
            )
        else:
            if not flow_ids:
                return {}
            marks = ",".join("?" * len(flow_ids))
            sql = f"SELECT flow_id, asked_at FROM firmaio_checks WHERE flow_id IN ({marks})"
            rows = await asyncio.to_thread(self._run, sql, tuple(flow_ids))
        return {str(flow_id): float(at) for flow_id, at in rows}

    async def answered(self, flow_id: str, asked_at: float) -> None:
        """The read asked for at ``asked_at`` was made: clear it (a later ask stays)."""
        sql = "DELETE FROM firmaio_checks WHERE flow_id = ? AND asked_at <= ?"
        await asyncio.to_thread(self._run, sql, (flow_id, asked_at))

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def due_now(asks: Asks, flow_ids: Sequence[str], now: float) -> None:
    """Where "this flow is due for a status read now" is written: one row per flow (a later ask
    replaces an earlier one), and the flow made due before any other (due time 0: whatever the
    clock of the process that reads it says), so that the long-running modes, which read only
    the due flows in the order they fell due, find it first."""
    for flow_id in flow_ids:
        asks._run(
            "INSERT INTO firmaio_checks (flow_id, asked_at) VALUES (?, ?) "
            "ON CONFLICT (flow_id) DO UPDATE SET asked_at = excluded.asked_at",
            (flow_id, now),
        )
        asks._run("UPDATE flows SET due_at = 0 WHERE id = ?", (flow_id,))


async def check_now(db: str, store: Store, flow_ids: Sequence[str], now: float) -> int:
    """Ask for a status read now of each flow of ``flow_ids`` in the store at ``db``: the
    service reads them at its next pass; with workers (a ``postgresql://`` store with the job
    queue), each flow's visit is queued for now. Ids the store does not hold are refused
    (:class:`InvalidInput`, naming them), and nothing is asked. How many flows were asked for."""
    ids = list(dict.fromkeys(flow_ids))
    if not ids:
        raise InvalidInput("name the flows to check: firmaio check ID...")
    rows = {row.flow_id: row for row in await store.rows(ids)}
    unknown = [flow_id for flow_id in ids if flow_id not in rows]
    if unknown:
        raise InvalidInput(
            f"no such flow in the store: {', '.join(unknown)}; nothing was asked for any"
        )
    asks = Asks(db)
    try:
        await asks.ask(ids, now)
    finally:
        await asks.close()
    if asks.postgres:
        try:
            from .queue.jobs import visit_now
        except ImportError:  # no [queue] extra: no workers on this store
            return len(ids)
        await visit_now(db, [(flow_id, rows[flow_id].tenant) for flow_id in ids])
    return len(ids)
