"""The store's logic over a DB-API connection, the same SQL for SQLite and PostgreSQL.

A ``flows`` row per flow (state, record count, open intent, head of the hash chain, tenant, due
time) and an ``audit_records`` row per record (canonical JSON, previous hash, own hash), and its
event in ``events`` (the outbox, :mod:`.outbox`). Every write is one transaction and a
compare-and-set on the record count, so of two processes driving one flow only one wins each
step; the record's event and the flow's due time (:mod:`firmaio.fsm.driving.due`, read by
:mod:`.due`) are written in the same transaction. Which process drives which flow is decided
outside the store: one batch run, or a task queue (:mod:`firmaio.adapters.queue`).

Each flow records the version of the table it started on, and each record the version that wrote
it; what is read is named as the running table names it (``versions``,
:mod:`firmaio.fsm.trail.reading`), and a flow it cannot read is refused, untouched. These calls
block: :class:`~firmaio.adapters.store.aio.AsyncStore` runs them off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from firmaio.fsm.driving.due import first_due
from firmaio.fsm.errors import InvalidInput, StaleFlow, StoreUnusable
from firmaio.fsm.machine import DEFAULT_STEPS, VERSIONS, State, TableVersions
from firmaio.fsm.ports import FlowRow
from firmaio.fsm.trail import AuditRecord, ChainLink, canonical, chain_hash, genesis

from .accounts import Accounts
from .batches import Batches
from .due import DueRows
from .failures import not_ours
from .listing import Listing
from .one_write import Loads
from .outbox import Outbox
from .paging import Paging
from .reading import named
from .schema import MIGRATIONS, VERSION_TABLE, Migration, pending, store_naming, stored_version


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


ORPHANS = "SELECT DISTINCT flow_id FROM audit_records WHERE NOT EXISTS (SELECT 1 FROM flows f \
WHERE f.id = audit_records.flow_id) ORDER BY flow_id"
"""Records whose flow is gone, by anti-join (PostgreSQL's ``NOT IN`` rescans flows per record)."""


class SqlStore(Outbox, DueRows, Paging, Batches, Listing, Accounts, Loads):
    """The store's logic over a DB-API connection; subclasses supply the dialect."""

    placeholder = "?"
    lock_row = ""
    driven: tuple[str, ...] = tuple(sorted(map(str, DEFAULT_STEPS.driven)))
    """States whose flows still need driving (and their older names: a flow's row keeps the
    name it was written with); pass ``driven=`` for a table of your own."""
    versions: TableVersions = VERSIONS
    """The running table's version and migrations (pass ``versions=`` for a table of your own)."""

    def _set_driven(
        self, driven: Iterable[State] | None, versions: TableVersions | None = None
    ) -> None:
        if versions is not None:
            self.versions = versions
        if driven is not None or versions is not None:
            states = DEFAULT_STEPS.driven if driven is None else driven
            self.driven = tuple(sorted(self.versions.names_of(states)))

    def close(self) -> None:  # pragma: no cover - overridden
        """Close the connection."""
        raise NotImplementedError

    def usable(self) -> bool:
        """Whether the connection can still be used (a cut one cannot: open a new store)."""
        return True

    # -- the schema ---------------------------------------------------------------------------

    def _has_table(self, cur: _Cursor, name: str) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _lock_schema(self, cur: _Cursor) -> None:
        """Serialise schema changes between processes (a no-op where the transaction does)."""

    label = "the store"
    """How error messages name this store (never with a password)."""

    def _foreign_tables(self, cur: _Cursor) -> list[str]:
        """Tables that are not ours, where their presence means the database is another's
        (none by default: a PostgreSQL database is often shared)."""
        del cur
        return []

    def _found_version(self, cur: _Cursor) -> tuple[int, int | None]:
        """The database's version, and the one it records (``None`` before versions were)."""
        has = {name: self._has_table(cur, name) for name in ("flows", "firmaio_schema")}
        recorded = None
        if has["firmaio_schema"]:
            cur.execute("SELECT MAX(version) FROM firmaio_schema")
            value = cur.fetchone()[0]
            recorded = None if value is None else int(value)
        found = stored_version(has, recorded)
        if found == 0 and self._foreign_tables(cur):
            raise StoreUnusable(
                f"{self.label} holds tables of something else and no flows: it is not a "
                "firmaio-fsm store; nothing was changed"
            )
        return found, recorded

    def _check_schema(self, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        """For a read: the database must be a firmaio-fsm store this code can read as it is."""
        with self._statement() as cur:
            found, _recorded = self._found_version(cur)
        if found == 0:
            raise not_ours(self.label)
        if pending(found, migrations):
            raise StoreUnusable(
                f"{self.label} is at schema version {found}, older than this firmaio-fsm's: a "
                "command that drives flows migrates it; a read leaves it as it is"
            )

    def _open_schema(self, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        """Read the database's version; refuse a newer one, else migrate it forward, in one
        transaction (nothing is written when it is refused)."""
        with self._transaction() as cur:
            self._lock_schema(cur)
            found, recorded = self._found_version(cur)
            todo = pending(found, migrations)
            if not todo and recorded == found:
                return
            for migration in todo:
                for statement in migration.statements:
                    cur.execute(self._ddl(statement))
            cur.execute(VERSION_TABLE)
            cur.execute("DELETE FROM firmaio_schema")
            version = todo[-1].version if todo else found
            cur.execute(self._sql("INSERT INTO firmaio_schema (version) VALUES (?)"), (version,))
            for statement, values in store_naming(found, version):  # its id, once
                cur.execute(self._sql(statement), values)

    def store_id(self) -> str:
        """The store's own id (made with its schema; a copy of the database keeps it): what a
        checkpoint names."""
        with self._statement() as cur:
            cur.execute("SELECT MIN(id) FROM firmaio_store")
            found = cur.fetchone()[0]
        if found is None:
            raise StoreUnusable(f"{self.label} has no store id: it was not made by firmaio-fsm")
        return str(found)

    def schema_version(self) -> int:
        """The version this database is at."""
        with self._statement() as cur:
            cur.execute("SELECT MAX(version) FROM firmaio_schema")
            return int(cur.fetchone()[0])

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def _scope(  # pragma: no cover - a dialect's
        self, ids: Sequence[str] | None, column: str = "id"
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:  # pragma: no cover - overridden
        """A cursor for one statement, which is its own transaction (autocommit)."""
        raise NotImplementedError
        yield

    # -- the port -----------------------------------------------------------------------------

    _CREATE = (
        "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at,"
        " updated_at, table_version, due_at, tenant, dossier_id, request_id)"
        " VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
    )

    def _new(
        self, flow_id: str, deadline: float, now: float, due: float | None, *of: str | None,
        initial: State = State.READY,
    ) -> tuple[Any, ...]:  # fmt: skip
        """A new flow's row in ``initial`` of this table's version (``of``: tenant, dossier)."""
        version, request = self.versions.version, flow_id if initial is State.READY else None
        return (flow_id, str(initial), genesis(flow_id), deadline, now, now, version, due, *of,
                request)  # fmt: skip

    def create(
        self,
        flow_id: str,
        *,
        activation_deadline: float,
        now: float,
        due_at: float | None,
        tenant: str | None = None,
        initial: State = State.READY,
    ) -> bool:
        with self._statement() as cur:
            new = (flow_id, activation_deadline, now, due_at, tenant, None)
            cur.execute(self._sql(self._CREATE), self._new(*new, initial=initial))
            return bool(cur.rowcount == 1)

    def create_many(
        self,
        flow_ids: Sequence[str],
        *,
        activation_deadline: float,
        now: float,
        tenant: str | None = None,
        dossier_id: str | None = None,
    ) -> None:
        """Register many flows in READY in one transaction; existing flows are left as they are."""
        register = self._CREATE.replace(
            "DO NOTHING",  # a flow stored without its dossier learns it; nothing else changes
            "DO UPDATE SET dossier_id = excluded.dossier_id WHERE flows.dossier_id IS NULL",
        )
        due = first_due(State.READY, now)
        with self._transaction() as cur:
            cur.executemany(
                self._sql(register),
                [self._new(i, activation_deadline, now, due, tenant, dossier_id) for i in flow_ids],
            )

    def open_intent(
        self, flow_id: str, intent: str, *, expected_seq: int, now: float, due_at: float | None
    ) -> None:
        with self._statement() as cur:
            cur.execute(
                self._sql(
                    "UPDATE flows SET intent = ?, intent_at = ?, updated_at = ?, due_at = ? "
                    "WHERE id = ? AND seq = ? AND intent IS NULL"
                ),
                (intent, now, now, due_at, flow_id, expected_seq),
            )
            if cur.rowcount != 1:
                raise StaleFlow(flow_id, expected_seq)

    def append(
        self, record: AuditRecord, *, expected_seq: int, close_intent: bool, now: float,
        due_at: float | None,
    ) -> None:  # fmt: skip
        flow_id = record.flow_id
        if record.seq != expected_seq + 1:
            raise InvalidInput(f"record {record.seq} cannot follow record {expected_seq}")
        if self._at_once(record, expected_seq, close_intent, now, due_at):  # :mod:`.one_write`
            return
        with self._transaction() as cur:
            cur.execute(self._sql(f"{self.FLOW_HEAD} WHERE id = ?{self.lock_row}"), (flow_id,))
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
            learnt, dossier = self._emit(cur, record, row[2:6])  # the event, in its transaction
            cur.execute(
                self._sql(
                    "UPDATE flows SET state = ?, seq = ?, head_hash = ?, updated_at = ?, "
                    "request_id = COALESCE(request_id, ?), dossier_id = COALESCE(?, dossier_id), "
                    "due_at = ?, "
                    "intent = CASE WHEN ? THEN NULL ELSE intent END, "
                    "intent_at = CASE WHEN ? THEN NULL ELSE intent_at END "
                    "WHERE id = ? AND seq = ?"
                ),
                (
                    *(str(record.target), record.seq, digest, now, learnt, dossier, due_at),
                    *(close_intent, close_intent, flow_id, expected_seq),
                ),
            )
            if cur.rowcount != 1:
                raise StaleFlow(flow_id, expected_seq)
            self._keep_written(record, digest, row[2:6], learnt, dossier)

    # -- batches ------------------------------------------------------------------------------

    def _needs_driving(self, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
        """The WHERE condition of flows that need driving (of ``ids``), and its parameters."""
        states = ", ".join("?" for _ in self.driven)
        scope, scope_params = self._scope(ids)
        where = f"(state IN ({states}) OR intent IS NOT NULL){scope}"
        return where, [*self.driven, *scope_params]

    def pending(self, ids: Sequence[str] | None = None) -> int:
        """How many flows (of ``ids``) still need driving."""
        where, params = self._needs_driving(ids)
        with self._transaction() as cur:
            cur.execute(self._sql(f"SELECT COUNT(*) FROM flows WHERE {where}"), params)
            return int(cur.fetchone()[0])

    # -- reading the trail --------------------------------------------------------------------

    def counts_by_state(self) -> dict[str, int]:
        """How many flows are in each state (states with none are left out)."""
        with self._statement() as cur:
            cur.execute("SELECT state, table_version, COUNT(*) FROM flows GROUP BY 1, 2")
            counts: dict[str, int] = {}
            for state, started, count in cur.fetchall():
                name = named(self.versions, str(state), started)
                counts[name] = counts.get(name, 0) + int(count)
            return counts

    def rows(self, ids: Sequence[str] | None = None) -> list[FlowRow]:
        """The flows' own rows, by id."""
        scope, scope_params = self._scope(ids)
        where = f" WHERE 1 = 1{scope}"
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "SELECT id, state, seq, intent, head_hash, tenant, dossier_id, table_version "
                    f"FROM flows{where} ORDER BY id"
                ),
                scope_params,
            )
            found = cur.fetchall()
        return [FlowRow(r[0], named(self.versions, r[1], r[7]), int(r[2]), *r[3:7]) for r in found]

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
            cur.execute(ORPHANS)
            return [r[0] for r in cur.fetchall()]
