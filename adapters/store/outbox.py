"""The outbox: each record's event, written in the record's transaction, and its deliveries.

:meth:`SqlStore.append <firmaio.adapters.store.sql.SqlStore.append>` inserts the event of the
record it stores with one more INSERT in the same transaction (:meth:`Outbox._emit`): a crash
leaves both or neither. The events are read in the order they were committed, by ``position``
(:meth:`Outbox.events`, the pull feed's cursor); the ones due for delivery, the oldest pending
event of each flow only, so that each flow's events arrive in order (:meth:`Outbox.due_events`);
each delivery attempt is logged with the event's new state in one transaction
(:meth:`Outbox.record_attempt`); dead events go back to pending (:meth:`Outbox.redeliver`).

On PostgreSQL a position is taken when the event is inserted but becomes visible when its
transaction commits, so a later position may be seen before an earlier one. Each insert holds a
shared advisory lock (:data:`FEED_LOCK` and the store's own key: :func:`feed_key`) until its
commit; a reader takes it exclusively for one
statement, which waits for the inserts under way, and reads the highest position then: every
position up to it is committed (or never will be), and the feed serves none above it. The
inserts never wait for each other; the lock is one function call inside the INSERT statement. A
read waits at most :attr:`~firmaio.adapters.store.PostgresStore.feed_wait` seconds (a transaction
stuck open): then it serves nothing new, and the inserts queued behind it go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Literal

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.trail import AuditRecord, Outcome
from firmaio.fsm.trail.events import StoredEvent, cloud_event, event_body, store_source

from .schema import POSITION, REQUEST_ID_FACT

FEED_LOCK = 727272
"""The advisory locks' class (PostgreSQL) an event's insert holds shared until its commit; each
store's lock in it is :func:`feed_key` (stores in the schemas of one database never wait for
each other)."""

STATUSES = ("pending", "delivered", "dead")
OUTCOMES = {"delivered": "delivered", "retry": "pending", "dead": "dead"}
"""A delivery attempt's outcome, and the status it leaves its event in."""

_COLUMNS = (
    "position, id, flow_id, seq, tenant, type, time, body, status, attempts, next_attempt_at, "
    "last_error"
)
_INSERT = (
    "INSERT INTO events (id, flow_id, seq, tenant, type, time, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PG_INSERT = (
    "WITH l AS (SELECT pg_advisory_xact_lock_shared({lock})) INSERT INTO events "
    "(id, flow_id, seq, tenant, type, time, body) SELECT ?, ?, ?, ?, ?, ?, ? FROM l"
)


def feed_key(store_id: str) -> int:
    """The store's own advisory lock in the class :data:`FEED_LOCK`, from its id."""
    return int.from_bytes(hashlib.sha256(store_id.encode()).digest()[:4], "big", signed=True)


class Outbox:
    """The outbox's queries, a part of :class:`~firmaio.adapters.store.sql.SqlStore`."""

    event_source: str | None = None
    """The ``source`` of this store's events; by default the store's id as a URN
    (``urn:firmaio:store:<id>``), read once."""
    FLOW_HEAD = "SELECT seq, head_hash, tenant, dossier_id, request_id, batch_id FROM flows"
    """What an append reads of its flow: its head, and what its event says of it (a flow
    started at READY is its request; one from a PDF learns its request's id)."""
    position_type = "INTEGER PRIMARY KEY AUTOINCREMENT"
    """The type of an increasing key (the outbox's position), in this dialect."""
    request_id_fact = "json_extract(r.payload, '$.facts.request_id')"
    """A stored record's ``request_id`` fact, in this dialect."""

    def _ddl(self, statement: str) -> str:
        """A migration's statement in this dialect."""
        statement = statement.replace(REQUEST_ID_FACT, self.request_id_fact)
        return statement.replace(POSITION, self.position_type)

    if TYPE_CHECKING:  # the SQL core's own

        def _transaction(self) -> AbstractContextManager[Any]: ...
        def _statement(self) -> AbstractContextManager[Any]: ...
        def _sql(self, sql: str) -> str: ...

    def _source(self, cur: Any) -> str:
        if self.event_source is None:
            cur.execute("SELECT MIN(id) FROM firmaio_store")
            self.event_source = store_source(str(cur.fetchone()[0]))
        return self.event_source

    def _emit(
        self, cur: Any, record: AuditRecord, of: Sequence[Any]
    ) -> tuple[str | None, str | None]:
        """Insert ``record``'s event in the transaction of ``cur``; ``of`` is the flow's
        tenant, dossier, request id and batch. The request's id and dossier the flow learns, if
        any."""
        values, learnt, dossier = self._event_values(cur, record, of)
        cur.execute(self._sql(self._event_insert()), values)
        return learnt, dossier

    def _event_values(
        self, cur: Any, record: AuditRecord, of: Sequence[Any]
    ) -> tuple[tuple[Any, ...], str | None, str | None]:
        """The values of ``record``'s event row (``of``: as :meth:`_emit`), and the request's
        id and dossier the flow learns, if any."""
        tenant, dossier_id, request_id, batch_id = of
        taught = record.facts if record.outcome is Outcome.ACCEPTED else None  # as a flow learns
        facts = dict(taught) if taught else {}
        learnt, dossier_id = facts.get("request_id"), facts.get("dossier_id") or dossier_id
        event = cloud_event(
            record,
            source=self._source(cur),
            tenant=tenant,
            request_id=request_id or learnt,
            dossier_id=dossier_id,
            batch_id=batch_id,
        )
        values = (
            *(event["id"], record.flow_id, record.seq, tenant, event["type"]),
            *(record.decided_at, event_body(event)),
        )
        return values, learnt, facts.get("dossier_id")

    def _event_insert(self) -> str:
        """The statement that inserts an event, in this dialect."""
        return _INSERT

    def _watermark(self) -> int | None:
        """The highest position every reader may be served (``None``: no limit)."""
        return None

    def events(
        self,
        *,
        after: int | None = None,
        tenant: str | EllipsisType | None = ...,
        flow_id: str | None = None,
        type: str | None = None,
        status: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Events in the order they were committed (``position``), after the cursor ``after``,
        filtered (``tenant=None``: the default tenant's; left out: every tenant's)."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"an event's status is one of {', '.join(STATUSES)}, not {status!r}")
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, got {limit}")
        where, params = ["tenant IS NULL"] if tenant is None else ["1 = 1"], list[Any]()
        if isinstance(tenant, str):
            where, params = ["tenant = ?"], [tenant]
        filters = {
            "position > ?": after,
            "position <= ?": self._watermark(),
            "flow_id = ?": flow_id,
            "type = ?": type,
            "status = ?": status,
            "time >= ?": since,
            "time < ?": until,
        }
        for condition, value in filters.items():
            if value is not None:
                where.append(condition)
                params.append(value)
        return self._select(f"{' AND '.join(where)} ORDER BY position LIMIT ?", [*params, limit])

    def _select(self, where: str, params: Sequence[Any]) -> list[StoredEvent]:
        with self._statement() as cur:
            cur.execute(self._sql(f"SELECT {_COLUMNS} FROM events WHERE {where}"), params)
            return list(_stored(cur.fetchall()))

    def due_events(
        self, *, tenants: Sequence[str | None], now: float, limit: int
    ) -> list[StoredEvent]:
        """Pending events of ``tenants`` whose next attempt is due by ``now``: of each flow,
        only its oldest pending event (a flow's events are delivered in order), oldest first."""
        named = [t for t in tenants if t is not None]
        scope = [f"tenant IN ({', '.join('?' for _ in named)})"] if named else []
        if None in tenants:
            scope.append("tenant IS NULL")
        if not scope:
            return []
        return self._select(
            f"status = 'pending' AND COALESCE(next_attempt_at, 0) <= ? AND ({' OR '.join(scope)})"
            " AND NOT EXISTS (SELECT 1 FROM events p WHERE p.flow_id = events.flow_id"
            " AND p.status = 'pending' AND p.seq < events.seq)"
            " ORDER BY COALESCE(next_attempt_at, 0), position LIMIT ?",
            [now, *named, limit],
        )

    def record_attempt(
        self,
        event_id: str,
        *,
        attempt: int,
        at: float,
        status_code: int | None,
        latency_ms: float,
        error: str | None,
        outcome: Literal["delivered", "retry", "dead"],
        next_attempt_at: float | None,
    ) -> None:
        """Log one delivery attempt and leave the event delivered, pending (to be tried again at
        ``next_attempt_at``) or dead, in one transaction."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"an attempt's outcome is delivered, retry or dead, not {outcome!r}")
        with self._transaction() as cur:
            cur.execute(
                self._sql(
                    "UPDATE events SET status = ?, attempts = ?, next_attempt_at = ?, "
                    "last_error = ? WHERE id = ?"
                ),
                (OUTCOMES[outcome], attempt, next_attempt_at, error, event_id),
            )
            if cur.rowcount != 1:
                raise InvalidInput(f"no event {event_id!r} in this store")
            cur.execute(
                self._sql(
                    "INSERT INTO event_deliveries (event_id, attempt, at, status_code, "
                    "latency_ms, error) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (event_id, attempt, at, status_code, latency_ms, error),
            )

    def deliveries(self, event_id: str) -> list[tuple[int, float, int | None, float, str | None]]:
        """An event's delivery log: (attempt, at, status code, latency in ms, error), in order."""
        with self._statement() as cur:
            cur.execute(
                self._sql(
                    "SELECT attempt, at, status_code, latency_ms, error FROM event_deliveries "
                    "WHERE event_id = ? ORDER BY attempt, at"
                ),
                (event_id,),
            )
            return [(int(r[0]), float(r[1]), r[2], float(r[3]), r[4]) for r in cur.fetchall()]

    def redeliver(
        self, event_ids: Sequence[str] | None = None, *, dead_since: float | None = None
    ) -> int:
        """Dead events back to pending, their attempts counted from 0: those of ``event_ids``
        (every one must be in the store: else nothing changes), or every one dead whose last
        attempt was at or after ``dead_since``. How many went back."""
        if (not event_ids) == (dead_since is None):
            raise InvalidInput("redeliver takes event ids or a time since which dead ones died")
        with self._transaction() as cur:
            if event_ids:
                marks = ", ".join("?" for _ in event_ids)
                cur.execute(self._sql(f"SELECT id FROM events WHERE id IN ({marks})"), event_ids)
                missing = set(event_ids) - {r[0] for r in cur.fetchall()}
                if missing:
                    raise InvalidInput(f"no such event in this store: {', '.join(sorted(missing))}")
                scope, params = f"id IN ({marks})", list[Any](event_ids)
            else:
                scope = (
                    "id IN (SELECT event_id FROM event_deliveries GROUP BY event_id "
                    "HAVING MAX(at) >= ?)"
                )
                params = [dead_since]
            cur.execute(
                self._sql(
                    "UPDATE events SET status = 'pending', attempts = 0, next_attempt_at = NULL "
                    f"WHERE status = 'dead' AND {scope}"
                ),
                params,
            )
            return int(cur.rowcount)


def _stored(rows: Sequence[Any]) -> Iterator[StoredEvent]:
    for r in rows:
        yield StoredEvent(
            int(r[0]), r[1], r[2], int(r[3]), r[4], r[5], float(r[6]), r[7], r[8], int(r[9]),
            None if r[10] is None else float(r[10]), r[11],
        )  # fmt: skip
