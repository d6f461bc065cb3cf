"""Replaying rows through the real engine with the witness answers."""

from __future__ import annotations

from collections.abc import Sequence

from firmaio.fsm import AuditRecord, Engine, Flow
from firmaio.fsm.paths import Path, loops, paths
from firmaio.fsm.states import State
from firmaio.fsm.steps import CALL_OF
from firmaio.fsm.table import Row
from firmaio.fsm.testing import LATE_GUARDS, witness

START = 1_800_000_000.0
TIMEOUT = 120.0


def answer_for(row: Row):  # type: ignore[no-untyped-def]
    """The answer that selects ``row`` (None for a trigger that makes no call)."""
    if CALL_OF[row.trigger] is None:
        return None
    assert row.guard is not None
    return witness(row.guard)


def now_for(row: Row) -> float:
    return START + TIMEOUT if row.guard in LATE_GUARDS else START + 1


def fire_rows(engine: Engine, flow: Flow, rows: Sequence[Row]) -> list[AuditRecord]:
    return [engine.fire(flow, row.trigger, answer_for(row), now=now_for(row)) for row in rows]


def prefix_to(state: State) -> Path:
    """The first enumerated path that reaches ``state`` (empty for READY)."""
    if state is State.READY:
        return ()
    for path in [*paths(), *loops()]:
        for index, row in enumerate(path):
            if row.target is state:
                return path[: index + 1]
    raise LookupError(state)
