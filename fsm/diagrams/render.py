"""Diagrams and documents rendered from the table: pure functions returning ``str``.

Mermaid ``stateDiagram-v2``, Graphviz DOT (:func:`~fsm.diagrams.looks.to_dot`) and W3C SCXML
show every row with its trigger and guard, and mark terminal states; given a flow's history,
Mermaid and DOT highlight the states it visited and the rows it took. Each reads a view of the
table (:mod:`fsm.diagrams.views`): Mermaid and DOT the whole machine, the SCXML and the manual's
table (``table_markdown``, docs/machine.md) every row in table order. The issuer's set-up (a
flow from a PDF, from RECEIVED) is drawn apart from the card's spine, with its own entry,
joining it at READY: a cluster of its own in DOT, a second entry with a note and a colour of its
own in Mermaid. ``paths_markdown`` writes ``diagrams/PATHS.md`` from the enumerated paths
(:mod:`fsm.diagrams.paths`). Nothing here needs Graphviz or Mermaid installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from xml.sax.saxutils import quoteattr

from ..machine.states import ENTRIES, INITIAL, ISSUER_INITIAL, TERMINAL, State
from ..machine.table import BASIS, TABLE, Row
from ..trail.record import AuditRecord
from .graph import SETUP, SETUP_TITLE
from .looks import HEADER as _HEADER
from .looks import to_dot as to_dot  # a renderer by format, like the others here
from .paths import Path, entries, loops, paths
from .views import machine, table_view

FORMATS = ("mermaid", "dot", "scxml", "paths")
FILES = {"mermaid": "flow.mmd", "dot": "flow.dot", "scxml": "flow.scxml", "paths": "PATHS.md"}
"""Where each format lives in ``diagrams/``."""


def to_mermaid(table: Sequence[Row] = TABLE, history: Iterable[AuditRecord] | None = None) -> str:
    """A Mermaid ``stateDiagram-v2``; with ``history``, the flow's own path is highlighted."""
    view = machine(table, history)
    setup = view.group(SETUP)
    lines = [f"%% {_HEADER}", "stateDiagram-v2"]
    lines.extend(f"    [*] --> {state}" for state in view.starts)
    if setup:
        lines.append(f"    note left of {setup.entry}")
        lines.append(f"        {setup.title}: joins the spine at {setup.joins}")
        lines.append("    end note")
    for edge in view.edges:
        label = edge.lines[0]
        if edge.steps:
            label = f"#{','.join(map(str, edge.steps))} {label}"
        lines.append(f"    {edge.source} --> {edge.target}: {label}")
    lines.extend(f"    {node.state} --> [*]" for node in view.nodes if node.kind == "closing")
    lines.append("    classDef terminal fill:#eee,stroke:#333,stroke-width:3px")
    lines.append("    classDef resting fill:#e8f4e8,stroke:#2a7a2a")
    lines.append("    classDef visited fill:#cfe3ff,stroke:#1f5fbf,stroke-width:3px")
    if setup:
        lines.append("    classDef setup fill:#fbf3e0,stroke:#a8741a")
    unvisited = [node for node in view.nodes if not node.visited]
    boxed = setup.members if setup else ()
    groups = {
        "setup": [n.state for n in unvisited if n.kind != "closing" and n.state in boxed],
        "terminal": [n.state for n in unvisited if n.kind == "closing"],
        "resting": [n.state for n in unvisited if n.kind == "resting"],
        "visited": [node.state for node in view.nodes if node.visited],
    }
    lines.extend(
        f"    class {','.join(states)} {name}" for name, states in groups.items() if states
    )
    return "\n".join(lines) + "\n"


def to_scxml(table: Sequence[Row] = TABLE) -> str:
    """W3C SCXML: one ``<transition>`` per row, the guard read from the event's data.

    A guard ``g`` becomes ``cond="_event.data.g"``: whoever sends the event says which guards
    hold, so any SCXML processor can replay a path without our code. The document starts in
    READY; a flow from a PDF starts in RECEIVED (a processor that can start elsewhere, say
    python-statemachine's ``start_value``, replays it from there). A final state has no
    transitions in SCXML: a row that stays in a terminal state (fetching a SIGNED request's
    documents) is named in a comment there, and changes no state.
    """
    view = table_view(table)
    setup = view.group(SETUP)
    entry = []
    if setup:
        note = (
            f"A flow from a PDF starts in {setup.entry} ({setup.title}), joining at {setup.joins}"
        )
        entry.append(f"<!-- {note} -->")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {_HEADER} -->",
        *entry,
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="python"'
        f' initial="{view.starts[0]}" name="{view.name}">',
    ]
    for node in view.nodes:
        state = node.state
        rows = [row for edge in view.edges if edge.source is state for row in edge.rows]
        if node.kind == "closing" and rows:  # a final state has no transitions: rows stay there
            stays = " ".join(f"{row.trigger} [{row.guard_name}]" for row in rows)
            lines.append(f'  <final id="{state}"><!-- stays {state}: {stays} --></final>')
            continue
        if node.kind == "closing":
            lines.append(f'  <final id="{state}"/>')
            continue
        lines.append(f'  <state id="{state}">')
        for row in rows:
            cond = (
                ""
                if row.guard_name is None
                else f" cond={quoteattr('_event.data.' + row.guard_name)}"
            )
            lines.append(f'    <transition event="{row.trigger}"{cond} target="{row.target}"/>')
        lines.append("  </state>")
    lines.append("</scxml>")
    return "\n".join(lines) + "\n"


def _step(row: Row) -> str:
    guard = f" [{row.guard_name}]" if row.guard_name else ""
    return f"—{row.trigger}{guard}→ `{row.target}`"


def _path_line(number: int, path: Path) -> list[str]:
    keys = list(dict.fromkeys(key for row in path for key in row.basis))
    page = [f"[{k}](#{k.replace('.', '')})" for k in keys if BASIS[k].on_page]
    beyond = [f"[{k}](#{k.replace('.', '')})" for k in keys if not BASIS[k].on_page]
    lines = [f"{number}. `{path[0].source}` " + " ".join(_step(row) for row in path)]
    if page:
        lines.append(f"   - implements the page: {', '.join(page)}")
    if beyond:
        lines.append(f"   - beyond the page: {', '.join(beyond)}")
    return lines


_INTRO = (
    "Rows that return to a visited state are listed under *Loops*. After each path come the",
    "sentences of the documentation page (*Tramite messaggio su IO*) it implements and the",
    "facts of the issuer API (`API-NOTES.md`) that take it beyond the page; both are quoted",
    "under *Bases*.",
)
_ENTRIES_INTRO = (
    "A flow for an existing request starts in `READY`, where the card's spine starts; a flow",
    "started from a PDF starts in `RECEIVED`, where the issuer's set-up starts, and joins the",
    "spine at `READY`. A path is listed when it reaches a resting state (`NOTIFIED`,",
    "`FALLBACK_SUGGESTED`) or a terminal one, and visits no state twice; a path of the set-up",
    "ends where it joins the spine, whose own paths go on from `READY`.",
)
_SECTION = {INITIAL: "The card's spine", ISSUER_INITIAL: SETUP_TITLE}


def _groups(all_paths: list[Path], level: str, number: int) -> tuple[list[str], int]:
    """The paths by where they end (an entry they join first), numbered from ``number + 1``."""
    out: list[str] = []
    ends = [*(s for s in State if s in ENTRIES), *(s for s in State if s not in ENTRIES)]
    for end in ends:
        group = [p for p in all_paths if p[-1].target is end]
        if not group:
            continue
        kind = "joins the spine" if end in ENTRIES else "terminal" if end in TERMINAL else "resting"
        out.extend([f"{level} To `{end}` ({kind}, {len(group)} paths)", ""])
        for path in group:
            number += 1
            out.extend(_path_line(number, path))
        out.append("")
    return out, number


def paths_markdown(table: Sequence[Row] = TABLE) -> str:
    """``diagrams/PATHS.md``: every path and loop, its guards, and the basis of each row; with
    the issuer's set-up, the spine's paths (from READY) and the set-up's (from RECEIVED) apart."""
    starts = entries(table)
    by_entry = {entry: list(paths(table, entry)) for entry in starts}
    all_loops = list(loops(table))
    out = ["# Paths of a signature-request flow", ""]
    if len(starts) == 1:
        out.extend(
            [
                f"{_HEADER} Each path starts in `READY`; a path is listed when it reaches a "
                "resting",
                "state (`NOTIFIED`, `FALLBACK_SUGGESTED`) or a terminal one, and visits no state "
                "twice.",
                *_INTRO,
                "",
                f"{len(by_entry[INITIAL])} paths, {len(all_loops)} loops, {len(table)} rows.",
                "",
            ]
        )
        body, number = _groups(by_entry[INITIAL], "##", 0)
        out.extend(body)
    else:
        counts = ", ".join(
            f"{len(found)} paths from `{entry}`" for entry, found in by_entry.items()
        )
        total = f"{counts}; {len(all_loops)} loops; {len(table)} rows."
        out.extend([_HEADER, "", *_ENTRIES_INTRO, *_INTRO, "", total, ""])
        number = 0
        for entry, found in by_entry.items():
            out.extend([f"## {_SECTION.get(entry, 'Paths')}, from `{entry}`", ""])
            body, number = _groups(found, "###", number)
            out.extend(body)
    out.extend(["## Loops", ""])
    for path in all_loops:
        number += 1
        out.extend(_path_line(number, path))
    out.extend(["", "## Bases", ""])
    for key, basis in BASIS.items():
        where = "On the page" if basis.on_page else "Beyond the page"
        out.extend([f"### {key}", "", f"{where}: {basis.text}", ""])
    return "\n".join(out).rstrip() + "\n"


def table_markdown(table: Sequence[Row] = TABLE) -> str:
    """The transition table as Markdown, for the manual (docs/machine.md)."""
    out = ["| From | Trigger | Guard | To |", "|---|---|---|---|"]
    for edge in table_view(table).edges:
        row = edge.rows[0]
        guard = f"`{row.guard_name}`" if row.guard_name else "—"
        out.append(f"| `{row.source}` | `{row.trigger}` | {guard} | `{row.target}` |")
    return "\n".join(out) + "\n"


def render(fmt: str, table: Sequence[Row] = TABLE) -> str:
    """The document ``fmt`` (one of :data:`FORMATS`) for ``table``."""
    if fmt == "mermaid":
        return to_mermaid(table)
    if fmt == "dot":
        return to_dot(table)
    if fmt == "scxml":
        return to_scxml(table)
    if fmt == "paths":
        return paths_markdown(table)
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
