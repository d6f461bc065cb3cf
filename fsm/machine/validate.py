"""Checks that a transition table is well formed, run once when the engine is built.

Each check is a small pure function over the rows; :func:`validate` runs them all and raises one
:class:`~fsm.errors.InvalidDefinition` naming every problem at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

from ..errors import InvalidDefinition
from .states import State
from .steps import Steps
from .table import Row


def _successors(rows: Iterable[Row]) -> dict[State, set[State]]:
    graph: dict[State, set[State]] = defaultdict(set)
    for row in rows:
        graph[row.source].add(row.target)
    return graph


def _reach(start: Iterable[State], graph: Mapping[State, set[State]]) -> set[State]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def unreachable_states(
    rows: Sequence[Row], initial: State | Iterable[State], states: Iterable[State]
) -> list[State]:
    """States no sequence of rows leads to from ``initial`` (a state, or the states a flow may
    start in)."""
    starts = [initial] if isinstance(initial, State) else list(initial)
    reached = _reach(starts, _successors(rows))
    return [s for s in states if s not in reached]


def trap_states(
    rows: Sequence[Row], terminal: frozenset[State], states: Iterable[State]
) -> list[State]:
    """Non-terminal states with no row leading anywhere else."""
    exits = {row.source for row in rows if row.target != row.source}
    return [s for s in states if s not in terminal and s not in exits]


def terminal_states_with_exits(rows: Sequence[Row], terminal: frozenset[State]) -> list[State]:
    """Terminal states that some row leaves (terminal must mean terminal; a row that stays, such
    as fetching a SIGNED request's documents, leaves nothing)."""
    return sorted(
        {row.source for row in rows if row.source in terminal and row.target != row.source}
    )


def states_without_path_to_terminal(
    rows: Sequence[Row], terminal: frozenset[State], states: Iterable[State]
) -> list[State]:
    """States from which no terminal state can be reached."""
    graph = _successors(rows)
    return [s for s in states if not _reach([s], graph) & terminal]


def ambiguous_rows(rows: Sequence[Row]) -> list[str]:
    """(source, trigger) pairs whose rows could be confused.

    Refused: two rows with the same guard, or an unguarded row beside any other row (the order
    of rows would then decide the outcome, which the table must never leave to chance).
    """
    groups: dict[tuple[State, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[row.source, row.trigger].append(row)
    problems = []
    for (source, trigger), group in groups.items():
        names = [row.guard_name for row in group]
        if len(group) > 1 and None in names:
            problems.append(f"{source} --{trigger}--> has an unguarded row beside other rows")
        repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
        if repeated:
            problems.append(f"{source} --{trigger}--> repeats guard {', '.join(repeated)}")
    return problems


def unknown_basis(rows: Sequence[Row], basis: Mapping[str, object]) -> list[str]:
    """Rows that cite no basis, or a basis key that is not defined."""
    problems = []
    for row in rows:
        if not row.basis:
            problems.append(f"{row.source} --{row.trigger}--> {row.target} cites no basis")
        problems.extend(
            f"{row.source} --{row.trigger}--> {row.target} cites unknown basis {key!r}"
            for key in row.basis
            if key not in basis
        )
    return problems


def rows_without_reason(rows: Sequence[Row], terminal: frozenset[State]) -> list[str]:
    """Rows that end a flow without saying why (a reviewer must read the reason)."""
    return [
        f"{row.source} --{row.trigger}--> {row.target} ends the flow but gives no reason"
        for row in rows
        if row.target in terminal and row.target != row.source and row.reason is None
    ]


def steps_disagreeing(rows: Sequence[Row], steps: Steps) -> list[str]:
    """Triggers the table and the step declarations (:mod:`fsm.machine.steps`) do not agree on."""
    in_table = {str(row.trigger) for row in rows}
    problems = [
        f"trigger {name} has rows but no step declares it"
        for name in sorted(in_table - set(steps.by_trigger))
    ]
    problems.extend(
        f"step {name} is declared but the table has no row for it"
        for name in sorted(set(steps.by_trigger) - in_table)
    )
    sources = {(row.source, str(row.trigger)) for row in rows}
    problems.extend(
        f"the driver fires {trigger} from {state}, but no row leaves {state} by {trigger}"
        for state, trigger in steps.next_step.items()
        if (state, str(trigger)) not in sources
    )
    return problems


def calls_unknown(steps: Steps, calls: Collection[str]) -> list[str]:
    """Steps whose API call has no entry in the call registry (the driver could not make it)."""
    return [
        f"trigger {step.trigger} makes the call {step.call}, which has no entry in the call "
        "registry"
        for step in steps
        if step.call is not None and step.call not in calls
    ]


def validate(
    rows: Sequence[Row],
    *,
    initial: State | Iterable[State],
    terminal: frozenset[State],
    basis: Mapping[str, object],
    states: Iterable[State] = State,
    steps: Steps | None = None,
    calls: Collection[str] | None = None,
) -> None:
    """Raise :class:`InvalidDefinition` naming every problem of the table (and of its steps,
    when given, and of their calls against the names in ``calls``, the call registry), or
    return None."""
    states = list(states)
    problems: list[str] = []
    if found := unreachable_states(rows, initial, states):
        problems.append("unreachable states: " + ", ".join(found))
    if found := trap_states(rows, terminal, states):
        problems.append("non-terminal states with no way out: " + ", ".join(found))
    if found := terminal_states_with_exits(rows, terminal):
        problems.append("terminal states with rows leaving them: " + ", ".join(found))
    if found := states_without_path_to_terminal(rows, terminal, states):
        problems.append("states with no path to a terminal state: " + ", ".join(found))
    problems.extend(ambiguous_rows(rows))
    problems.extend(unknown_basis(rows, basis))
    problems.extend(rows_without_reason(rows, terminal))
    if steps is not None:
        problems.extend(steps_disagreeing(rows, steps))
        if calls is not None:
            problems.extend(calls_unknown(steps, calls))
    if problems:
        raise InvalidDefinition(problems)
