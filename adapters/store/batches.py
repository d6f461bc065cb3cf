"""Batches: the rows of a manifest sent in one run (``firmaio send --manifest``), each tied to its
flow; schema version 8, self-contained here (the migration and the queries).

A batch is its rows: each row's line in the manifest, the administration's own reference (if
the row gave one) and its flow, or, for a row refused before anything was sent, the reason.
Every flow of a batch carries the batch's id (``flows.batch_id``): its events say so
(``data.batch_id``). No fiscal code is stored: a row is named by its line and reference only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

BATCHES_DESCRIPTION = (
    "batches: each row of a manifest sent in one run, by line, with its reference and its flow "
    "or the reason it was refused; each flow names its batch (its events carry it)"
)
BATCHES_STATEMENTS = (
    "ALTER TABLE flows ADD COLUMN batch_id TEXT",
    "CREATE INDEX IF NOT EXISTS flows_by_batch ON flows (batch_id) WHERE batch_id IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS batch_rows (
            batch_id TEXT NOT NULL,
            line INTEGER NOT NULL,
            reference TEXT,
            flow_id TEXT,
            refused TEXT,
            PRIMARY KEY (batch_id, line)
        )""",
)
"""The migration that adds batches (:data:`~.schema.V7`)."""


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One row of a batch as stored: its flow (and the flow's state), or why it was refused."""

    line: int
    reference: str | None
    flow_id: str | None
    refused: str | None
    state: str | None
    """The flow's state now; None for a refused row (or a flow not made yet)."""


class Batches:
    """The batch queries, a part of :class:`~firmaio.adapters.store.sql.SqlStore`."""

    if False:  # pragma: no cover - what SqlStore supplies

        def _transaction(self) -> AbstractContextManager[Any]: ...
        def _statement(self) -> AbstractContextManager[Any]: ...
        def _sql(self, sql: str) -> str: ...

    def save_batch(
        self, batch_id: str, rows: Sequence[tuple[int, str | None, str | None, str | None]]
    ) -> None:
        """Record the rows ``(line, reference, flow_id, refused)`` of ``batch_id``, each once
        (a row recorded by an earlier run is kept as it was), and tie each flow to the batch."""
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT line FROM batch_rows WHERE batch_id = ?"), (batch_id,))
            known = {int(row[0]) for row in cur.fetchall()}
            new = [(batch_id, *row) for row in rows if row[0] not in known]
            if new:
                cur.executemany(
                    self._sql(
                        "INSERT INTO batch_rows (batch_id, line, reference, flow_id, refused) "
                        "VALUES (?, ?, ?, ?, ?)"
                    ),
                    new,
                )

    def tie_to_batch(self, flow_id: str, batch_id: str) -> None:
        """Name ``flow_id``'s batch (before its first record: every event then carries it)."""
        with self._statement() as cur:
            cur.execute(
                self._sql("UPDATE flows SET batch_id = ? WHERE id = ? AND batch_id IS NULL"),
                (batch_id, flow_id),
            )

    def batch_rows(self, batch_id: str) -> list[BatchRow]:
        """Every row of ``batch_id``, by line, with its flow's state now (empty: no such
        batch)."""
        with self._statement() as cur:
            cur.execute(
                self._sql(
                    "SELECT b.line, b.reference, b.flow_id, b.refused, f.state FROM batch_rows b "
                    "LEFT JOIN flows f ON f.id = b.flow_id WHERE b.batch_id = ? ORDER BY b.line"
                ),
                (batch_id,),
            )
            return list(_rows(cur.fetchall()))


def _rows(found: list[Any]) -> Iterator[BatchRow]:
    for line, reference, flow_id, refused, state in found:
        yield BatchRow(int(line), reference, flow_id, refused, state)
