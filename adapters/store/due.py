"""The due rows: which flows are due, read through the ``flows_due`` index in bounded pages.

Each flow's ``due_at`` (clock time; NULL: never, a closed flow) is written with each of its
records and intents (:mod:`.sql`), computed by :func:`firmaio.fsm.driving.due.due_at`. The
long-running modes ask only :meth:`DueRows.due`: the flows due by ``now``, in the order they
fell due, ``limit`` at a time after the last one read (a keyset page over ``(due_at, id)``, so
a page costs the same whatever the store holds, and closed flows are never read). A visit that
finds a flow not due by its own settings re-files it (:meth:`DueRows.refile`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from firmaio.fsm.machine import TableVersions
from firmaio.fsm.ports import FlowRow

from .reading import named

PAGE = 500
"""Due rows read at a time."""

Check = tuple[str, int, float, float | None]
"""A check that found nothing new, to write: flow id, expected seq, when, the new due time."""

_COLUMNS = "id, state, seq, intent, head_hash, tenant, dossier_id, table_version, due_at"


class DueRows:
    """The due rows of a :class:`~.sql.SqlStore` (a base of it)."""

    versions: TableVersions
    placeholder = "?"

    def _statement(self) -> AbstractContextManager[Any]:  # pragma: no cover - SqlStore's
        raise NotImplementedError

    def _scope(  # pragma: no cover - SqlStore's
        self, ids: Sequence[str] | None, column: str = "id"
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def due(
        self,
        now: float,
        *,
        tenant: str | None = None,
        every_tenant: bool = False,
        after: tuple[float, str] | None = None,
        limit: int = PAGE,
    ) -> list[FlowRow]:
        """Flows due by ``now`` (of ``tenant``, or of every tenant), by due time then id, at
        most ``limit``, after ``after`` (the last row's due time and id: the next page)."""
        where, params = ["due_at IS NOT NULL AND due_at <= ?"], list[Any]([now])
        if after is not None:
            where.append("(due_at > ? OR (due_at = ? AND id > ?))")
            params += [after[0], after[0], after[1]]
        if not every_tenant:
            where.append("tenant IS NULL" if tenant is None else "tenant = ?")
            params += [] if tenant is None else [tenant]
        sql = (
            f"SELECT {_COLUMNS} FROM flows WHERE {' AND '.join(where)} "
            f"ORDER BY due_at, id LIMIT {int(limit)}"
        )
        with self._statement() as cur:
            cur.execute(sql.replace("?", self.placeholder), params)
            found = cur.fetchall()
        return [
            FlowRow(r[0], named(self.versions, r[1], r[7]), int(r[2]), r[3], r[4], r[5], r[6], r[8])
            for r in found
        ]

    def due_requests(self, request_ids: Sequence[str], *, by: float) -> set[str]:
        """Those of ``request_ids`` (a dossier listing's page) whose flow is due by ``by``: the
        ones a watch cycle keeps the answers of (:mod:`~firmaio.adapters.watch`). A flow is
        matched by its request's id, or by its own if it has none stored (registered by it)."""
        if not request_ids:
            return set()
        by_request, params = self._scope(request_ids, "request_id")
        by_id, id_params = self._scope(request_ids)
        sql = (
            "SELECT COALESCE(request_id, id) FROM flows WHERE due_at IS NOT NULL AND due_at <= ? "
            f"AND ((request_id IS NOT NULL{by_request}) OR (request_id IS NULL{by_id}))"
        )
        with self._statement() as cur:
            cur.execute(sql.replace("?", self.placeholder), [by, *params, *id_params])
            return {str(row[0]) for row in cur.fetchall()}

    def due_of(self, flow_id: str) -> float | None:
        """A flow's stored due time (None: never, or no such flow)."""
        with self._statement() as cur:
            cur.execute(
                "SELECT due_at FROM flows WHERE id = ?".replace("?", self.placeholder), (flow_id,)
            )
            row = cur.fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def checked(self, flow_id: str, *, expected_seq: int, at: float, due_at: float | None) -> bool:
        """A status check that found nothing new at ``at``: the flow's last-checked time and
        due time in one statement, no record; unless a record was written since
        (``expected_seq``) or an intent is open. Whether it was set."""
        with self._statement() as cur:
            cur.execute(
                "UPDATE flows SET checked_at = ?, due_at = ? WHERE id = ? AND seq = ? "
                "AND intent IS NULL".replace("?", self.placeholder),
                (at, due_at, flow_id, expected_seq),
            )
            return bool(cur.rowcount == 1)

    def checked_many(self, checks: Sequence[Check]) -> list[bool]:
        """:meth:`checked` for each of ``checks`` (flow id, expected seq, at, due time), in
        order: whether each was set (PostgreSQL: one statement, :mod:`.checks_together`)."""
        return [self.checked(f, expected_seq=seq, at=at, due_at=due) for f, seq, at, due in checks]

    def refile(self, flow_id: str, *, expected_seq: int, due_at: float | None) -> bool:
        """Set a flow's due time, unless a record was written since (``expected_seq``) or an
        intent is open (that write keeps its own). Whether it was set."""
        with self._statement() as cur:
            cur.execute(
                "UPDATE flows SET due_at = ? WHERE id = ? AND seq = ? AND intent IS NULL".replace(
                    "?", self.placeholder
                ),
                (due_at, flow_id, expected_seq),
            )
            return bool(cur.rowcount == 1)
