"""Flows in PostgreSQL (psycopg 3), for several workers on several machines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from firmaio.fsm.errors import InvalidInput, StoreError
from firmaio.fsm.machine import State, TableVersions
from firmaio.fsm.trail import AuditRecord, canonical, chain_hash

from .due import Check
from .failures import postgres_error, postgres_label
from .one_write import APPEND, Heads
from .outbox import FEED_LOCK, PG_INSERT, feed_key
from .schema import MIGRATIONS, Migration
from .sql import SqlStore, _Cursor

CHECKED_MANY = (
    "UPDATE flows AS f SET checked_at = c.at, due_at = c.due"
    " FROM unnest(%s::text[], %s::int[], %s::float8[], %s::float8[]) AS c (id, seq, at, due)"
    " WHERE f.id = c.id AND f.seq = c.seq AND f.intent IS NULL RETURNING f.id"
)
"""Many checks that found nothing new, each a compare-and-set of its flow's row: the ids set.
Each flow is checked under its lock (:mod:`..flow_locks`), by one process at a time."""

SCHEMA_LOCK = 727271
"""The advisory lock that makes one process at a time check and migrate the schema."""


class PostgresStore(SqlStore):
    """Flows in PostgreSQL, for several workers on several machines: rows locked on append.

    ``read_only=True`` opens the session read-only and refuses a database with no flows;
    nothing is ever created or migrated. Every ``psycopg`` error leaves as
    :class:`~firmaio.fsm.errors.StoreUnusable` or :class:`~firmaio.fsm.errors.StoreUnavailable`,
    naming the host and port, never the password (:mod:`.failures`).
    """

    placeholder = "%s"
    lock_row = " FOR UPDATE"
    position_type = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    request_id_fact = "(r.payload::json -> 'facts' ->> 'request_id')"

    def __init__(
        self,
        dsn: str,
        *,
        driven: Iterable[State] | None = None,
        versions: TableVersions | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        read_only: bool = False,
        connect_timeout: int = 10,
    ) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InvalidInput(
                "a postgresql:// store needs psycopg: pip install 'firmaio-fsm[postgres]'"
            ) from exc
        self.dsn = dsn
        self.label = postgres_label(dsn)
        self.heads = Heads()
        self._set_driven(driven, versions)
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as error:
            raise postgres_error(error, dsn) from None  # its text may hold the URL
        try:
            if read_only:
                with self._statement() as cur:
                    cur.execute("SET default_transaction_read_only = on")
                self._check_schema(migrations)
            else:
                self._open_schema(migrations)
        except BaseException:
            self._conn.close()
            raise

    def _lock_schema(self, cur: _Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))

    feed_wait = 2.0
    """Seconds a read of the feed waits for the events' inserts under way (:mod:`.outbox`);
    past it, the read serves what it knew already (nothing new), and the inserts queued behind
    it go on: a transaction stuck open never holds up the others for longer."""
    _high = 0
    _feed_lock: str | None = None

    def _feed(self) -> str:
        """This store's own advisory lock of the feed (:mod:`.outbox`), as SQL arguments."""
        if self._feed_lock is None:
            self._feed_lock = f"{FEED_LOCK}, {feed_key(self.store_id())}"
        return self._feed_lock

    def _event_insert(self) -> str:
        return PG_INSERT.format(lock=self._feed())

    def _watermark(self) -> int | None:
        """The highest position committed with every lower one (:mod:`.outbox`): read once
        the events' inserts under way have committed (the lock waits for them, then is let go)."""
        from psycopg import errors

        try:
            with self._transaction() as cur:
                cur.execute(f"SET LOCAL lock_timeout = {int(self.feed_wait * 1000)}")
                cur.execute(f"SELECT pg_advisory_xact_lock({self._feed()})")
                cur.execute("SELECT COALESCE(MAX(position), 0) FROM events")
                self._high = int(cur.fetchone()[0])
        except StoreError as error:
            if not isinstance(error.__cause__, errors.LockNotAvailable):
                raise
        return self._high

    def _append_at_once(
        self, record: AuditRecord, head: tuple[Any, ...], close_intent: bool, now: float,
        due_at: float | None,
    ) -> bool:  # fmt: skip
        seq, prev, tenant, dossier_id, request_id, batch_id = head
        payload = canonical(record)
        digest = chain_hash(prev, payload)
        lock = self._feed()
        with self._statement() as cur:
            event, learnt, dossier = self._event_values(cur, record, head[2:])
            cur.execute(
                APPEND.format(lock=lock),
                (
                    *(str(record.target), record.seq, digest, now, learnt, dossier, due_at),
                    *(close_intent, close_intent, record.flow_id, seq, prev),
                    *(tenant, dossier_id, request_id, batch_id),
                    *(record.seq, payload, prev, digest),
                    *event,
                ),
            )
            written = int(cur.fetchone()[0]) == 1
        if written:
            self._keep_written(record, digest, head[2:], learnt, dossier)
        return written

    def checked(self, flow_id: str, *, expected_seq: int, at: float, due_at: float | None) -> bool:
        self._let_go(flow_id)  # a quiet check ends the visit: no append of it wants the head
        return super().checked(flow_id, expected_seq=expected_seq, at=at, due_at=due_at)

    def refile(self, flow_id: str, *, expected_seq: int, due_at: float | None) -> bool:
        self._let_go(flow_id)  # nothing due: the visit ends, as above
        return super().refile(flow_id, expected_seq=expected_seq, due_at=due_at)

    def checked_many(self, checks: Sequence[Check]) -> list[bool]:
        """Every check of ``checks`` in one statement (:data:`CHECKED_MANY`): each flow's row
        compared and set as :meth:`checked` does, alone (one flow twice: one at a time). The
        flows' heads are let go (:mod:`.one_write`): a check that finds nothing new ends a
        visit, and heads kept for flows no longer written filled the map to its bound."""
        if len(checks) < 2 or len({check[0] for check in checks}) < len(checks):
            return super().checked_many(checks)
        self._let_go(*(check[0] for check in checks))
        with self._statement() as cur:
            cur.execute(CHECKED_MANY, [list(column) for column in zip(*checks, strict=True)])
            written = {row[0] for row in cur.fetchall()}
        return [check[0] in written for check in checks]

    def _has_table(self, cur: _Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])

    @contextmanager
    def _transaction(self) -> Iterator[_Cursor]:
        with self._translated(), self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def _statement(self) -> Iterator[_Cursor]:
        with self._translated(), self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def _translated(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.Error as error:
            raise postgres_error(error, self.dsn) from error

    def _scope(self, ids: Sequence[str] | None, column: str = "id") -> tuple[str, list[Any]]:
        if ids is None:
            return "", []
        return f" AND {column} = ANY(?)", [list(ids)]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run raw SQL (for tests that tamper with the trail)."""
        self._conn.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def usable(self) -> bool:
        """Whether the connection is still open and not broken (a cut one cannot be used)."""
        return not (self._conn.closed or self._conn.broken)
