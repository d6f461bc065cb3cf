"""The translation at the store's boundary, case by case: which error, and what it says.

Some failures cannot be caused for real on a test machine run as root (permission denied) or
cheaply (a corrupt page, PostgreSQL's disk full): the driver's own exception is made here, as the
driver would raise it, and handed to the translation the stores use.
"""

from __future__ import annotations

import sqlite3

import pytest
from psycopg import errors as pg

from firmaio.adapters.store.failures import postgres_error, sqlite_error
from firmaio.fsm.errors import StoreUnavailable, StoreUnusable

DSN = "postgresql://app:hunter2@db.example:6543/flows"


def sqlite_raised(code: int, text: str) -> sqlite3.Error:
    error = sqlite3.OperationalError(text)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("code", "kind", "said"),
    [
        (sqlite3.SQLITE_FULL, StoreUnavailable, "the disk is full"),
        (sqlite3.SQLITE_IOERR, StoreUnavailable, "I/O error"),
        (sqlite3.SQLITE_BUSY, StoreUnavailable, "held its lock for too long"),
        (sqlite3.SQLITE_NOTADB, StoreUnusable, "not a SQLite database"),
        (sqlite3.SQLITE_CORRUPT, StoreUnusable, "damaged"),
        (sqlite3.SQLITE_READONLY, StoreUnusable, "read-only"),
        (sqlite3.SQLITE_PERM, StoreUnusable, "permission denied"),
    ],
)
def test_sqlite_errors(code: int, kind: type[Exception], said: str) -> None:
    translated = sqlite_error(sqlite_raised(code, "driver text"), "/data/flows.sqlite")
    assert type(translated) is kind
    assert said in str(translated)
    assert "'/data/flows.sqlite'" in str(translated)


@pytest.mark.parametrize(
    ("error", "kind", "said"),
    [
        (pg.InvalidPassword("password authentication failed"), StoreUnusable, "refused the login"),
        (
            pg.InsufficientPrivilege("permission denied for table flows"),
            StoreUnusable,
            "permission",
        ),
        (
            pg.InvalidCatalogName('database "flows" does not exist'),
            StoreUnusable,
            "no such database",
        ),
        (pg.UndefinedTable('relation "flows" does not exist'), StoreUnusable, "missing or foreign"),
        (pg.DiskFull("could not extend file"), StoreUnavailable, "cannot take more now"),
        (pg.AdminShutdown("terminating connection"), StoreUnavailable, "connection was cut"),
        (pg.OperationalError("connection refused hunter2"), StoreUnavailable, "cannot be reached"),
    ],
)
def test_postgres_errors_name_the_server_never_the_password(
    error: Exception, kind: type[Exception], said: str
) -> None:
    translated = postgres_error(error, DSN)
    assert type(translated) is kind
    assert said in str(translated)
    assert "app@db.example:6543/flows" in str(translated)
    assert "hunter2" not in str(translated)
