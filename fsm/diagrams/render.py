"""Diagrams and documents rendered from the table: pure functions returning ``str``.

Mermaid ``stateDiagram-v2``, Graphviz DOT and W3C SCXML show every row with its trigger and
guard, and mark terminal states; given a flow's history, Mermaid and DOT highlight the states it
visited and the rows it took. The issuer's set-up (a flow from a PDF, from RECEIVED) is drawn
apart from the card's spine, with its own entry, joining it at READY: a cluster of its own in
DOT, a second entry with a note and a colour of its own in Mermaid. ``paths_markdown`` writes
``diagrams/PATHS.md``; ``table_markdown`` the manual's transition table (docs/machine.md).
Nothing here needs Graphviz or Mermaid installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from xml.sax.saxutils import quoteattr

from ..machine.states import ENTRIES, INITIAL, ISSUER_INITIAL, SETUP_ONLY, TERMINAL, State
from ..machine.steps import RESTING
from ..machine.table import BASIS, TABLE, Row
from ..trail.record import AuditRecord, Outcome
from .paths import Path, entries, loops, paths

FORMATS = ("mermaid", "dot", "scxml", "paths")
FILES = {"mermaid": "flow.mmd", "dot": "flow.dot", "scxml": "flow.scxml", "paths": "PATHS.md"}
"""Where each format lives in ``diagrams/``."""

_HEADER = "Generated from fsm/machine/table.py by `firmaio diagram`; do not edit by hand."
SETUP_TITLE = "Issuer set-up (from a PDF)"
"""What the set-up's part of a diagram is called."""

Edge = tuple[State, State, str]


def drawn_states(table: Sequence[Row]) -> list[State]:
    """The states a diagram of ``table`` shows: all but the set-up's, which only a table with the
    set-up's rows has."""
    setup = setup_states(table)
    return [state for state in State if state not in SETUP_ONLY or state in setup]


def setup_states(table: Sequence[Row]) -> list[State]:
    """The states only the issuer's set-up reaches, in declaration order, if ``table`` has the
    set-up's rows (none for a table of one's own without them)."""
    if ISSUER_INITIAL not in entries(table):
        return []
    used = {s for row in table for s in (row.source, row.target)}
    return [state for state in State if state in SETUP_ONLY and state in used]


def _edges(table: Sequence[Row]) -> dict[Edge, list[str]]:
    """Rows merged by (source, target, trigger), keeping their guards in table order."""
    edges: dict[Edge, list[str]] = {}
    for row in table:
        guards = edges.setdefault((row.source, row.target, str(row.trigger)), [])
        if row.guard_name:
            guards.append(row.guard_name)
    return edges


def _label(trigger: str, guards: list[str]) -> str:
    return f"{trigger} [{' | '.join(guards)}]" if guards else trigger


def _taken(history: Iterable[AuditRecord] | None) -> tuple[set[State], dict[Edge, list[int]]]:
    """States visited and edges taken (with step numbers) by a flow's accepted records."""
    visited: set[State] = set()
    taken: dict[Edge, list[int]] = {}
    if history is None:
        return visited, taken
    history = list(history)
    first = history[0].source if history else INITIAL
    visited.add(first if first in ENTRIES else INITIAL)  # where the flow started
    for record in history:
        if record.outcome is Outcome.ACCEPTED:
            visited.add(record.target)
            taken.setdefault((record.source, record.target, str(record.trigger)), []).append(
                record.seq
            )
    return visited, taken


def to_mermaid(table: Sequence[Row] = TABLE, history: Iterable[AuditRecord] | None = None) -> str:
    """A Mermaid ``stateDiagram-v2``; with ``history``, the flow's own path is highlighted."""
    visited, taken = _taken(history)
    setup = setup_states(table)
    lines = [f"%% {_HEADER}", "stateDiagram-v2", f"    [*] --> {INITIAL}"]
    if setup:
        lines.append(f"    [*] --> {ISSUER_INITIAL}")
        lines.append(f"    note left of {ISSUER_INITIAL}")
        lines.append(f"        {SETUP_TITLE}: joins the spine at {INITIAL}")
        lines.append("    end note")
    for (source, target, trigger), guards in _edges(table).items():
        label = _label(trigger, guards)
        if (source, target, trigger) in taken:
            steps = ",".join(map(str, taken[source, target, trigger]))
            label = f"#{steps} {label}"
        lines.append(f"    {source} --> {target}: {label}")
    states = drawn_states(table)
    lines.extend(f"    {state} --> [*]" for state in states if state in TERMINAL)
    lines.append("    classDef terminal fill:#eee,stroke:#333,stroke-width:3px")
    lines.append("    classDef resting fill:#e8f4e8,stroke:#2a7a2a")
    lines.append("    classDef visited fill:#cfe3ff,stroke:#1f5fbf,stroke-width:3px")
    if setup:
        lines.append("    classDef setup fill:#fbf3e0,stroke:#a8741a")
    groups = {
        "setup": [s for s in setup if s not in TERMINAL and s not in visited],
        "terminal": [s for s in states if s in TERMINAL and s not in visited],
        "resting": [s for s in states if s in RESTING - TERMINAL and s not in visited],
        "visited": [s for s in states if s in visited],
    }
    lines.extend(
        f"    class {','.join(states)} {name}" for name, states in groups.items() if states
    )
    return "\n".join(lines) + "\n"


def to_dot(table: Sequence[Row] = TABLE, history: Iterable[AuditRecord] | None = None) -> str:
    """A Graphviz digraph; terminal states are double octagons, resting ones bold."""
    visited, taken = _taken(history)
    setup = setup_states(table)
    lines = [f"// {_HEADER}", "digraph firmaio_fsm {", "    rankdir=LR;"]
    lines.append('    node [shape=box, style=rounded, fontname="Helvetica"];')
    lines.append('    edge [fontname="Helvetica", fontsize=10];')
    lines.append("    __start [shape=point, width=0.15];")
    if setup:
        lines.append("    subgraph cluster_setup {")
        lines.append(
            f'        label="{SETUP_TITLE}"; style="rounded,dashed"; color="#a8741a"; labeljust=l;'
        )
        lines.append("        __start_setup [shape=point, width=0.15];")
        lines.extend(f"    {_dot_state(state, visited)}" for state in setup)
        lines.append("    }")
    lines.extend(_dot_state(state, visited) for state in drawn_states(table) if state not in setup)
    lines.append(f"    __start -> {INITIAL};")
    if setup:
        lines.append(f"    __start_setup -> {ISSUER_INITIAL};")
    for (source, target, trigger), guards in _edges(table).items():
        label = _label(trigger, guards).replace(" [", "\\n[")
        attrs = [f'label="{label}"']
        if (source, target, trigger) in taken:
            steps = ",".join(map(str, taken[source, target, trigger]))
            attrs[0] = f'label="#{steps} {label}"'
            attrs.append('color="#1f5fbf", penwidth=2.5')
        lines.append(f"    {source} -> {target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_state(state: State, visited: set[State]) -> str:
    attrs = []
    if state in TERMINAL:
        attrs.append("shape=doubleoctagon")
    elif state in RESTING:
        attrs.append("penwidth=2")
    if state in visited:
        attrs.append('style="rounded,filled", fillcolor="#cfe3ff"')
    return f"    {state} [{', '.join(attrs)}];" if attrs else f"    {state};"


def to_scxml(table: Sequence[Row] = TABLE) -> str:
    """W3C SCXML: one ``<transition>`` per row, the guard read from the event's data.

    A guard ``g`` becomes ``cond="_event.data.g"``: whoever sends the event says which guards
    hold, so any SCXML processor can replay a path without our code. The document starts in
    READY; a flow from a PDF starts in RECEIVED (a processor that can start elsewhere, say
    python-statemachine's ``start_value``, replays it from there). A final state has no
    transitions in SCXML: a row that stays in a terminal state (fetching a SIGNED request's
    documents) is named in a comment there, and changes no state.
    """
    note = f"A flow from a PDF starts in {ISSUER_INITIAL} ({SETUP_TITLE}), joining at READY"
    entry = [f"<!-- {note} -->"] if setup_states(table) else []
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {_HEADER} -->",
        *entry,
        '<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="python"'
        f' initial="{INITIAL}" name="firmaio_fsm">',
    ]
    for state in drawn_states(table):
        rows = [row for row in table if row.source is state]
        if state in TERMINAL and rows:  # a final state has no transitions: its rows stay there
            stays = " ".join(f"{row.trigger} [{row.guard_name}]" for row in rows)
            lines.append(f'  <final id="{state}"><!-- stays {state}: {stays} --></final>')
            continue
        if state in TERMINAL:
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
    out.extend(
        f"| `{row.source}` | `{row.trigger}` | {f'`{row.guard_name}`' if row.guard_name else '—'}"
        f" | `{row.target}` |"
        for row in table
    )
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
