"""Flows in one SQLite file (stdlib ``sqlite3``, WAL): the embedded default."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from firmaio.fsm.states import State

from .schema import MIGRATIONS, Migration
from .sql import SqlStore, _Cursor


class SqliteStore(SqlStore):
    """Flows in one SQLite file (WAL), for one or a few local processes.

    ``synchronous=NORMAL`` survives a killed process, not a power cut; pass ``durable=True`` for
    ``FULL``. The schema is checked (and migrated) before anything else is written: a database
    newer than this code is refused and left as it was. ``never_wait=True`` makes a connection that
    never waits: on a lock held elsewhere it raises at once (:func:`would_wait` tells), and it
    leaves checkpoints to other connections.
    """

    def __init__(
        self,
        path: str,
        *,
        durable: bool = False,
        driven: Iterable[State] | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        never_wait: bool = False,
    ) -> None:
        self.path = path
        self.durable = durable
        self._set_driven(driven)
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=0 if never_wait else 30.0, check_same_thread=False
        )
        try:
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._open_schema(migrations)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            if never_wait:  # checkpoints write and sync the database file: another connection's
                self._conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            self._conn.close()
            raise

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file, as far as readers allow."""
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _has_table(self, cur: _Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:
        yield self._conn.cursor()

    def _scope(self, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
        if ids is None:
            return "", []
        return " AND id IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run raw SQL (for tests that tamper with the trail)."""
        self._conn.execute(sql, params)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def would_wait(error: BaseException) -> bool:
    """Whether ``error`` is SQLite saying it would have to wait for a lock held elsewhere."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code is not None and code & 0xFF in _BUSY
