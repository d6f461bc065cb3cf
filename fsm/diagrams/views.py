"""The table regrouped into views (:mod:`fsm.diagrams.graph`), one per diagram.

:func:`overview` is what a reviewer reads at a glance: each pair of states is joined once (the
rows between them merged, their triggers and guards listed), the page's *spine* is marked (the
rows whose every basis is a sentence of the documentation page), the issuer's *set-up* (the
states only a flow from a PDF passes, from RECEIVED to READY) is boxed apart, and the closing
states are grouped, with each state's ways into them drawn as one edge (a row that stays in a
closing state, fetching a SIGNED request's documents, is its own loop). :func:`details` gives
one view per trigger, one edge per row, every guard on it.

:func:`machine` is every row, the rows between two states under one trigger merged (Mermaid and
``flow.dot``), with a flow's history marked on it; :func:`table_view` is every row as its own
edge, in table order (the SCXML and the manual's table). Both draw every state but the set-up's,
which only a table with the set-up's rows has, grouped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..machine.states import ENTRIES, INITIAL, ISSUER_INITIAL, SETUP_ONLY, TERMINAL, State
from ..machine.steps import RESTING
from ..machine.table import BASIS, TABLE, Basis, Row
from ..trail.record import AuditRecord, Outcome
from .graph import CLOSING, SETUP, SETUP_TITLE, Edge, Group, Node, View


def spine_rows(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> list[Row]:
    """The rows the documentation page describes: every basis they cite is on the page (a key
    ``basis`` lacks is not)."""
    return [
        row
        for row in table
        if row.basis and all(key in basis and basis[key].on_page for key in row.basis)
    ]


def _kind(state: State) -> str:
    if state in ENTRIES:
        return "initial"
    if state in TERMINAL:
        return "closing"
    return "resting" if state in RESTING else "step"


def _nodes(
    states: Iterable[State], spine: list[Row], visited: Iterable[State] = ()
) -> tuple[Node, ...]:
    """The nodes of ``states``, in declaration order."""
    on_spine = {s for row in spine for s in (row.source, row.target)}
    wanted, seen = set(states), set(visited)
    return tuple(
        Node(state, _kind(state), state in on_spine, state in SETUP_ONLY, state in seen)
        for state in State
        if state in wanted
    )


def _starts(nodes: Iterable[Node]) -> tuple[State, ...]:
    """The entries among ``nodes``: READY first, then the others."""
    present = {node.state for node in nodes}
    return tuple(s for s in (INITIAL, *sorted(ENTRIES - {INITIAL})) if s in present)


def _closing(nodes: tuple[Node, ...]) -> tuple[Group, ...]:
    members = tuple(node.state for node in nodes if node.kind == "closing")
    return (Group(CLOSING, "closing states", members),) if members else ()


def overview(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> View:
    """The machine at a glance: pairs of states merged, closing states grouped, the set-up
    boxed, spine first."""
    spine = spine_rows(table, basis)
    merged: dict[tuple[State, State | None], list[Row]] = {}
    for row in sorted(table, key=lambda r: r not in spine):  # spine edges are drawn first
        closes = row.target in TERMINAL and row.target is not row.source
        merged.setdefault((row.source, None if closes else row.target), []).append(row)
    edges = tuple(
        Edge(
            f"edge-{source}-{target if target is not None else CLOSING}",
            source,
            target,
            tuple(rows),
            any(row in spine for row in rows),
            source in SETUP_ONLY,
        )
        for (source, target), rows in merged.items()
    )
    nodes = _nodes({s for row in table for s in (row.source, row.target)}, spine)
    boxed = tuple(node.state for node in nodes if node.setup and node.kind != "closing")
    setup = (Group(SETUP, SETUP_TITLE, boxed, ISSUER_INITIAL, INITIAL),) if boxed else ()
    groups = (*setup, *_closing(nodes))
    return View("overview", "The machine at a glance", nodes, edges, groups, _starts(nodes))


def details(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> tuple[View, ...]:
    """One view per trigger, in table order: one edge per row, labelled with its guard."""
    spine = spine_rows(table, basis)
    triggers = list(dict.fromkeys(str(row.trigger) for row in table))
    views = []
    for trigger in triggers:
        rows = [row for row in table if str(row.trigger) == trigger]
        edges = tuple(
            Edge(
                f"{trigger}-{row.source}-{row.guard_name or 'always'}",
                row.source,
                row.target,
                (row,),
                row in spine,
                row.source in SETUP_ONLY,
            )
            for row in rows
        )
        nodes = _nodes({s for row in rows for s in (row.source, row.target)}, spine)
        title = f"Trigger {trigger}"
        views.append(View(trigger, title, nodes, edges, _closing(nodes), _starts(nodes)))
    return tuple(views)


Taken = dict[tuple[State, State, str], list[int]]
"""The steps of a flow by the (source, target, trigger) they went along."""


def _history(history: Iterable[AuditRecord] | None) -> tuple[set[State], Taken]:
    """The states a flow visited (from where it started: its first record's source if that is
    an entry, else READY) and the steps its accepted records took; nothing without a history."""
    visited: set[State] = set()
    taken: Taken = {}
    if history is None:
        return visited, taken
    history = list(history)
    first = history[0].source if history else INITIAL
    visited.add(first if first in ENTRIES else INITIAL)
    for record in history:
        if record.outcome is Outcome.ACCEPTED:
            visited.add(record.target)
            key = (record.source, record.target, str(record.trigger))
            taken.setdefault(key, []).append(record.seq)
    return visited, taken


def _whole(
    name: str, table: Sequence[Row], spine: list[Row], edges: tuple[Edge, ...], visited: set[State]
) -> View:
    """A view of every state: all but the set-up's, which only a table with the set-up's rows
    (from RECEIVED) has, grouped."""
    setup: tuple[State, ...] = ()
    if ISSUER_INITIAL in {row.source for row in table}:
        used = {s for row in table for s in (row.source, row.target)}
        setup = tuple(state for state in State if state in SETUP_ONLY and state in used)
    nodes = _nodes((s for s in State if s not in SETUP_ONLY or s in setup), spine, visited)
    groups = (Group(SETUP, SETUP_TITLE, setup, ISSUER_INITIAL, INITIAL),) if setup else ()
    return View(name, "Every row of the table", nodes, edges, groups, _starts(nodes))


def machine(
    table: Sequence[Row] = TABLE,
    history: Iterable[AuditRecord] | None = None,
    basis: Mapping[str, Basis] = BASIS,
) -> View:
    """Every row of ``table``, the rows between two states under one trigger merged into one
    edge; with a flow's ``history``, the states it visited and the edges it took (with the
    ``seq`` of each step) are marked."""
    visited, taken = _history(history)
    spine = spine_rows(table, basis)
    merged: dict[tuple[State, State, str], list[Row]] = {}
    for row in table:
        merged.setdefault((row.source, row.target, str(row.trigger)), []).append(row)
    edges = tuple(
        Edge(
            f"edge-{source}-{target}-{trigger}",
            source,
            target,
            tuple(rows),
            any(row in spine for row in rows),
            source in SETUP_ONLY,
            tuple(taken.get((source, target, trigger), ())),
        )
        for (source, target, trigger), rows in merged.items()
    )
    return _whole("firmaio_fsm", table, spine, edges, visited)


def table_view(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> View:
    """Every row of ``table`` as its own edge, in table order."""
    spine = spine_rows(table, basis)
    edges = tuple(
        Edge(
            f"{row.trigger}-{row.source}-{row.guard_name or 'always'}",
            row.source,
            row.target,
            (row,),
            row in spine,
            row.source in SETUP_ONLY,
        )
        for row in table
    )
    return _whole("firmaio_fsm", table, spine, edges, set())
