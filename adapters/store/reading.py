"""What a store reads, named as the running table names it, whatever table version wrote it.

A flow's row records the table version it started on; each record, the version that wrote it.
The store reads both through the running table's migrations (:mod:`firmaio.fsm.trail.reading`):
a stored flow it cannot read is refused with :class:`~firmaio.fsm.errors.UnreadableTrail`,
before anything is called or written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from firmaio.fsm.machine import TableVersions
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.trail import from_event_dict, read_fields, read_state

_LOADED = (
    "SELECT f.activation_deadline, f.intent, f.intent_at, r.payload, f.tenant, f.state, "
    "f.table_version, f.dossier_id, f.checked_at, f.seq, f.head_hash, f.request_id, "
    "f.batch_id, f.id FROM flows f LEFT JOIN audit_records r ON r.flow_id = f.id "
)
LOAD = f"{_LOADED}WHERE f.id = ? ORDER BY r.seq"
"""One statement: a flow's row and its trail, one snapshot (the rows :func:`stored_flow` reads;
then the row's head, :data:`HEAD`, and its id)."""
LOAD_MANY = f"{_LOADED}WHERE 1 = 1{{ids}} ORDER BY f.id, r.seq"
"""Many flows' rows and trails in one statement (``{ids}``: the dialect's scope of ids)."""
HEAD = slice(9, 13)
"""Where a :data:`LOAD` row holds its flow's head as an append reads it: its record count, the
head of its chain, its request's id and its batch (:meth:`~.sql.SqlStore.append`)."""


def by_flow(rows: Sequence[Any]) -> dict[str, list[Any]]:
    """:data:`LOAD_MANY`'s rows, by flow id (in the order read)."""
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row[13], []).append(row)
    return grouped


def stored_flow(flow_id: str, rows: Sequence[Any], versions: TableVersions) -> StoredFlow | None:
    """The flow :data:`LOAD` read, or None; raises :class:`UnreadableTrail`. (A whole-store
    page reads the same columns but the last-checked time: none then.)"""
    if not rows:
        return None
    first = rows[0]
    stored = [json.loads(row[3]) for row in rows if row[3] is not None]
    records = tuple(map(from_event_dict, read_fields(flow_id, stored, versions)))
    started = None if first[6] is None else int(first[6])
    initial = None  # with records, the first one says where the flow started
    if not records:
        initial = read_state(flow_id, first[5], started, versions)
    intent_at = None if first[2] is None else float(first[2])
    return StoredFlow(
        flow_id, float(first[0]), first[1], records, intent_at, first[4], first[7],
        initial=initial, table_version=started,
        checked_at=float(first[8]) if len(first) > 8 and first[8] is not None else None,
    )  # fmt: skip


def named(versions: TableVersions, state: str, started: int | None) -> str:
    """A flow row's ``state``, written by the table version it started on (or a later one: a
    name is never reused once renamed away), as the running table names it; as stored if the
    running table does not read that version."""
    version = 1 if started is None else int(started)
    return versions.state_name(state, version) if versions.reads(version) else state


@runtime_checkable
class PageLoader(Protocol):
    """A store that reads a page of flows in one read (``firmaio serve``'s due flows)."""

    async def load_many(self, flow_ids: Sequence[str]) -> dict[str, StoredFlow]:
        """The stored flows of ``flow_ids``, by id, as ``load`` reads each; one it does not
        have or cannot read is left out (its own load says why)."""
        ...
