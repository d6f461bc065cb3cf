"""Every path through the table, enumerated from the rows.

A *path* starts in READY, follows rows that each start where the previous one ended, visits no
state twice, and is listed when it reaches a resting or terminal state; it goes on past resting
states (a notified citizen may still sign), never past terminal ones.

Rows that return to a state already visited (a READY check that finds the request still READY,
a new notification refused again after a fallback) cannot be on such a path; each of them is a
*loop*, listed once, reached by the first path that leads to its source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .states import INITIAL, TERMINAL, State
from .steps import RESTING
from .table import TABLE, Row

Path = tuple[Row, ...]


def _walk(table: Sequence[Row], start: State, ends: frozenset[State]) -> Iterator[Path]:
    by_source: dict[State, list[Row]] = {}
    for row in table:
        by_source.setdefault(row.source, []).append(row)

    def walk(state: State, path: Path, visited: frozenset[State]) -> Iterator[Path]:
        if path and state in ends:
            yield path
        if state in TERMINAL:
            return
        for row in by_source.get(state, ()):
            if row.target not in visited:
                yield from walk(row.target, (*path, row), visited | {row.target})

    yield from walk(start, (), frozenset({start}))


def paths(table: Sequence[Row] = TABLE, start: State = INITIAL) -> Iterator[Path]:
    """Every path from ``start`` to a resting or terminal state, in table order."""
    return _walk(table, start, RESTING)


def path_to(target: State, table: Sequence[Row] = TABLE, start: State = INITIAL) -> Path:
    """The shortest path from ``start`` to ``target`` (the first in table order among equals)."""
    found = min(_walk(table, start, frozenset({target})), key=len, default=None)
    if found is None:
        raise ValueError(f"no path of the table leads from {start} to {target}")
    return found


def loops(table: Sequence[Row] = TABLE, start: State = INITIAL) -> Iterator[Path]:
    """For each row that returns to a visited state: the first path to its source, then it."""
    on_paths = {row for path in _walk(table, start, frozenset(State)) for row in path}
    prefix: dict[State, Path] = {start: ()}
    for path in _walk(table, start, frozenset(State)):
        prefix.setdefault(path[-1].target, path)
    for row in table:
        if row not in on_paths and row.source in prefix:
            yield (*prefix[row.source], row)


def path_id(path: Path) -> str:
    """A readable id: the states visited, with the trigger and guard that led into each."""
    parts = [str(path[0].source).lower()]
    for row in path:
        step = f"{row.trigger}:{row.guard_name}" if row.guard_name else str(row.trigger)
        parts.append(f"{step}>{str(row.target).lower()}")
    return ">".join(parts)
