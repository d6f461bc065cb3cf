"""Whole-store reads in bounded pages: the flows after a cursor, by id, each with its trail.

``audit verify`` and ``firmaio report`` read a whole store this way, so what they hold is a
page, not the store. A page is one statement, so one snapshot: a flow's row and its records
agree. The cursor is the last id read (keyset, never an offset): a flow stored when the reading
began is read exactly once however many flows are added meanwhile; one added behind the cursor
is left to the next reading, as if it came after it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import TableVersions
from firmaio.fsm.ports import FlowRow, StoredFlow
from firmaio.fsm.trail import ChainLink

from .reading import named, stored_flow

PAGE = 500
"""Flows per page, by default (their records come with them)."""

_PAGE = (
    "SELECT f.id, f.state, f.seq, f.intent, f.head_hash, f.tenant, f.dossier_id, "
    "f.table_version, f.activation_deadline, f.intent_at, r.seq, r.payload, r.prev_hash, r.hash "
    "FROM (SELECT * FROM flows WHERE id > ? ORDER BY id LIMIT ?) f "
    "LEFT JOIN audit_records r ON r.flow_id = f.id ORDER BY f.id, r.seq"
)

Grouped = list[tuple[FlowRow, list[Any]]]
"""Each flow's row, and the rows the page statement read for it."""


class Paging:
    """The paged reads, a part of :class:`~firmaio.adapters.store.sql.SqlStore`."""

    versions: TableVersions

    if TYPE_CHECKING:  # the SQL core's own

        def _statement(self) -> AbstractContextManager[Any]: ...
        def _sql(self, sql: str) -> str: ...

    def _page(self, after: str | None, limit: int) -> Grouped:
        if limit < 1:
            raise InvalidInput(f"a page holds at least one flow, got limit={limit}")
        with self._statement() as cur:  # one statement: one snapshot
            cur.execute(self._sql(_PAGE), (after or "", limit))
            found = cur.fetchall()
        grouped: Grouped = []
        for r in found:
            if not grouped or grouped[-1][0].flow_id != r[0]:
                state = named(self.versions, r[1], r[7])
                grouped.append((FlowRow(r[0], state, int(r[2]), *r[3:7]), []))
            grouped[-1][1].append(r)
        return grouped

    def trail_page(
        self, after: str | None = None, limit: int = PAGE
    ) -> list[tuple[FlowRow, list[ChainLink]]]:
        """Up to ``limit`` flows with ids after ``after`` (from the first when ``None``), by
        id, each with its stored records and their hashes: what :meth:`rows` and :meth:`links`
        read, a page at a time."""
        return [(row, _links(read)) for row, read in self._page(after, limit)]

    def flows_page(
        self, after: str | None = None, limit: int = PAGE
    ) -> list[tuple[FlowRow, StoredFlow, list[ChainLink]]]:
        """Up to ``limit`` flows after ``after``, by id, each as :meth:`load` reads it, with
        its links (raises :class:`~firmaio.fsm.errors.UnreadableTrail` as :meth:`load` does)."""
        page = []
        for row, read in self._page(after, limit):
            loaded = [(r[8], r[3], r[9], r[11], r[5], r[1], r[7], r[6]) for r in read]  # LOAD's
            stored = stored_flow(row.flow_id, loaded, self.versions)
            assert stored is not None  # the flow's own row was read
            page.append((row, stored, _links(read)))
        return page


def _links(read: list[Any]) -> list[ChainLink]:
    return [ChainLink(int(r[10]), r[11], r[12], r[13]) for r in read if r[10] is not None]
