"""Every enumerated path is replayed through the driver and engine with a scripted API.

Adding a row to the table adds cases here: the parameters come from the enumeration.
"""

from __future__ import annotations

import asyncio

import pytest

from firmaio.fsm import Driver, Outcome
from firmaio.fsm.paths import Path, loops, path_id, paths
from firmaio.fsm.steps import CALL_OF
from firmaio.fsm.testing import LATE_GUARDS, ManualClock, ScriptedApi
from tests.helpers import answer_for

ALL = [*paths(), *loops()]


async def replay(path: Path) -> tuple[Driver, ScriptedApi, list[int]]:
    api, clock = ScriptedApi(), ManualClock()
    driver = Driver(api, clock)
    flow = driver.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    calls_per_step = []
    for row in path:
        answer = answer_for(row)
        if answer is not None:
            api.script(answer)
        if row.guard in LATE_GUARDS:
            clock.advance(driver.policy.activation_timeout)
        before = len(api.calls)
        await driver.step(flow, row.trigger)
        calls_per_step.append(len(api.calls) - before)
    driver.flow = flow  # type: ignore[attr-defined]
    return driver, api, calls_per_step


@pytest.mark.parametrize("path", ALL, ids=[path_id(p) for p in ALL])
def test_path_replays_to_its_end(path: Path) -> None:
    """The flow ends where the path ends, with one accepted record per row, in order."""
    driver, api, calls = asyncio.run(replay(path))
    flow = driver.flow  # type: ignore[attr-defined]
    assert flow.state is path[-1].target
    assert [(r.trigger, r.source, r.target, r.guard, r.outcome) for r in flow.history] == [
        (row.trigger, row.source, row.target, row.guard_name, Outcome.ACCEPTED) for row in path
    ]
    assert [r.seq for r in flow.history] == list(range(1, len(path) + 1))
    assert calls == [0 if CALL_OF[row.trigger] is None else 1 for row in path]
    assert api.remaining == 0


def test_enumeration_ids_are_readable_and_unique() -> None:
    """Each case id spells the states and guards of its path, and no two are alike."""
    ids = [path_id(p) for p in ALL]
    assert len(set(ids)) == len(ids)
    assert (
        "ready>check_activation:is_waiting_for_signature>wait_for_signature"
        ">notify:message_was_sent>notified" in ids
    )
    assert (
        "ready>check_activation:is_waiting_for_signature>wait_for_signature"
        ">notify:citizen_disabled_messages>notify_refused>suggest_fallback>fallback_suggested"
        in ids
    )
