"""The diagrams' intermediate representation: the table as states and edges, for people.

:func:`overview` is what a reviewer reads at a glance: each pair of states is joined once (the
rows between them merged, their triggers and guards listed), the page's *spine* is marked (the
rows whose every basis is a sentence of the documentation page), the issuer's *set-up* (the
states only a flow from a PDF passes, from RECEIVED to READY) is marked apart, and the closing
states are grouped, with each state's ways into them drawn as one edge (a row that stays in a
closing state, fetching a SIGNED request's documents, is its own loop). :func:`details` gives
one view per trigger, one edge per row, every guard on it.

Every state and edge has a stable id (``state-READY``, ``edge-READY-WAIT_FOR_SIGNATURE``,
``edge-NOTIFIED-closing``, ``notify-WAIT_FOR_SIGNATURE-message_was_sent``) that the renderers put
on the drawn elements, so a flow's path is highlighted on a committed SVG by id
(:func:`path_on`). Pure: :mod:`fsm.diagrams.views` renders it as DOT; nothing here draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..machine.states import ENTRIES, INITIAL, SETUP_ONLY, TERMINAL, State
from ..machine.steps import RESTING
from ..machine.table import BASIS, TABLE, Basis, Row
from ..trail.record import AuditRecord, Outcome

CLOSING = "closing"
"""The id of the group of closing (terminal) states."""


@dataclass(frozen=True, slots=True)
class Node:
    """One state as drawn."""

    state: State
    kind: str
    """``initial`` (a state a flow starts in), ``resting``, ``closing`` or ``step`` (a state
    the driver moves on from)."""
    spine: bool
    """The page's spine passes through it."""
    setup: bool = False
    """Only the issuer's set-up passes through it (a flow from a PDF, before READY)."""

    @property
    def id(self) -> str:
        return f"state-{self.state}"


@dataclass(frozen=True, slots=True)
class Edge:
    """Rows drawn as one edge: between two states, or from a state into the closing group
    (``target`` is ``None``)."""

    id: str
    source: State
    target: State | None
    rows: tuple[Row, ...]
    spine: bool
    """At least one of its rows rests on the page alone."""
    setup: bool = False
    """Its rows leave a state of the issuer's set-up."""

    @property
    def lines(self) -> tuple[str, ...]:
        """The label, one line per trigger (per closing state for a group edge), each with
        its guards: ``notify [message_was_sent | was_already_notified]``."""
        grouped: dict[str, list[str]] = {}
        for row in self.rows:
            key = str(row.trigger) if self.target is not None else str(row.target)
            guards = grouped.setdefault(key, [])
            if row.guard_name and row.guard_name not in guards:
                guards.append(row.guard_name)
        return tuple(
            f"{key} [{' | '.join(guards)}]" if guards else key for key, guards in grouped.items()
        )

    def takes(self, record: AuditRecord) -> bool:
        """Whether ``record`` (accepted) went along this edge."""
        return any(
            (row.source, str(row.trigger), row.target, row.guard_name)
            == (record.source, str(record.trigger), record.target, record.guard)
            for row in self.rows
        )


@dataclass(frozen=True, slots=True)
class View:
    """One diagram: its states and its edges, in drawing order."""

    name: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every element id the drawing must carry."""
        return (*(node.id for node in self.nodes), *(edge.id for edge in self.edges))


def spine_rows(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> list[Row]:
    """The rows the documentation page describes: every basis they cite is on the page."""
    return [row for row in table if row.basis and all(basis[k].on_page for k in row.basis)]


def _nodes(states: Iterable[State], spine: list[Row]) -> tuple[Node, ...]:
    on_spine = {s for row in spine for s in (row.source, row.target)}
    wanted = set(states)
    nodes = []
    for state in State:
        if state not in wanted:
            continue
        if state in ENTRIES:
            kind = "initial"
        elif state in TERMINAL:
            kind = "closing"
        elif state in RESTING:
            kind = "resting"
        else:
            kind = "step"
        nodes.append(Node(state, kind, state in on_spine, state in SETUP_ONLY))
    return tuple(nodes)


def overview(table: Sequence[Row] = TABLE, basis: Mapping[str, Basis] = BASIS) -> View:
    """The machine at a glance: pairs of states merged, closing states grouped, spine first."""
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
    states = {s for row in table for s in (row.source, row.target)}
    return View("overview", "The machine at a glance", _nodes(states, spine), edges)


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
        states = {s for row in rows for s in (row.source, row.target)}
        views.append(View(trigger, f"Trigger {trigger}", _nodes(states, spine), edges))
    return tuple(views)


@dataclass(frozen=True, slots=True)
class PlacedStep:
    """One accepted record of a flow, placed on a view: the edge it took, the guard that held."""

    record: AuditRecord
    edge: Edge | None
    """``None`` if the view has no edge for it (a record of another table)."""


def path_on(
    view: View, history: Iterable[AuditRecord], start: State | None = None
) -> tuple[set[str], list[PlacedStep]]:
    """The ids of the states a flow visited (from ``start``, by default the state its first
    record starts in, or READY), and its accepted steps placed on ``view``'s edges."""
    history = list(history)
    if start is None:
        first = history[0].source if history else INITIAL
        start = first if first in ENTRIES else INITIAL
    visited = {f"state-{start}"}
    steps = []
    for record in history:
        if record.outcome is not Outcome.ACCEPTED:
            continue
        visited.update((f"state-{record.source}", f"state-{record.target}"))
        edge = next((e for e in view.edges if e.takes(record)), None)
        steps.append(PlacedStep(record, edge))
    return visited, steps


def row_of(record: AuditRecord, table: Sequence[Row] = TABLE) -> Row | None:
    """The row an accepted record followed (its basis is the record's), or ``None``."""
    if record.outcome is not Outcome.ACCEPTED:
        return None
    for row in table:
        if (row.source, str(row.trigger), row.target, row.guard_name) == (
            record.source,
            str(record.trigger),
            record.target,
            record.guard,
        ):
            return row
    return None
