"""The legible diagrams as Graphviz DOT, rendered from :mod:`fsm.diagrams.graph`: pure text.

``overview.dot`` draws the page's spine first, thick and dark; the rows the issuer API adds are
thin and grey; the issuer's set-up (a flow from a PDF, from RECEIVED) sits in a box of its own
with its own entry, its rows thin and brown, and joins the spine at READY; rows between two
states are one edge listing every trigger and guard; the closing states sit in one group that
each state reaches by one edge; a legend says all that. One ``trigger-NAME.dot`` per trigger has
every row as its own edge, labelled with its guard.

Every state and edge carries its id (``id=...``) and classes (``class=...``), which Graphviz
keeps in the SVG it renders: the committed SVG is highlighted for a flow by these ids, without
Graphviz (``firmaio.adapters.report``). Rendering DOT to SVG needs Graphviz; writing DOT does not.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..machine.states import INITIAL
from ..machine.table import TABLE, Row
from .graph import CLOSING, Edge, Node, View, details, overview
from .render import SETUP_TITLE

HEADER = "Generated from fsm/machine/table.py by `firmaio diagram --write`; do not edit by hand."
SPINE_COLOUR = "#1f3f8f"
OTHER_COLOUR = "#8a8a8a"
SETUP_COLOUR = "#9a6a1c"
SETUP_FILL = "#fbf5e8"
SETUP = "setup"
"""The id of the issuer's set-up box."""
FILL = {"initial": "#ffffff", "step": "#ffffff", "resting": "#e8f4e8", "closing": "#eeeeee"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node(node: Node, guards: Sequence[str] = (), *, grouped: bool = False) -> str:
    classes = ["state", node.kind, *(["spine"] if node.spine else [])]
    classes.extend(["setup"] if node.setup else [])
    attrs = [f"id={_quote(node.id)}", f"class={_quote(' '.join(classes))}"]
    if grouped and (node.spine or node.setup):  # each kept in a straight line, side by side
        attrs.insert(0, f"group={'spine' if node.spine else SETUP}")
    attrs.append(f'fillcolor="{FILL[node.kind]}"')
    if guards:  # a closing state reached by a group edge lists the guards that lead to it
        text = "\\n".join((str(node.state), *guards))
        attrs.append(f'label="{text}", fontsize=10')
    if node.kind == "closing":
        attrs.append("shape=box, style=filled")
    if node.spine:
        attrs.append(f'penwidth=2.5, color="{SPINE_COLOUR}"')
    elif node.kind == "resting":
        attrs.append("penwidth=2")
    return f"    {node.state} [{', '.join(attrs)}];"


def _edge(edge: Edge, head: str, *, detail: bool) -> str:
    if detail:  # one row: its guard; the view's title names the trigger
        label = edge.rows[0].guard_name or "(always)"
    elif edge.target is None:  # into the closing group: the triggers; the guards are on the states
        triggers = dict.fromkeys(str(row.trigger) for row in edge.rows)
        label = "\\l".join(triggers) + "\\l"
    else:
        label = "\\l".join(line.replace('"', '\\"') for line in edge.lines) + "\\l"
    classes = [
        "transition",
        "spine" if edge.spine else "beyond",
        *(["setup"] if edge.setup else []),
    ]
    attrs = [
        f"id={_quote(edge.id)}",
        f"class={_quote(' '.join(classes))}",
        f'label="{label}"',
    ]
    if edge.spine:
        attrs.append(f'color="{SPINE_COLOUR}", fontcolor="{SPINE_COLOUR}", penwidth=2.5, weight=8')
    elif edge.setup:  # the set-up's own line is kept straight; its ways out are not
        weight = ", weight=4" if edge.target is not None else ""
        attrs.append(f'color="{SETUP_COLOUR}", fontcolor="#333333", style=dashed{weight}')
    else:
        attrs.append(f'color="{OTHER_COLOUR}", fontcolor="#333333", style=dashed')
    if edge.target is None:
        attrs.append(f"lhead=cluster_{CLOSING}")
    return f"    {edge.source} -> {head} [{', '.join(attrs)}];"


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


def _open(name: str, title: str, rankdir: str) -> list[str]:
    return [
        f"// {HEADER}",
        f"digraph {name.replace('-', '_')} {{",
        f'    graph [rankdir={rankdir}, compound=true, newrank=true, fontname="Helvetica", '
        f'nodesep=0.45, ranksep=0.8, labelloc=t, fontsize=16, label="{title}", '
        f'id="{name}"];',
        '    node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12];',
        '    edge [fontname="Helvetica", fontsize=11, arrowsize=0.7];',
    ]


def _closing_group(view: View) -> list[str]:
    closing = [node for node in view.nodes if node.kind == "closing"]
    if not closing:
        return []
    grouped = any(edge.target is None for edge in view.edges)
    out = [
        f"    subgraph cluster_{CLOSING} {{",
        f'        id="{CLOSING}"; label="closing states"; style="rounded,dashed"; '
        'color="#999999"; fontsize=11; labeljust=l;',
    ]
    for node in closing:
        guards = (
            dict.fromkeys(
                row.guard_name
                for edge in view.edges
                for row in edge.rows
                if row.target is node.state and row.guard_name
            )
            if grouped
            else {}
        )
        out.append("    " + _node(node, tuple(guards)))
    out.append(f"        {{ rank=same; {'; '.join(str(node.state) for node in closing)}; }}")
    out.append("    }")
    return out


def _start(node: Node) -> list[str]:
    """A start point into ``node``, a state a flow starts in."""
    name, ident = (
        ("__start", "state-start")
        if node.state is INITIAL
        else (f"__start_{node.state}", f"state-start-{node.state}")
    )
    return [
        f'    {name} [shape=point, width=0.15, id="{ident}", class="start"];',
        f"    {name} -> {node.state} [weight=10];",
    ]


def _setup_group(view: View) -> list[str]:
    """The issuer's set-up in a box of its own, with its own start (the overview only)."""
    inside = [node for node in view.nodes if node.setup and node.kind != "closing"]
    if not inside:
        return []
    out = [
        f"    subgraph cluster_{SETUP} {{",
        f'        id="{SETUP}"; label="{SETUP_TITLE}"; style="rounded,filled"; '
        f'fillcolor="{SETUP_FILL}"; color="{SETUP_COLOUR}"; fontcolor="{SETUP_COLOUR}"; '
        "fontsize=13; labeljust=l;",
    ]
    for node in inside:
        out.append("    " + _node(node, grouped=True))
    out.extend("    " + line for node in inside if node.kind == "initial" for line in _start(node))
    out.append("    }")
    return out


def to_dot_view(view: View, *, detail: bool = False) -> str:
    """One view as DOT: states with their ids and classes, then edges, closing states grouped.
    The overview is drawn top to bottom with a legend, the issuer's set-up in a box of its own;
    a ``detail`` view left to right, each edge labelled with its row's guard."""
    lines = _open(view.name, view.title, "LR" if detail else "TB")
    boxed = set() if detail else {node.state for node in view.nodes if node.setup}
    lines.extend(
        _node(node, grouped=not detail)
        for node in view.nodes
        if node.kind != "closing" and node.state not in boxed
    )
    if not detail:
        lines.extend(_setup_group(view))
    lines.extend(_closing_group(view))
    for node in view.nodes:
        if node.kind == "initial" and node.state not in boxed:
            lines.extend(_start(node))
    closing = [node for node in view.nodes if node.kind == "closing"]
    middle = closing[len(closing) // 2].state if closing else None
    for edge in view.edges:
        head = edge.target if edge.target is not None else middle
        lines.append(_edge(edge, str(head), detail=detail))
    if not detail:
        lines.append(_LEGEND)
        lines.append("    { rank=sink; legend; }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_files(table: Sequence[Row] = TABLE) -> dict[str, str]:
    """Every view's DOT by file name: ``overview.dot`` and one ``trigger-NAME.dot`` each."""
    files = {"overview.dot": to_dot_view(overview(table))}
    for view in details(table):
        files[f"trigger-{view.name}.dot"] = to_dot_view(view, detail=True)
    return files
