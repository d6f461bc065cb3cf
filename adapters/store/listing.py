"""Flows listed and counted for people: filters, keyset pages, counts by state and tenant.

What the console shows (and ``firmaio flows`` may): the flows of some tenants, filtered by state,
dossier, refusal reason, creation date or a flow's or request's id, newest first, a page at a
time; or, filtered by when they last changed (``changed_since``, ``changed_until``), the most
recently changed first. A page is read by keyset (the last row's ``(created_at, id)``, or
``(updated_at, id)``), never by offset, through the indexes of schema versions 9 and 10, so the
millionth flow's page costs what the first one does. A
flow with no tenant belongs to the ``default`` tenant (:data:`DEFAULT_TENANT`). No UI here:
values in, values out; a filter that cannot be right is :class:`InvalidInput`, naming it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.machine import TERMINAL, State

DEFAULT_TENANT = "default"
"""The tenant of flows stored with none (as :mod:`firmaio.adapters.tenants` names it)."""

REFUSALS: dict[str, str] = {
    "messages_disabled": "the citizen turned off messages from Firma con IO",
    "no_io_profile": "the citizen has no IO profile",
}
"""The refusal reasons a list is filtered by, and the reason each one's records carry
(:mod:`firmaio.fsm.machine.reasons`; a test checks they are the same words)."""

STATES = frozenset(str(s) for s in State)
CLOSED = tuple(sorted(str(s) for s in TERMINAL))
LIMIT_MAX = 200


@dataclass(frozen=True, slots=True)
class FlowFilter:
    """Which flows a list shows. ``tenants`` None: every tenant; else only these (an empty
    tuple shows none)."""

    tenants: tuple[str, ...] | None = None
    state: str | None = None
    dossier: str | None = None
    refusal: str | None = None
    since: float | None = None
    until: float | None = None
    """When the flow was made: at or after ``since``, before ``until``."""
    flow_id: str | None = None
    """A flow's id or its signature request's id."""
    changed_since: float | None = None
    changed_until: float | None = None
    """When the flow last changed (its last record, an intent opened: ``updated_at``); with
    either, the list is ordered by that time, the most recently changed first."""

    @property
    def by_change(self) -> bool:
        """Whether the list is ordered by the flows' last change (not by their creation)."""
        return self.changed_since is not None or self.changed_until is not None

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise InvalidInput(f"unknown state {self.state!r}: one of {', '.join(sorted(STATES))}")
        if self.refusal is not None and self.refusal not in REFUSALS:
            known = ", ".join(sorted(REFUSALS))
            raise InvalidInput(f"unknown refusal reason {self.refusal!r}: one of {known}")
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidInput("the date range ends before it starts")
        since, until = self.changed_since, self.changed_until
        if since is not None and until is not None and since > until:
            raise InvalidInput("the range of last changes ends before it starts")


@dataclass(frozen=True, slots=True)
class Listed:
    """One flow as a list shows it."""

    flow_id: str
    state: str
    tenant: str
    dossier_id: str | None
    request_id: str | None
    created_at: float
    updated_at: float
    records: int
    intent: str | None
    due_at: float | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a list, and the cursor of the next one (None: this is the last)."""

    rows: list[Listed]
    after: str | None


CHANGED = "changed"
"""The mark of a cursor of a list ordered by last change."""


def cursor_of(row: Listed, by_change: bool = False) -> str:
    """The opaque cursor after ``row``: its creation time and id, or (``by_change``) the time
    of its last change and id, marked as such."""
    raw = f"{row.updated_at!r}|{row.flow_id}|{CHANGED}" if by_change else (
        f"{row.created_at!r}|{row.flow_id}"
    )  # fmt: skip
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_cursor(text: str, by_change: bool = False) -> tuple[float, str]:
    """A cursor :func:`cursor_of` made for a list ordered the same way; anything else is
    :class:`InvalidInput`."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        when, flow_id, *mark = raw.split("|")
        found = (float(when), flow_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the page cursor is not one this console made") from None
    if mark not in ([], [CHANGED]) or (mark == [CHANGED]) != by_change:
        order = "last change" if mark == [CHANGED] else "creation"
        raise InvalidInput(
            f"the page cursor is of a list ordered by {order}: give the filters it was made with"
        )
    return found


class _Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


_COLUMNS = (
    "id, state, tenant, dossier_id, request_id, created_at, updated_at, seq, intent, due_at "
    "FROM flows"
)


def _tenant_clause(tenants: tuple[str, ...] | None, alias: str = "") -> tuple[str, list[Any]]:
    if tenants is None:
        return "", []
    if not tenants:
        return " AND 1 = 0", []
    named = [t for t in tenants if t != DEFAULT_TENANT]
    parts = [f"{alias}tenant IN ({', '.join('?' for _ in named)})"] if named else []
    if DEFAULT_TENANT in tenants:
        parts.append(f"{alias}tenant IS NULL")
    return f" AND ({' OR '.join(parts)})", named


def where_of(flt: FlowFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (``1 = 1`` and the filter's conditions) and its parameters."""
    where, params = "1 = 1", []
    clause, tenant_params = _tenant_clause(flt.tenants)
    where += clause
    params += tenant_params
    for value, condition in (
        (flt.state, "state = ?"),
        (flt.dossier, "dossier_id = ?"),
        (flt.flow_id, "(id = ? OR request_id = ?)"),
        (flt.since, "created_at >= ?"),
        (flt.until, "created_at < ?"),
        (flt.changed_since, "updated_at >= ?"),
        (flt.changed_until, "updated_at < ?"),
    ):
        if value is not None:
            where += f" AND {condition}"
            params += [value] * condition.count("?")
    if flt.refusal is not None:  # the flow's own records, by its primary key
        where += (
            " AND EXISTS (SELECT 1 FROM audit_records r WHERE r.flow_id = flows.id "
            "AND r.payload LIKE ?)"
        )
        params.append(f'%"reason":"{REFUSALS[flt.refusal]}"%')
    return where, params


class Listing:
    """The store's reads for people (a mixin of :class:`~firmaio.adapters.store.sql.SqlStore`)."""

    def _sql(self, sql: str) -> str:  # pragma: no cover - the store's
        raise NotImplementedError

    def _statement(self) -> AbstractContextManager[Any]:  # pragma: no cover - the store's
        raise NotImplementedError

    def list_flows(self, flt: FlowFilter, *, after: str | None = None, limit: int = 50) -> Page:
        """A page of flows ``flt`` lets through, newest first, after the cursor ``after``."""
        if not 1 <= limit <= LIMIT_MAX:
            raise InvalidInput(f"a page holds 1 to {LIMIT_MAX} flows, not {limit}")
        where, params = where_of(flt)
        key = "updated_at" if flt.by_change else "created_at"
        if after is not None:
            when, last = parse_cursor(after, flt.by_change)
            where += f" AND ({key}, id) < (?, ?)"  # a row value: an index bound on both
            params += [when, last]
        sql = f"SELECT {_COLUMNS} WHERE {where} ORDER BY {key} DESC, id DESC LIMIT ?"
        with self._statement() as cur:
            cur.execute(self._sql(sql), [*params, limit + 1])
            found = cur.fetchall()
        rows = [_listed(r) for r in found[:limit]]
        more = len(found) > limit
        return Page(rows, cursor_of(rows[-1], flt.by_change) if more else None)

    def listed(self, flow_id: str, tenants: tuple[str, ...] | None) -> Listed | None:
        """One flow's row, if it is one of ``tenants``' (None: any tenant's)."""
        clause, params = _tenant_clause(tenants)
        with self._statement() as cur:
            cur.execute(self._sql(f"SELECT {_COLUMNS} WHERE id = ?{clause}"), [flow_id, *params])
            row = cur.fetchone()
        return None if row is None else _listed(row)

    def counts(self, tenants: tuple[str, ...] | None) -> dict[tuple[str, str], int]:
        """How many flows each (tenant, state) has, of ``tenants``."""
        clause, params = _tenant_clause(tenants)
        with self._statement() as cur:
            cur.execute(
                self._sql(f"SELECT tenant, state, COUNT(*) FROM flows WHERE 1 = 1{clause} "
                          "GROUP BY tenant, state"),
                params,
            )  # fmt: skip
            return {(r[0] or DEFAULT_TENANT, str(r[1])): int(r[2]) for r in cur.fetchall()}

    def refusal_counts(self, tenants: tuple[str, ...] | None) -> dict[str, int]:
        """How many flows were refused for each reason (:data:`REFUSALS`), of ``tenants``."""
        clause, params = _tenant_clause(tenants, "f.")
        refused = ", ".join(f"'{s}'" for s in _REFUSED)
        found: dict[str, int] = {}
        with self._statement() as cur:
            for key, reason in REFUSALS.items():
                cur.execute(
                    self._sql(
                        "SELECT COUNT(*) FROM flows f WHERE f.state IN "
                        f"({refused}){clause} AND EXISTS (SELECT 1 FROM audit_records r "
                        "WHERE r.flow_id = f.id AND r.payload LIKE ?)"
                    ),
                    [*params, f'%"reason":"{reason}"%'],
                )
                found[key] = int(cur.fetchone()[0])
        return found

    def needing_a_look(
        self, tenants: tuple[str, ...] | None, *, now: float, stuck_after: float, limit: int = 20
    ) -> list[tuple[Listed, str]]:
        """Flows failed (newest first), then flows stuck: due more than ``stuck_after`` seconds
        ago and not visited since (no worker, no ``serve`` got to them; an open notification
        intent among them), longest overdue first. Both read by index, whatever the store's
        size."""
        clause, params = _tenant_clause(tenants)
        failed = (
            f"SELECT {_COLUMNS} WHERE state = 'FAILED'{clause} "
            "ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        overdue = (
            f"SELECT {_COLUMNS} WHERE due_at IS NOT NULL AND due_at < ?{clause} "
            "ORDER BY due_at, id LIMIT ?"
        )
        with self._statement() as cur:
            cur.execute(self._sql(failed), [*params, limit])
            found = [(_listed(r), "failed") for r in cur.fetchall()]
            cur.execute(self._sql(overdue), [now - stuck_after, *params, limit])
            found += [(row, _why(row, now)) for row in map(_listed, cur.fetchall())]
        return found[:limit]

    def last_day(self, tenants: tuple[str, ...] | None, *, now: float) -> dict[str, int]:
        """Flows created, and records written (their events), in the 24 hours before ``now``."""
        clause, params = _tenant_clause(tenants)
        since = now - 86_400
        with self._statement() as cur:
            cur.execute(
                self._sql(f"SELECT COUNT(*) FROM flows WHERE created_at >= ?{clause}"),
                [since, *params],
            )
            created = int(cur.fetchone()[0])
            cur.execute(
                self._sql(f"SELECT COUNT(*) FROM events WHERE time >= ?{clause}"),
                [since, *params],
            )
            records = int(cur.fetchone()[0])
        return {"created": created, "records": records}


_REFUSED = (str(State.NOTIFY_REFUSED), str(State.FALLBACK_SUGGESTED))
"""Where a refused flow rests (a later notification moves it on, and out of the count)."""


def _why(row: Listed, now: float) -> str:
    hours = (now - (row.due_at or now)) / 3600
    if row.intent:
        return f"a notification intent is open, due {hours:.0f} h ago"
    return f"due {hours:.0f} h ago and not visited since"


def _listed(r: Sequence[Any]) -> Listed:
    return Listed(
        flow_id=str(r[0]), state=str(r[1]), tenant=r[2] or DEFAULT_TENANT, dossier_id=r[3],
        request_id=r[4], created_at=float(r[5]), updated_at=float(r[6]), records=int(r[7]),
        intent=r[8], due_at=None if r[9] is None else float(r[9]),
    )  # fmt: skip


def pages(store: Listing, flt: FlowFilter, limit: int = 50) -> Iterator[Page]:
    """Every page of ``flt``, in order (for a command that prints them all)."""
    after: str | None = None
    while True:
        page = store.list_flows(flt, after=after, limit=limit)
        yield page
        if page.after is None:
            return
        after = page.after
