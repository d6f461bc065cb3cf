"""Flow stores: SQLite (the embedded default) and PostgreSQL, one SQL core, async ports.

``open_store(db)`` opens one blocking connection's store (for tools, tests and migrations);
``AsyncStore.open(db)`` the store a driver, a batch run or the ``firmaio`` command uses, which runs
every call off the event loop. ``db`` is a ``postgresql://`` URL, or a file path for SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from firmaio.fsm.states import State

from .aio import AsyncStore
from .postgres import PostgresStore
from .schema import MIGRATIONS, Migration
from .sql import SqlStore
from .sqlite import SqliteStore

Store = SqliteStore | PostgresStore

__all__ = [
    "MIGRATIONS",
    "AsyncStore",
    "Migration",
    "PostgresStore",
    "SqlStore",
    "SqliteStore",
    "Store",
    "open_async_store",
    "open_store",
]


def open_store(
    db: str,
    *,
    driven: Iterable[State] | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Store:
    """``postgresql://...`` (or ``postgres://``) opens PostgreSQL; anything else is SQLite."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db, driven=driven, migrations=migrations)
    return SqliteStore(db, driven=driven, migrations=migrations)


def open_async_store(
    db: str, *, driven: Iterable[State] | None = None, threads: int | None = None
) -> AsyncStore:
    """The async store of ``db``: one thread for SQLite (one file takes one writer at a time; a
    second thread only waits on its lock, and halved the throughput benchmark), four for
    PostgreSQL, unless ``threads`` says otherwise."""
    postgres = db.startswith(("postgresql://", "postgres://"))
    driven = None if driven is None else frozenset(driven)
    count = threads if threads is not None else (4 if postgres else 1)
    return AsyncStore(lambda: open_store(db, driven=driven), threads=count)
