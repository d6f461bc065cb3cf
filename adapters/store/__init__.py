"""Flow stores: SQLite (the embedded default) and PostgreSQL, one SQL core, async ports.

``open_store(db)`` opens one blocking connection's store (for tools, tests and migrations);
``AsyncStore.open(db)`` the store a driver, a batch run or the ``firmaio`` command uses, which runs
every call off the event loop. ``db`` is a ``postgresql://`` URL, or a file path for SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from firmaio.fsm.machine import State, TableVersions

from .aio import AsyncStore
from .failures import store_name
from .pg_aio import PostgresAsyncStore
from .postgres import PostgresStore
from .schema import MIGRATIONS, Migration
from .sql import SqlStore
from .sqlite import SqliteStore
from .sqlite_aio import SqliteAsyncStore

Store = SqliteStore | PostgresStore

__all__ = [
    "MIGRATIONS",
    "AsyncStore",
    "Migration",
    "PostgresAsyncStore",
    "PostgresStore",
    "SqlStore",
    "SqliteAsyncStore",
    "SqliteStore",
    "Store",
    "open_async_store",
    "open_store",
    "store_name",
]


def open_store(
    db: str,
    *,
    driven: Iterable[State] | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
    read_only: bool = False,
    versions: TableVersions | None = None,
) -> Store:
    """``postgresql://...`` (or ``postgres://``) opens PostgreSQL; anything else is SQLite.

    ``read_only=True`` opens an existing firmaio-fsm store for reading only: nothing is created,
    migrated or written, and a missing store is an error, not a new empty one. ``versions``: the
    running table's version and migrations, for a table of your own (the built-in one's).
    """
    kind = PostgresStore if db.startswith(("postgresql://", "postgres://")) else SqliteStore
    return kind(db, driven=driven, versions=versions, migrations=migrations, read_only=read_only)


def open_async_store(
    db: str,
    *,
    driven: Iterable[State] | None = None,
    threads: int | None = None,
    read_only: bool = False,
    versions: TableVersions | None = None,
) -> AsyncStore:
    """The async store of ``db``. PostgreSQL: every call in one of ``threads`` (4) worker threads.
    SQLite: a call that cannot wait runs at once, one that would in the worker thread (one: the
    file takes one writer at a time; a second thread only waited on its lock and halved the
    throughput benchmark). See :mod:`.aio` and :mod:`.sqlite_aio`; ``read_only`` and
    ``versions`` as for :func:`open_store`."""
    driven = None if driven is None else frozenset(driven)
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresAsyncStore(
            lambda: open_store(db, driven=driven, read_only=read_only, versions=versions),
            threads=threads or 4,
        )
    return SqliteAsyncStore(
        db, driven=driven, threads=threads or 1, read_only=read_only, versions=versions
    )
