"""The store's boundary: every database driver error becomes one of the project's, once, here.

``sqlite3`` and ``psycopg`` errors are translated into :class:`~firmaio.fsm.errors.StoreUnusable`
(fix the store as given, then rerun) or :class:`~firmaio.fsm.errors.StoreUnavailable` (rerun when
it is back), with a message that names the store and says what to do. A PostgreSQL store is named
by its host, port, database and user, never its password; the driver's own words are kept only
with any password taken out.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from firmaio.fsm.errors import StoreError, StoreUnavailable, StoreUnusable

# SQLite's primary result codes (sqlite3 has them as constants from Python 3.11)
_SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_IOERR: "the disk gave an I/O error",
    sqlite3.SQLITE_BUSY: "another process held its lock for too long",
    sqlite3.SQLITE_LOCKED: "another connection held its lock for too long",
    sqlite3.SQLITE_NOMEM: "SQLite ran out of memory",
}
_SQLITE_UNUSABLE = {
    sqlite3.SQLITE_NOTADB: "the file is not a SQLite database",
    sqlite3.SQLITE_CORRUPT: "the database file is damaged",
    sqlite3.SQLITE_READONLY: "the database is read-only for this user",
    sqlite3.SQLITE_PERM: "permission denied",
    sqlite3.SQLITE_AUTH: "permission denied",
}


def sqlite_label(path: str) -> str:
    """How messages name a SQLite store."""
    return f"the SQLite store {path!r}"


def store_name(db: str) -> str:
    """How output names the store at ``db``: a path as given; a PostgreSQL URL as user, host,
    port and database, never its password."""
    if db.startswith(("postgresql://", "postgres://")):
        return postgres_label(db).removeprefix("the PostgreSQL store ")
    return db


def postgres_label(dsn: str) -> str:
    """How messages name a PostgreSQL store: host, port, database and user, no password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:  # a DSN psycopg cannot parse: say so, without repeating it
        return "the PostgreSQL store (its URL does not parse)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"the PostgreSQL store {user}{host}:{port}/{parts.get('dbname') or ''}"


def _password(dsn: str) -> str | None:
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(dsn).get("password")
    except Exception:
        return None
    return str(value) if value else None


def _first_line(text: str, secret: str | None) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    if secret:
        line = line.replace(secret, "***")
    return line


def sqlite_error(error: sqlite3.Error, path: str) -> StoreError:
    """The project's error for a ``sqlite3`` error on the store at ``path``."""
    label = sqlite_label(path)
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == sqlite3.SQLITE_CANTOPEN:
        return cannot_open(path)
    if code in _SQLITE_UNAVAILABLE:
        return StoreUnavailable(
            f"{label}: {_SQLITE_UNAVAILABLE[code]} ({error}); nothing was half-written: free "
            "the disk or stop the other process, then rerun to resume"
        )
    if code in _SQLITE_UNUSABLE:
        return StoreUnusable(f"{label}: {_SQLITE_UNUSABLE[code]} ({error})")
    return StoreUnusable(f"{label} failed: {error}")


def cannot_open(path: str) -> StoreUnusable:
    """Why the SQLite file at ``path`` cannot be opened, as far as the file system tells."""
    label = sqlite_label(path)
    where = Path(path)
    if not where.parent.is_dir():
        return StoreUnusable(f"{label}: its folder {str(where.parent)!r} does not exist")
    if where.is_dir():
        return StoreUnusable(f"{label} is a folder, not a file")
    if not os.access(where.parent, os.W_OK | os.X_OK) or (
        where.exists() and not os.access(where, os.R_OK | os.W_OK)
    ):
        return StoreUnusable(f"{label}: permission denied")
    return StoreUnusable(f"{label} cannot be opened")


def missing(path: str) -> StoreUnusable:
    """A read of a SQLite store that does not exist: nothing to read, and nothing is created."""
    return StoreUnusable(
        f"no store at {path!r}: nothing was read and nothing was created; check the path (--db)"
    )


def not_ours(label: str) -> StoreUnusable:
    """A database with no flows table: not a firmaio-fsm store (or an empty one)."""
    return StoreUnusable(f"{label} has no flows: it is not a firmaio-fsm store; check the path")


def postgres_error(error: Exception, dsn: str) -> StoreError:
    """The project's error for a ``psycopg`` error on the store at ``dsn``."""
    import psycopg
    from psycopg import errors as pg

    label = postgres_label(dsn)
    said = _first_line(str(error), _password(dsn))
    text = str(error).lower()  # at connect time psycopg gives the server's words, no SQLSTATE
    refused_login = (
        "password authentication failed" in text
        or "no pg_hba.conf entry" in text
        or ('role "' in text and "does not exist" in text)
    )
    if isinstance(error, pg.InvalidPassword | pg.InvalidAuthorizationSpecification) or (
        refused_login
    ):
        return StoreUnusable(f"{label} refused the login ({said}): check the user and password")
    if isinstance(error, pg.InvalidCatalogName) or (
        'database "' in text and "does not exist" in text
    ):
        return StoreUnusable(f"{label}: no such database ({said})")
    if "invalid sslmode" in text or "invalid connection option" in text or "invalid dsn" in text:
        return StoreUnusable(f"{label}: the URL is not one PostgreSQL takes ({said})")
    if isinstance(error, pg.InsufficientPrivilege):
        return StoreUnusable(f"{label}: permission denied ({said})")
    if isinstance(error, pg.UndefinedTable | pg.UndefinedColumn):
        return StoreUnusable(f"{label}: a table of the schema is missing or foreign ({said})")
    if isinstance(error, pg.DiskFull | pg.OutOfMemory | pg.TooManyConnections):
        return StoreUnavailable(
            f"{label} cannot take more now ({said}); nothing was half-written: rerun to resume"
        )
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return StoreUnavailable(
            f"{label} cannot be reached or the connection was cut ({said}); nothing was "
            "half-written: check that it is running, then rerun to resume"
        )
    return StoreUnusable(f"{label} failed: {said}")
