"""Replaying rows through the real engine with the witness answers."""

from __future__ import annotations

from collections.abc import Sequence

from firmaio.fsm import AuditRecord, Engine, Flow
from firmaio.fsm.diagrams.paths import Path, entries, loops, paths
from firmaio.fsm.machine.answers import Answer
from firmaio.fsm.machine.states import INITIAL, ISSUER_INITIAL, State
from firmaio.fsm.machine.steps import DEFAULT_STEPS
from firmaio.fsm.machine.table import Row
from firmaio.fsm.testing import EXAMPLE_ORDER, LATE_GUARDS, witness

START = 1_800_000_000.0
TIMEOUT = 120.0
RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def answer_for(row: Row) -> Answer | None:
    """The answer that selects ``row``: its guard's witness, for a trigger that makes a call or
    takes the operator's input; None for one that does neither."""
    step = DEFAULT_STEPS[row.trigger]
    if step.call is None and not step.takes_input:
        return None
    assert row.guard is not None
    return witness(row.guard)


def now_for(row: Row, flow: Flow | None = None) -> float:
    """When to fire ``row``: a second after START, or, for a guard that holds only once the
    flow's wait is over, at the flow's deadline (:meth:`Flow.deadline`: the activation deadline
    in READY, the validation deadline in DOCUMENT_UPLOADED)."""
    if row.guard not in LATE_GUARDS:
        return START + 1
    return START + TIMEOUT if flow is None else max(START + 1, flow.deadline())


def new_flow_from(engine: Engine, entry: State, request_id: str = RID) -> Flow:
    """A new flow in ``entry``: READY (an existing request) or RECEIVED (from EXAMPLE_ORDER)."""
    if entry is ISSUER_INITIAL:
        return engine.new_order_flow(request_id, EXAMPLE_ORDER, now=START)
    assert entry is INITIAL, entry
    return engine.new_flow(request_id, now=START, activation_timeout=TIMEOUT)


def fire_rows(engine: Engine, flow: Flow, rows: Sequence[Row]) -> list[AuditRecord]:
    """Fire each row's trigger with its witness answer, at the time its guard needs."""
    return [engine.fire(flow, row.trigger, answer_for(row), now=now_for(row, flow)) for row in rows]


def entry_of(path: Path, state: State) -> State:
    """Where a flow taken along ``path`` (to ``state``) starts."""
    return path[0].source if path else state


def prefix_to(state: State) -> Path:
    """The first enumerated path that reaches ``state`` (empty for an entry: READY, RECEIVED);
    it starts in RECEIVED for a state of the issuer's set-up."""
    if state in entries():
        return ()
    for path in [*paths(), *loops()]:
        for index, row in enumerate(path):
            if row.target is state:
                return path[: index + 1]
    raise LookupError(state)


def flow_at(engine: Engine, state: State, request_id: str = RID) -> Flow:
    """A flow brought to ``state`` from the right entry along :func:`prefix_to`."""
    prefix = prefix_to(state)
    flow = new_flow_from(engine, entry_of(prefix, state), request_id)
    fire_rows(engine, flow, prefix)
    assert flow.state is state
    return flow
