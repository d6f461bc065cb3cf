"""How each view looks in DOT (written by :mod:`fsm.diagrams.dot`): the reviewers' views and
the whole machine.

``overview.dot`` draws the page's spine first, thick and dark; the rows the issuer API adds are
thin and grey; the issuer's set-up (a flow from a PDF, from RECEIVED) sits in a box of its own
with its own entry, its rows thin and brown, and joins the spine at READY; rows between two
states are one edge listing every trigger and guard; the closing states sit in one group that
each state reaches by one edge; a legend says all that. One ``trigger-NAME.dot`` per trigger has
every row as its own edge, labelled with its guard. Every state and edge of these carries its id
(``id=...``) and classes (``class=...``), which Graphviz keeps in the SVG it renders: the
committed SVG is highlighted for a flow by these ids, without Graphviz
(``firmaio.adapters.report``).

``flow.dot`` (:func:`to_dot`) is every row, left to right: terminal states are double octagons,
resting ones bold, the set-up a dashed cluster with its own start; drawn with a flow's history,
the states it visited are filled and the edges it took are blue, numbered by step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..machine.states import INITIAL, State
from ..machine.table import TABLE, Row
from ..trail.record import AuditRecord
from . import dot
from .graph import CLOSING, SETUP, Edge, Group, Node, View
from .views import details, machine, overview

HEADER = "Generated from fsm/machine/table.py by `firmaio diagram`; do not edit by hand."
"""The first line of every generated file but the reviewers' views."""
SPINE_COLOUR = "#1f3f8f"
OTHER_COLOUR = "#8a8a8a"
SETUP_COLOUR = "#9a6a1c"
SETUP_FILL = "#fbf5e8"
FILL = {"initial": "#ffffff", "step": "#ffffff", "resting": "#e8f4e8", "closing": "#eeeeee"}
TAKEN_COLOUR = "#1f5fbf"
VISITED_FILL = "#cfe3ff"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LEGEND = (
    '    legend [shape=plaintext, style=solid, id="legend", label=<\n'
    '      <table border="0" cellborder="0" cellspacing="2" cellpadding="3">\n'
    '        <tr><td colspan="2" align="left"><b>Legend</b></td></tr>\n'
    f'        <tr><td><font color="{SPINE_COLOUR}"><b>━━━</b></font></td>'
    '<td align="left">the page\'s own path (Tramite messaggio su IO)</td></tr>\n'
    f'        <tr><td><font color="{OTHER_COLOUR}">- - -</font></td>'
    '<td align="left">added by the issuer API (API-NOTES)</td></tr>\n'
    f'        <tr><td bgcolor="{SETUP_FILL}" border="1" color="{SETUP_COLOUR}">   </td>'
    '<td align="left">the issuer\'s set-up (from a PDF): its own start, its rows brown; it '
    "joins the page's path at READY</td></tr>\n"
    f'        <tr><td bgcolor="{FILL["resting"]}" border="1">   </td>'
    '<td align="left">resting: waits for the citizen or the issuer</td></tr>\n'
    f'        <tr><td bgcolor="{FILL["closing"]}" border="1">   </td>'
    '<td align="left">closing: the flow ends there</td></tr>\n'
    '        <tr><td>[g]</td><td align="left">trigger [guards]: the row holds when one '
    "guard does</td></tr>\n"
    "      </table>>];"
)


class Legible(dot.Look):
    """The reviewers' views: the overview top to bottom with a legend, the issuer's set-up in a
    box of its own; a ``detail`` view (one trigger) left to right, each edge labelled with its
    row's guard."""

    header = (
        "Generated from fsm/machine/table.py by `firmaio diagram --write`; do not edit by hand."
    )

    def __init__(self, view: View, *, detail: bool) -> None:
        super().__init__(view)
        self.detail = detail

    def head(self) -> list[str]:
        view = self.view
        rankdir = "LR" if self.detail else "TB"
        return [
            f'    graph [rankdir={rankdir}, compound=true, newrank=true, fontname="Helvetica", '
            f'nodesep=0.45, ranksep=0.8, labelloc=t, fontsize=16, label="{view.title}", '
            f'id="{view.name}"];',
            '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12];',
            '    edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];',
        ]

    def node(self, node: Node) -> list[str]:
        attrs = [f"id={_quote(node.id)}", f"class={_quote(' '.join(node.classes))}"]
        closing = node.kind == "closing"
        if not self.detail and not closing and (node.spine or node.setup):
            attrs.insert(0, f"group={'spine' if node.spine else SETUP}")  # kept in a line
        attrs.append(f'fillcolor="{FILL[node.kind]}"')
        guards = self._guards_into(node) if closing else ()
        if guards:  # a closing state reached by a group edge lists the guards that lead to it
            text = "\\n".join((str(node.state), *guards))
            attrs.append(f'label="{text}", fontsize=10')
        if closing:
            attrs.append("shape=box, style=filled")
        if node.spine:
            attrs.append(f'penwidth=2.5, color="{SPINE_COLOUR}"')
        elif node.kind == "resting":
            attrs.append("penwidth=2")
        return attrs

    def _guards_into(self, node: Node) -> tuple[str, ...]:
        view = self.view
        if not any(edge.target is None for edge in view.edges):
            return ()
        return tuple(
            dict.fromkeys(
                row.guard_name
                for edge in view.edges
                for row in edge.rows
                if row.target is node.state and row.guard_name
            )
        )

    def edge(self, edge: Edge) -> list[str]:
        if self.detail:  # one row: its guard; the view's title names the trigger
            label = edge.rows[0].guard_name or "(always)"
        elif edge.target is None:  # into the closing group: triggers; the guards are on states
            triggers = dict.fromkeys(str(row.trigger) for row in edge.rows)
            label = "\\l".join(triggers) + "\\l"
        else:
            label = "\\l".join(line.replace('"', '\\"') for line in edge.lines) + "\\l"
        attrs = [
            f"id={_quote(edge.id)}",
            f"class={_quote(' '.join(edge.classes))}",
            f'label="{label}"',
        ]
        if edge.spine:
            attrs.append(
                f'color="{SPINE_COLOUR}", fontcolor="{SPINE_COLOUR}", penwidth=2.5, weight=8'
            )
        elif edge.setup:  # the set-up's own line is kept straight; its ways out are not
            weight = ", weight=4" if edge.target is not None else ""
            attrs.append(f'color="{SETUP_COLOUR}", fontcolor="#333333", style=dashed{weight}')
        else:
            attrs.append(f'color="{OTHER_COLOUR}", fontcolor="#333333", style=dashed')
        if edge.target is None:
            attrs.append(f"lhead=cluster_{CLOSING}")
        return attrs

    def cluster(self, group: Group) -> tuple[str, list[str]]:
        if group.id == SETUP:
            return (
                f'id="{SETUP}"; label="{group.title}"; style="rounded,filled"; '
                f'fillcolor="{SETUP_FILL}"; color="{SETUP_COLOUR}"; fontcolor="{SETUP_COLOUR}"; '
                "fontsize=13; labeljust=l;"
            ), []
        side_by_side = f"{{ rank=same; {'; '.join(str(state) for state in group.members)}; }}"
        return (
            f'id="{group.id}"; label="{group.title}"; style="rounded,dashed"; '
            'color="#999999"; fontsize=11; labeljust=l;'
        ), [side_by_side]

    def start(self, state: State) -> tuple[str, list[str], list[str]]:
        name, ident = (
            ("__start", "state-start")
            if state is INITIAL
            else (f"__start_{state}", f"state-start-{state}")
        )
        return name, ["shape=point", "width=0.15", f'id="{ident}"', 'class="start"'], ["weight=10"]

    def tail(self) -> list[str]:
        return [] if self.detail else [_LEGEND, "    { rank=sink; legend; }"]


class Whole(dot.Look):
    """The whole machine, left to right, as plain as DOT goes; a flow's path highlighted."""

    header = HEADER
    starts_first = True

    def head(self) -> list[str]:
        return [
            "    rankdir=LR;",
            '    node [shape=box, style=rounded, fontname="Helvetica"];',
            '    edge [fontname="Helvetica", fontsize=10];',
        ]

    def node(self, node: Node) -> list[str]:
        attrs = []
        if node.kind == "closing":
            attrs.append("shape=doubleoctagon")
        elif node.kind == "resting":
            attrs.append("penwidth=2")
        if node.visited:
            attrs.append(f'style="rounded,filled", fillcolor="{VISITED_FILL}"')
        return attrs

    def edge(self, edge: Edge) -> list[str]:
        label = edge.lines[0].replace(" [", "\\n[")
        if not edge.steps:
            return [f'label="{label}"']
        steps = ",".join(map(str, edge.steps))
        return [f'label="#{steps} {label}"', f'color="{TAKEN_COLOUR}", penwidth=2.5']

    def cluster(self, group: Group) -> tuple[str, list[str]]:
        attrs = f'label="{group.title}"; style="rounded,dashed"; color="#a8741a"; labeljust=l;'
        return attrs, []

    def start(self, state: State) -> tuple[str, list[str], list[str]]:
        group = next((g for g in self.view.groups if state in g.members), None)
        name = "__start" if group is None else f"__start_{group.id}"
        return name, ["shape=point", "width=0.15"], []


def to_dot(table: Sequence[Row] = TABLE, history: Iterable[AuditRecord] | None = None) -> str:
    """Every row as a Graphviz digraph; with ``history``, the flow's own path is highlighted."""
    return dot.write(Whole(machine(table, history)))


def dot_files(table: Sequence[Row] = TABLE) -> dict[str, str]:
    """Every reviewer's view as DOT by file name: ``overview.dot`` and one ``trigger-NAME.dot``
    each."""
    files = {"overview.dot": dot.write(Legible(overview(table), detail=False))}
    for view in details(table):
        files[f"trigger-{view.name}.dot"] = dot.write(Legible(view, detail=True))
    return files
