"""PostgreSQL's append in one statement: the head its load read, kept for a bounded while.

:meth:`SqlStore.append <firmaio.adapters.store.sql.SqlStore.append>` is a transaction of six
statements (BEGIN, the row locked, the record, its event, the row, COMMIT): each costs the client
a round trip and tens of microseconds of CPU. A flow is appended to right after it was loaded,
and the load read its row's head (record count, chain head, tenant, dossier, request id,
batch: what the transaction's ``FLOW_HEAD`` reads): the record's hash, its event and the row's
new values follow from it. So on PostgreSQL the load
keeps that head (:class:`Heads`), and the append sends one statement (:data:`APPEND`) whose
``UPDATE`` changes the row only if its head is still the one read (the row's lock is taken by
that ``UPDATE``, so a concurrent writer waits and then finds the head moved), and whose
record's and event's inserts take their rows from the ``UPDATE``'s: all three or nothing, in
the statement's own transaction. Whatever the statement did not write (a head not kept, or moved)
is written by the transaction as before, which also says why it cannot be (``StaleFlow``).

The record, its hash and its event are the ones the transaction writes, byte for byte. A head
is kept from a load, or a write, to the flow's next append (taken by it, whatever the outcome):
a flow driven through several steps writes each in one statement. At most :data:`KEPT` are
kept: flows no longer written to (a re-filed flow, a flow at rest) are dropped oldest first, so
the map does not grow with the flows a long-running process ever read or wrote.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from firmaio.fsm.errors import UnreadableTrail
from firmaio.fsm.machine import TableVersions
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import AuditRecord

from .reading import HEAD, LOAD, LOAD_MANY, by_flow, stored_flow

KEPT = 4096
"""Heads kept at most: more than the flows in flight (a page of due flows, a worker's visits)."""

Head = tuple[int, str, str | None, str | None, str | None, str | None]
"""A flow row's record count, chain head, tenant, dossier id, request id and batch id, as
loaded (the columns of :attr:`~.outbox.Outbox.FLOW_HEAD`, in its order)."""

APPEND = (
    "WITH f AS (UPDATE flows SET state = %s, seq = %s, head_hash = %s, updated_at = %s, "
    "request_id = COALESCE(request_id, %s), dossier_id = COALESCE(%s, dossier_id), "
    "due_at = %s, "
    "intent = CASE WHEN %s THEN NULL ELSE intent END, "
    "intent_at = CASE WHEN %s THEN NULL ELSE intent_at END "
    "WHERE id = %s AND seq = %s AND head_hash = %s AND tenant IS NOT DISTINCT FROM %s "
    "AND dossier_id IS NOT DISTINCT FROM %s AND request_id IS NOT DISTINCT FROM %s "
    "AND batch_id IS NOT DISTINCT FROM %s RETURNING id), "
    "r AS (INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) "
    "SELECT id, %s, %s, %s, %s FROM f), "
    "l AS (SELECT pg_advisory_xact_lock_shared({lock})), "
    "e AS (INSERT INTO events (id, flow_id, seq, tenant, type, time, body) "
    "SELECT %s, %s, %s, %s, %s, %s, %s FROM f, l) "
    "SELECT COUNT(*) FROM f"
)
"""The append as one statement (``{lock}``: the store's feed lock, :mod:`.outbox`): the row
moved if its head is the one read, the record and its event inserted with it, else nothing."""


class Heads:
    """The heads loads read, by flow id, until the flow's append takes them: at most ``kept``
    (the oldest dropped first), shared by a store's threads."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._heads: OrderedDict[str, Head] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._heads)

    def keep(self, flow_id: str, head: Sequence[Any]) -> None:
        """Keep a flow's head (:data:`Head`'s columns)."""
        seq, head_hash, tenant, dossier_id, request_id, batch_id = head
        with self._lock:
            self._heads[flow_id] = (int(seq), head_hash, tenant, dossier_id, request_id, batch_id)
            self._heads.move_to_end(flow_id)
            while len(self._heads) > self.kept:
                self._heads.popitem(last=False)

    def take(self, flow_id: str) -> Head | None:
        """The head kept for ``flow_id`` (None: none), no longer kept."""
        with self._lock:
            return self._heads.pop(flow_id, None)


class Loads:
    """A flow, or a page of flows, loaded in one statement, and the heads loads keep (a base
    of :class:`~.sql.SqlStore`)."""

    versions: TableVersions

    def _statement(self) -> AbstractContextManager[Any]:  # pragma: no cover - SqlStore's
        raise NotImplementedError

    def _scope(  # pragma: no cover - SqlStore's
        self, ids: Sequence[str] | None, column: str = "id"
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:  # pragma: no cover - SqlStore's
        raise NotImplementedError

    heads: Heads | None = None
    """Where a dialect that appends in one statement keeps the heads its loads read
    (:mod:`.one_write`; None: it does not)."""

    def load(self, flow_id: str) -> StoredFlow | None:
        with self._statement() as cur:  # one statement: the row and its trail, one snapshot
            cur.execute(self._sql(LOAD), (flow_id,))
            rows = cur.fetchall()
        self._keep_head(flow_id, rows)
        return stored_flow(flow_id, rows, self.versions)

    def load_many(self, flow_ids: Sequence[str]) -> dict[str, StoredFlow]:
        """The stored flows of ``flow_ids``, by id, in one statement (one snapshot), as
        :meth:`load` reads each; a flow the store does not have, or cannot read, is left out
        (its own :meth:`load` says why)."""
        if not flow_ids:
            return {}
        scope, params = self._scope(flow_ids)
        with self._statement() as cur:
            cur.execute(self._sql(LOAD_MANY.format(ids=scope)), params)
            rows = cur.fetchall()
        found: dict[str, StoredFlow] = {}
        for flow_id, read in by_flow(rows).items():
            try:
                stored = stored_flow(flow_id, read, self.versions)
            except UnreadableTrail:
                continue
            if stored is not None:
                self._keep_head(flow_id, read)
                found[flow_id] = stored
        return found

    def _keep_head(self, flow_id: str, rows: Sequence[Any]) -> None:
        if self.heads is not None and rows:
            seq, head_hash, request_id, batch_id = rows[0][HEAD]
            self.heads.keep(flow_id, (seq, head_hash, rows[0][4], rows[0][7], request_id, batch_id))

    def _let_go(self, *flow_ids: str) -> None:
        """Keep no head of ``flow_ids``: their visits end without an append."""
        if self.heads is not None:
            for flow_id in flow_ids:
                self.heads.take(flow_id)

    def _keep_written(
        self, record: AuditRecord, digest: str, of: Sequence[Any], learnt: str | None,
        dossier: str | None,
    ) -> None:  # fmt: skip
        """Keep the head an append left, for the flow's next step (``of``: the row's tenant,
        dossier, request id and batch before it; ``learnt``, ``dossier``: the request's id and
        dossier it wrote, if any): a head kept wrongly (a write rolled back, a row changed
        since) is never used, since :data:`APPEND` checks it."""
        if self.heads is not None:
            tenant, dossier_id, request_id, batch_id = of
            head = (tenant, dossier or dossier_id, request_id or learnt, batch_id)
            self.heads.keep(record.flow_id, (record.seq, digest, *head))

    def _at_once(
        self, record: AuditRecord, expected_seq: int, close_intent: bool, now: float,
        due_at: float | None,
    ) -> bool:  # fmt: skip
        """Whether the append was written in one statement (False: nothing was written, the
        transaction is to write it)."""
        head = self.heads.take(record.flow_id) if self.heads is not None else None
        if head is None or head[0] != expected_seq:
            return False
        return self._append_at_once(record, head, close_intent, now, due_at)

    def _append_at_once(
        self, record: AuditRecord, head: tuple[Any, ...], close_intent: bool, now: float,
        due_at: float | None,
    ) -> bool:  # fmt: skip
        """Append in one statement from the head a load read (:mod:`.one_write`); whether it
        was written (False: nothing was)."""
        del record, head, close_intent, now, due_at
        return False
