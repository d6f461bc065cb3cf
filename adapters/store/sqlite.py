"""Flows in one SQLite file (stdlib ``sqlite3``, WAL): the embedded default."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from firmaio.fsm.errors import StoreUnavailable
from firmaio.fsm.machine import State, TableVersions

from .failures import cannot_open, missing, sqlite_error, sqlite_label
from .schema import MIGRATIONS, Migration
from .sql import SqlStore, _Cursor

CHECKPOINT_WAIT = 0.2
"""Seconds a checkpoint waits for a writer or a reader to finish before it copies what it can."""
LOG_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes of write-ahead log kept on disk once a checkpoint has restarted it (SQLite truncates
the file to this)."""


class SqliteStore(SqlStore):
    """Flows in one SQLite file (WAL), for one or a few local processes.

    ``synchronous=NORMAL`` survives a killed process, not a power cut; pass ``durable=True`` for
    ``FULL``. The schema is checked (and migrated) before anything else is written: a database
    newer than this code is refused and left as it was. ``never_wait=True`` makes a connection that
    never waits: on a lock held elsewhere it raises at once (:func:`would_wait` tells), and it
    leaves checkpoints to other connections.

    ``read_only=True`` opens an existing store for reading and nothing else: a path with no file,
    or a database that is not a firmaio-fsm store, is refused, and nothing is ever created or
    migrated. Otherwise the file is created if missing, in a folder that must exist. Every
    ``sqlite3`` error leaves as :class:`~firmaio.fsm.errors.StoreUnusable` or
    :class:`~firmaio.fsm.errors.StoreUnavailable` (:mod:`.failures`).
    """

    def __init__(
        self,
        path: str,
        *,
        durable: bool = False,
        driven: Iterable[State] | None = None,
        versions: TableVersions | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        never_wait: bool = False,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.label = sqlite_label(path)
        self.durable = durable
        self._set_driven(driven, versions)
        self._timeout = 0.0 if never_wait else 30.0
        in_memory = path == ":memory:"
        if read_only and not in_memory and not Path(path).is_file():
            raise missing(path) if not Path(path).exists() else cannot_open(path)
        if not read_only and not in_memory and not Path(path).parent.is_dir():
            raise cannot_open(path)
        target = _read_only_uri(path) if read_only else path
        try:
            self._conn = sqlite3.connect(
                target,
                isolation_level=None,
                timeout=self._timeout,
                check_same_thread=False,
                uri=read_only,
            )
        except sqlite3.Error as error:
            raise sqlite_error(error, path) from error
        try:
            with _translated(path):
                self._conn.execute("PRAGMA foreign_keys=ON")
                if read_only:
                    self._check_schema(migrations)
                    return
                self._open_schema(migrations)
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT}")
                self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                if never_wait:  # checkpoints write and sync the database file: another's job
                    self._conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            self._conn.close()
            raise

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file and have the next write start the
        log again from its beginning, waiting at most :data:`CHECKPOINT_WAIT` for a writer or a
        reader to finish (else what readers allow is copied, and the next checkpoint tries
        again). A passive checkpoint never restarts the log while writes keep coming: 20,000
        flows created by one batch run left a log of 1 GB beside a database of a few MB."""
        self._conn.execute(f"PRAGMA busy_timeout={int(CHECKPOINT_WAIT * 1000)}")
        try:
            self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
        finally:
            self._conn.execute(f"PRAGMA busy_timeout={int(self._timeout * 1000)}")

    def _has_table(self, cur: _Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    def _foreign_tables(self, cur: _Cursor) -> list[str]:
        """A SQLite file is one application's: tables of another mean it is not ours."""
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [name for (name,) in cur.fetchall() if not name.startswith("sqlite_")]

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:
        with _translated(self.path):
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT (a full disk) leaves it open
                    with suppress(sqlite3.Error):
                        cur.execute("ROLLBACK")
                raise

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:
        with _translated(self.path):
            yield self._conn.cursor()

    def _scope(self, ids: Sequence[str] | None, column: str = "id") -> tuple[str, list[Any]]:
        if ids is None:
            return "", []
        return f" AND {column} IN (SELECT value FROM json_each(?))", [json.dumps(list(ids))]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run raw SQL (for tests that tamper with the trail)."""
        self._conn.execute(sql, params)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _read_only_uri(path: str) -> str:
    """The URI that reads ``path`` and never writes it. SQLite may still create the ``-wal`` and
    ``-shm`` files a WAL database is read through (its own working files, never the database)."""
    return f"{Path(path).absolute().as_uri()}?mode=ro"


@contextmanager
def _translated(path: str) -> Iterator[None]:
    """``sqlite3`` errors raised inside leave as the project's store errors (:mod:`.failures`)."""
    try:
        yield
    except sqlite3.Error as error:
        raise sqlite_error(error, path) from error


_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def would_wait(error: BaseException) -> bool:
    """Whether ``error`` is SQLite saying it would have to wait for a lock held elsewhere (as
    raised by ``sqlite3``, or translated at the store's boundary with it as the cause)."""
    cause = error.__cause__ if isinstance(error, StoreUnavailable) else error
    code = getattr(cause, "sqlite_errorcode", None)
    return isinstance(cause, sqlite3.OperationalError) and code is not None and code & 0xFF in _BUSY
