"""Flow stores: SQLite (stdlib ``sqlite3``, WAL), the embedded default, and PostgreSQL (psycopg 3).

Both implement :class:`fsm.ports.FlowStore` with the same SQL: a ``flows`` row per flow (state,
record count, open intent, head of the hash chain, lease) and an ``audit_records`` row per record
(canonical JSON, previous hash, own hash). Every write is one transaction and a compare-and-set
on the record count. Beside the port, the stores let workers **claim** flows with a lease, so one
worker drives a flow at a time; a worker that dies releases its flows when its lease expires
(PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers).

``open_store(db)`` picks the store: a ``postgresql://`` URL, or a file path for SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from firmaio.fsm.audit import (
    AuditRecord,
    ChainLink,
    canonical,
    chain_hash,
    from_event_dict,
    genesis,
)
from firmaio.fsm.errors import InvalidInput, StaleFlow
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.states import State

CLAIMABLE = (str(State.READY), str(State.WAIT_FOR_SIGNATURE), str(State.NOTIFY_REFUSED))
"""States a worker drives; a flow with an open intent is claimable whatever its state."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS flows (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0,
    intent TEXT,
    intent_at DOUBLE PRECISION,
    head_hash TEXT NOT NULL,
    activation_deadline DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_records (
    flow_id TEXT NOT NULL REFERENCES flows(id),
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (flow_id, seq)
);
CREATE INDEX IF NOT EXISTS flows_by_state ON flows (state, lease_until);
"""


@dataclass(frozen=True, slots=True)
class FlowRow:
    """A flow's own row, as ``audit verify`` and the run summary read it."""

    flow_id: str
    state: str
    seq: int
    intent: str | None
    head_hash: str


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


class SqlStore:
    """The store's logic over a DB-API connection; subclasses supply the dialect."""

    placeholder = "?"
    lock_row = ""
    skip_locked = ""

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _scope(self, ids: Sequence[str] | None) -> tuple[str, list[Any]]:  # pragma: no cover
        raise NotImplementedError

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:  # pragma: no cover - overridden
        """A cursor for one statement, which is its own transaction (autocommit)."""
        raise NotImplementedError
        yield

    # -- the port -----------------------------------------------------------------------------

    _CREATE = (
        "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at,"
        " updated_at) VALUES (?, ?, 0, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
    )

    def create(self, flow_id: str, *, activation_deadline: float, now: float) -> bool:
        with self._statement() as cur:
            cur.execute(
                self._sql(self._CREATE),
                (flow_id, str(State.READY), genesis(flow_id), activation_deadline, now, now),
            )
            return bool(cur.rowcount == 1)

    def create_many(
        self, flow_ids: Sequence[str], *, activation_deadline: float, now: float
    ) -> None:
        """Register many flows in READY in one transaction; existing flows are left as they are."""
        ready = str(State.READY)
        with self._transaction() as cur:
            cur.executemany(
                self._sql(self._CREATE),
                [
                    (flow_id, ready, genesis(flow_id), activation_deadline, now, now)
                    for flow_id in flow_ids
                ],
            )

    def load(self, flow_id: str) -> StoredFlow | None:
        with self._statement() as cur:  # one statement: the row and its trail, one snapshot
            cur.execute(
                self._sql(
                    "SELECT f.activation_deadline, f.intent, f.intent_at, r.payload "
                    "FROM flows f LEFT JOIN audit_records r ON r.flow_id = f.id "
                    "WHERE f.id = ? ORDER BY r.seq"
                ),
                (flow_id,),
            )
            rows = cur.fetchall()
        if not rows:
            return None
        first = rows[0]
        records = tuple(from_event_dict(json.loads(r[3])) for r in rows if r[3] is not None)
        intent_at = None if first[2] is None else float(first[2])
        return StoredFlow(flow_id, float(first[0]), first[1], records, intent_at)

    def open_intent(self, flow_id: str, intent: str, *, expected_seq: int, now: float) -> None:
        with self._statement() as cur:
            cur.execute(
                self._sql(
                    "UPDATE flows SET intent = ?, intent_at = ?, updated_at = ? "
                    "WHERE id = ? AND seq = ? AND intent IS NULL"
                ),
                (intent, now, now, flow_id, expected_seq),
            )
            if cur.rowcount != 1:
                raise StaleFlow(flow_id, expected_seq)

    def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float
    ) -> None:
        flow_id = record.flow_id
        if record.seq != expected_seq + 1:
            raise InvalidInput(f"record {record.seq} cannot follow record {expected_seq}")
        with self._transaction() as cur:
            cur.execute(
                self._sql(f"SELECT seq, head_hash FROM flows WHERE id = ?{self.lock_row}"),
                (flow_id,),
            )
            row = cur.fetchone()
            if row is None or int(row[0]) != expected_seq:
                raise StaleFlow(flow_id, expected_seq)
            payload = canonical(record)
            digest = chain_hash(row[1], payload)
            cur.execute(
                self._sql(
                    "INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (flow_id, record.seq, payload, row[1], digest),
            )
            cur.execute(
                self._sql(
                    "UPDATE flows SET state = ?, seq = ?, head_hash = ?, updated_at = ?, "
                    "intent = CASE WHEN ? THEN NULL ELSE intent END, "
                    "intent_at = CASE WHEN ? THEN NULL ELSE intent_at END "
                    "WHERE id = ? AND seq = ?"
                ),
                (
                    *(str(record.target), record.seq, digest, now),
                    *(close_intent, close_intent, flow_id, expected_seq),
                ),
            )
            if cur.rowcount != 1:
                raise StaleFlow(flow_id, expected_seq)

    # -- workers ------------------------------------------------------------------------------

    def _needs_driving(self, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The WHERE condition of flows that need driving (of ``ids``), and its parameters."""
        states = ", ".join("?" for _ in CLAIMABLE)
        scope, scope_params = self._scope(ids)
        return f"(state IN ({states}) OR intent IS NOT NULL){scope}", [*CLAIMABLE, *scope_params]

    def claim(
        self, worker: str, *, limit: int, lease: float, now: float, ids: Sequence[str] | None = None
    ) -> list[str]:
        """Lease up to ``limit`` flows that need driving and nobody else holds."""
        where, params = self._needs_driving(ids)
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"SELECT id FROM flows WHERE {where} "
                    "AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?) "
                    f"ORDER BY updated_at, id LIMIT ?{self.skip_locked}"
                ),
                (*params, now, worker, limit),
            )
            chosen = [r[0] for r in cur.fetchall()]
            cur.executemany(
                self._sql("UPDATE flows SET lease_owner = ?, lease_until = ? WHERE id = ?"),
                [(worker, now + lease, flow_id) for flow_id in chosen],
            )
        return chosen

    def renew(self, worker: str, ids: Sequence[str], *, lease: float, now: float) -> None:
        """Extend the leases ``worker`` holds on ``ids``."""
        with self._transaction() as cur:
            cur.executemany(
                self._sql("UPDATE flows SET lease_until = ? WHERE id = ? AND lease_owner = ?"),
                [(now + lease, flow_id, worker) for flow_id in ids],
            )

    def release(self, worker: str, ids: Sequence[str]) -> None:
        """Give up the leases ``worker`` holds on ``ids``."""
        with self._transaction() as cur:
            cur.executemany(
                self._sql(
                    "UPDATE flows SET lease_owner = NULL, lease_until = NULL "
                    "WHERE id = ? AND lease_owner = ?"
                ),
                [(flow_id, worker) for flow_id in ids],
            )

    def pending(self, ids: Sequence[str] | None = None) -> int:
        """How many flows (of ``ids``) still need driving, leased or not."""
        where, params = self._needs_driving(ids)
        with self._transaction() as cur:
            cur.execute(self._sql(f"SELECT COUNT(*) FROM flows WHERE {where}"), params)
            return int(cur.fetchone()[0])

    # -- reading the trail --------------------------------------------------------------------

    def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        """The flows' own rows, by id."""
        scope, scope_params = self._scope(ids)
        where = f" WHERE 1 = 1{scope}"
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"SELECT id, state, seq, intent, head_hash FROM flows{where} ORDER BY id"
                ),
                scope_params,
            )
            return [FlowRow(r[0], r[1], int(r[2]), r[3], r[4]) for r in cur.fetchall()]

    def links(self, flow_id: str) -> list[ChainLink]:
        """A flow's stored records with their hashes, as stored."""
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "SELECT seq, payload, prev_hash, hash FROM audit_records "
                    "WHERE flow_id = ? ORDER BY seq"
                ),
                (flow_id,),
            )
            return [ChainLink(int(r[0]), r[1], r[2], r[3]) for r in cur.fetchall()]

    def orphan_flow_ids(self) -> list[str]:
        """Ids of records whose flow row is gone."""
        with self._transaction() as cur:
            cur.execute(
                "SELECT DISTINCT flow_id FROM audit_records "
                "WHERE flow_id NOT IN (SELECT id FROM flows) ORDER BY flow_id"
            )
            return [r[0] for r in cur.fetchall()]


class SqliteStore(SqlStore):
    """Flows in one SQLite file (WAL): the embedded default, for one or a few local processes.

    ``synchronous=NORMAL`` survives a killed process, not a power cut; pass ``durable=True`` for
    ``FULL``.
    """

    def __init__(self, path: str, *, durable: bool = False) -> None:
        self.path = path
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=30.0, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

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


class PostgresStore(SqlStore):
    """Flows in PostgreSQL, for several workers on several machines (psycopg 3)."""

    placeholder = "%s"
    lock_row = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidInput(
                "a postgresql:// store needs psycopg: pip install 'firmaio-fsm[postgres]'"
            ) from exc
        self.dsn = dsn
        self._conn = psycopg.connect(dsn, autocommit=True)
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(727271)")  # one schema creator
            for statement in filter(str.strip, SCHEMA.split(";")):
                self._conn.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:
        with self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:
        with self._conn.cursor() as cur:
            yield cur

    def _scope(self, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
        if ids is None:
            return "", []
        return " AND id = ANY(?)", [list(ids)]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run raw SQL (for tests that tamper with the trail)."""
        self._conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


Store = SqliteStore | PostgresStore


def open_store(db: str) -> Store:
    """``postgresql://...`` (or ``postgres://``) opens PostgreSQL; anything else is SQLite."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    return SqliteStore(db)
