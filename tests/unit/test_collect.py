"""Signed documents collected on their own (the policy, on fakes): due as soon as a flow is
SIGNED, fetched once, a failed fetch tried again on the schedule, given up past IO's 90 days
with a record and no call."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.adapters.collecting import collect_due
from firmaio.fsm import Answer, Driver, Flow, Kind, Outcome, State, Trigger
from firmaio.fsm.driving import CollectPolicy
from firmaio.fsm.errors import ApiUnavailable, InvalidInput
from firmaio.fsm.machine import answer_of
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

WAITING = Answer.request("WAIT_FOR_SIGNATURE")
FETCHED = answer_of(Kind.FETCHED, 200, **{"signed.d1.file": "/srv/r/d1.pdf"})
POLICY = CollectPolicy(delays=(60.0, 600.0), keep_for=86_400.0)


def signed_flow(api: ScriptedApi, clock: ManualClock) -> tuple[Driver, Flow]:
    driver = Driver(api, clock, setup=api)
    api.script(WAITING, Answer.sent(EXAMPLE_IO_MESSAGE_ID), Answer.request("SIGNED"))
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    asyncio.run(driver.step(flow, Trigger.CHECK_STATUS))
    assert flow.state is State.SIGNED
    return driver, flow


def fetches(api: ScriptedApi) -> int:
    return sum(1 for method, _id in api.calls if method == "fetch_signed")


def test_a_signed_flow_is_fetched_at_once_then_never_again(clock: ManualClock) -> None:
    api = ScriptedApi()
    driver, flow = signed_flow(api, clock)
    assert POLICY.next_fetch(flow.state, flow.history) == clock.now()
    api.script(FETCHED)
    assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) == "fetched"
    clock.advance(10 * 86_400)
    assert POLICY.next_fetch(flow.state, flow.history) is None
    assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) is None
    assert fetches(api) == 1


def test_a_failed_fetch_is_tried_again_on_the_schedule_the_last_delay_repeating(
    clock: ManualClock,
) -> None:
    api = ScriptedApi()
    driver, flow = signed_flow(api, clock)
    waits = []
    for _attempt in range(3):
        api.script(ApiUnavailable("download: ReadError"))
        assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) == "fetch_failed"
        due = POLICY.next_fetch(flow.state, flow.history)
        waits.append(due - clock.now())
        clock.advance(due - clock.now() - 1)
        assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) is None
        clock.advance(1)
    assert waits == [60.0, 600.0, 600.0]
    api.script(FETCHED)
    assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) == "fetched"
    assert fetches(api) == 4
    assert [r.outcome for r in flow.history[-4:]] == [Outcome.ERROR] * 3 + [Outcome.ACCEPTED]


def test_past_the_documents_keep_collecting_gives_up_recorded_with_no_call(
    clock: ManualClock,
) -> None:
    api = ScriptedApi()
    driver, flow = signed_flow(api, clock)
    api.script(ApiUnavailable("download: ReadError"))
    asyncio.run(collect_due(driver, flow, POLICY, clock.now()))
    clock.advance(86_400)
    assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) == "gave_up"
    assert fetches(api) == 1  # the give-up called nothing
    last = flow.history[-1]
    assert (last.trigger, last.outcome, last.answer) == (
        Trigger.FETCH_DOCUMENTS,
        Outcome.REFUSED,
        Kind.REFUSED,
    )
    assert "documents.given_up" in dict(last.facts or ())
    assert "collecting gave up" in (last.detail or "")
    assert flow.state is State.SIGNED
    clock.advance(86_400)
    assert POLICY.next_fetch(flow.state, flow.history) is None
    assert asyncio.run(collect_due(driver, flow, POLICY, clock.now())) is None


@pytest.mark.parametrize("bad", [{"delays": ()}, {"delays": (0.0,)}, {"keep_for": -1.0}])
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="CollectPolicy"):
        CollectPolicy(**bad)
