"""Every path through the table, enumerated from the rows.

A flow starts in one of the table's *entries* (:func:`entries`): READY, where the card's spine
starts (a flow for an existing request), and RECEIVED, where the issuer's set-up starts (a flow
from a PDF) when the table has its rows. A *path* starts in an entry, follows rows that each
start where the previous one ended, visits no state twice, and is listed when it reaches a
resting or terminal state; it goes on past resting states (a notified citizen may still sign),
never past terminal ones. A path that reaches another entry ends there: the set-up's paths end
when they join the spine at READY, whose own paths go on from there (so no spine path is listed
twice, once behind each way of reaching READY).

Rows that return to a state already visited (a READY check that finds the request still READY,
a new notification refused again after a fallback, an expired upload URL asked for again) cannot
be on such a path; each of them is a *loop*, listed once, reached by the first path from its
entry that leads to its source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..machine.states import ENTRIES, INITIAL, TERMINAL, State
from ..machine.steps import RESTING
from ..machine.table import TABLE, Row

Path = tuple[Row, ...]


def entries(table: Sequence[Row] = TABLE) -> tuple[State, ...]:
    """The states a flow of ``table`` may start in, the spine's first: READY, then each other
    entry (RECEIVED) the table has rows from."""
    sources = {row.source for row in table}
    others = sorted(state for state in ENTRIES - {INITIAL} if state in sources)
    return (INITIAL, *others)


def _walk(table: Sequence[Row], start: State, ends: frozenset[State]) -> Iterator[Path]:
    """Paths from ``start``, listed on reaching ``ends``; they never go past a terminal state
    nor past another entry."""
    by_source: dict[State, list[Row]] = {}
    for row in table:
        by_source.setdefault(row.source, []).append(row)
    stops = TERMINAL | (ENTRIES - {start})

    def walk(state: State, path: Path, visited: frozenset[State]) -> Iterator[Path]:
        if path and state in ends:
            yield path
        if state in stops:
            return
        for row in by_source.get(state, ()):
            if row.target not in visited:
                yield from walk(row.target, (*path, row), visited | {row.target})

    yield from walk(start, (), frozenset({start}))


def _starts(table: Sequence[Row], start: State | None) -> tuple[State, ...]:
    return entries(table) if start is None else (start,)


def paths(table: Sequence[Row] = TABLE, start: State | None = None) -> Iterator[Path]:
    """Every path from ``start`` (by default from each entry, the spine's first) to a resting or
    terminal state, or to another entry, in table order."""
    for entry in _starts(table, start):
        yield from _walk(table, entry, RESTING | (ENTRIES - {entry}))


def path_to(target: State, table: Sequence[Row] = TABLE, start: State | None = None) -> Path:
    """The shortest path from ``start`` to ``target`` (the first in table order among equals).

    By default from the first entry that leads to ``target``: READY for a state of the spine or
    beside it, RECEIVED for a state of the issuer's set-up (and for READY itself, which the
    set-up reaches; a path from READY to READY is none).
    """
    for entry in _starts(table, start):
        if entry is target:
            continue
        found = min(_walk(table, entry, frozenset({target})), key=len, default=None)
        if found is not None:
            return found
    where = "any entry" if start is None else str(start)
    raise ValueError(f"no path of the table leads from {where} to {target}")


def loops(table: Sequence[Row] = TABLE, start: State | None = None) -> Iterator[Path]:
    """For each row that returns to a visited state: the first path from its entry to its
    source, then it. Each row is listed once, from the first entry that reaches it."""
    every = frozenset(State)
    starts = _starts(table, start)
    on_paths = {row for entry in starts for path in _walk(table, entry, every) for row in path}
    listed: set[Row] = set()
    for entry in starts:
        prefix: dict[State, Path] = {entry: ()}
        for path in _walk(table, entry, every):
            prefix.setdefault(path[-1].target, path)
        elsewhere = ENTRIES - {entry}  # another entry's loops are listed from it
        for row in table:
            if row in on_paths or row in listed or row.source in elsewhere:
                continue
            if row.source in prefix:
                listed.add(row)
                yield (*prefix[row.source], row)


def path_id(path: Path) -> str:
    """A readable id: the states visited, with the trigger and guard that led into each."""
    parts = [str(path[0].source).lower()]
    for row in path:
        step = f"{row.trigger}:{row.guard_name}" if row.guard_name else str(row.trigger)
        parts.append(f"{step}>{str(row.target).lower()}")
    return ">".join(parts)
