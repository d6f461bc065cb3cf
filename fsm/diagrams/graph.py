"""The diagrams' intermediate representation: the table as states, edges and groups, for people.

Every diagram is a :class:`View`: its states (:class:`Node`, with a kind and marks), its edges
(:class:`Edge`, each one or more rows), its groups (:class:`Group`: the issuer's set-up, the
closing states) and the states a flow starts in. :mod:`fsm.diagrams.views` builds the views from
the table; every renderer reads one (:mod:`fsm.diagrams.looks` for DOT through the one writer,
:mod:`fsm.diagrams.dot`; :mod:`fsm.diagrams.render` for Mermaid, SCXML and the manual's table).

Every state and edge has a stable id (``state-READY``, ``edge-READY-WAIT_FOR_SIGNATURE``,
``edge-NOTIFIED-closing``, ``notify-WAIT_FOR_SIGNATURE-message_was_sent``) that the DOT puts on
the drawn elements, so a flow's path is highlighted on a committed SVG by id (:func:`path_on`).
Pure: nothing here draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..machine.states import ENTRIES, INITIAL, State
from ..machine.table import TABLE, Row
from ..trail.record import AuditRecord, Outcome

CLOSING = "closing"
"""The id of the group of closing (terminal) states."""
SETUP = "setup"
"""The id of the group of the issuer's set-up."""
SETUP_TITLE = "Issuer set-up (from a PDF)"
"""What the set-up's part of a diagram is called."""


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
    visited: bool = False
    """The flow the view was drawn for has been in it."""

    @property
    def id(self) -> str:
        return f"state-{self.state}"

    @property
    def classes(self) -> tuple[str, ...]:
        """``state``, its kind, then ``spine``, ``setup`` and ``visited`` where they hold."""
        marks = (("spine", self.spine), ("setup", self.setup), ("visited", self.visited))
        return ("state", self.kind, *(name for name, holds in marks if holds))


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
    steps: tuple[int, ...] = ()
    """The ``seq`` of each accepted record of the flow the view was drawn for that took it."""

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

    @property
    def classes(self) -> tuple[str, ...]:
        """``transition``, ``spine`` or ``beyond``, then ``setup`` and ``taken`` where they
        hold."""
        marks = (("setup", self.setup), ("taken", bool(self.steps)))
        spine = "spine" if self.spine else "beyond"
        return ("transition", spine, *(name for name, holds in marks if holds))

    def takes(self, record: AuditRecord) -> bool:
        """Whether ``record`` (accepted) went along this edge."""
        return any(
            (row.source, str(row.trigger), row.target, row.guard_name)
            == (record.source, str(record.trigger), record.target, record.guard)
            for row in self.rows
        )


@dataclass(frozen=True, slots=True)
class Group:
    """States drawn together: the issuer's set-up, or the closing states."""

    id: str
    title: str
    members: tuple[State, ...]
    """In declaration order."""
    entry: State | None = None
    """Where a flow starts in the group (the set-up's RECEIVED)."""
    joins: State | None = None
    """Where the group's flows go on from (the set-up joins the spine at READY)."""


@dataclass(frozen=True, slots=True)
class View:
    """One diagram: its states, its edges in drawing order, its groups, and the states a flow
    starts in (each drawn with a start)."""

    name: str
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    groups: tuple[Group, ...] = ()
    starts: tuple[State, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """Every element id the drawing must carry."""
        return (*(node.id for node in self.nodes), *(edge.id for edge in self.edges))

    def group(self, group_id: str) -> Group | None:
        """The group ``group_id``, if the view has it."""
        return next((group for group in self.groups if group.id == group_id), None)


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
