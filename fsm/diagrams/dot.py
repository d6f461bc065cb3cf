"""The one DOT writer: any view of :mod:`fsm.diagrams.graph` as Graphviz DOT, in a look.

The writer places what every drawing has: the header, the graph's defaults, the states, each
group as a cluster (``cluster_ID``) holding its members, a start point (a small dot) into each
state a flow starts in, then the edges (one into the closing group ends at its middle member,
drawn to the cluster's edge), and whatever the look adds at the end (a legend). A
:class:`Look` says how each of them is drawn: their attributes. Pure text: writing DOT needs no
Graphviz.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..machine.states import State
from .graph import CLOSING, Edge, Group, Node, View


class Look(ABC):
    """How one view is drawn in DOT: the attributes of each element the writer places."""

    header: str
    """The comment on the first line."""
    starts_first: bool = False
    """Declare the start points, then the groups, before the states outside any group, and
    every start's edge after all of them (``flow.dot``); otherwise the states come first, then
    the groups, each start point with its edge after its state's group."""

    def __init__(self, view: View) -> None:
        self.view = view

    @abstractmethod
    def head(self) -> list[str]:
        """The graph's attributes and its node and edge defaults, as statements."""

    @abstractmethod
    def node(self, node: Node) -> list[str]:
        """A state's attributes (none: the defaults)."""

    @abstractmethod
    def edge(self, edge: Edge) -> list[str]:
        """An edge's attributes."""

    @abstractmethod
    def cluster(self, group: Group) -> tuple[str, list[str]]:
        """A group's cluster: its attributes, as one line of statements, and the statements
        that close it (keeping its members side by side)."""

    @abstractmethod
    def start(self, state: State) -> tuple[str, list[str], list[str]]:
        """The start point into ``state``: its name, its attributes, its edge's attributes."""

    def tail(self) -> list[str]:
        """Statements after the edges (a legend)."""
        return []


def _statement(subject: str, attrs: list[str], indent: str = "    ") -> str:
    return f"{indent}{subject} [{', '.join(attrs)}];" if attrs else f"{indent}{subject};"


def _point(look: Look, state: State, indent: str = "    ") -> str:
    name, attrs, _edge = look.start(state)
    return _statement(name, attrs, indent)


def _arrow(look: Look, state: State, indent: str = "    ") -> str:
    name, _attrs, attrs = look.start(state)
    return _statement(f"{name} -> {state}", attrs, indent)


def _cluster(look: Look, group: Group) -> list[str]:
    inner = "        "
    view = look.view
    members = [node for node in view.nodes if node.state in group.members]
    starts = [state for state in view.starts if state in group.members]
    states = [_statement(str(node.state), look.node(node), inner) for node in members]
    attrs, closing = look.cluster(group)
    out = [f"    subgraph cluster_{group.id} {{", inner + attrs]
    if look.starts_first:
        out.extend(_point(look, state, inner) for state in starts)
        out.extend(states)
    else:
        out.extend(states)
        for state in starts:
            out.extend((_point(look, state, inner), _arrow(look, state, inner)))
    out.extend(inner + line for line in closing)
    out.append("    }")
    return out


def write(look: Look) -> str:
    """``look``'s view as a DOT digraph named after it."""
    view = look.view
    grouped = {state for group in view.groups for state in group.members}
    loose = [_statement(str(n.state), look.node(n)) for n in view.nodes if n.state not in grouped]
    loose_starts = [state for state in view.starts if state not in grouped]
    clusters = [line for group in view.groups for line in _cluster(look, group)]
    lines = [f"// {look.header}", f"digraph {view.name.replace('-', '_')} {{", *look.head()]
    if look.starts_first:
        lines.extend(_point(look, state) for state in loose_starts)
        lines.extend((*clusters, *loose))
        lines.extend(_arrow(look, state) for state in view.starts)
    else:
        lines.extend((*loose, *clusters))
        for state in loose_starts:
            lines.extend((_point(look, state), _arrow(look, state)))
    closing = view.group(CLOSING)
    middle = closing.members[len(closing.members) // 2] if closing else None
    for edge in view.edges:
        head = edge.target if edge.target is not None else middle
        lines.append(_statement(f"{edge.source} -> {head}", look.edge(edge)))
    lines.extend(look.tail())
    lines.append("}")
    return "\n".join(lines) + "\n"
