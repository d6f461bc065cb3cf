"""IO's catch-all 400 is a passing refusal: the fallback at once, then a bounded number of later
attempts, each recorded, each spaced as ResendPolicy says."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.fsm import (
    Answer,
    Driver,
    Engine,
    InvalidInput,
    Kind,
    ResendPolicy,
    State,
    TransitionNotAllowed,
)
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi
from firmaio.fsm.trail.record import Outcome

ACTIVATED = Answer.request("WAIT_FOR_SIGNATURE")
IO_DOWN = Answer.io_unavailable()


def notify_calls(api: ScriptedApi) -> int:
    return sum(1 for method, _ in api.calls if method == "send_notification")


def test_a_catch_all_400_offers_the_fallback_and_is_not_a_failure(
    driver: Driver, api: ScriptedApi
) -> None:
    api.script(ACTIVATED, IO_DOWN)
    flow = driver.new_flow("R1")
    assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert flow.fallback is not None
    assert flow.fallback.reason is Kind.IO_UNAVAILABLE
    assert "signatureRequestId=R1" in flow.fallback.link
    refusal = flow.history[1]
    assert (refusal.target, refusal.guard) == (State.NOTIFY_REFUSED, "io_did_not_take_the_message")
    assert "tried again later" in (refusal.reason or "")
    assert driver.next_attempt(flow) == refusal.decided_at + 5.0


def test_the_next_advance_makes_the_later_attempt_once_it_is_due(
    driver: Driver, api: ScriptedApi, clock: ManualClock
) -> None:
    api.script(ACTIVATED, IO_DOWN, Answer.sent(EXAMPLE_IO_MESSAGE_ID))
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    clock.advance(2.0)
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert clock.sleeps == [3.0]  # the rest of the first delay
    assert flow.io_message_id == EXAMPLE_IO_MESSAGE_ID
    assert notify_calls(api) == 2
    assert driver.next_attempt(flow) is None


def test_later_attempts_are_bounded_and_each_is_recorded(
    driver: Driver, api: ScriptedApi, clock: ManualClock
) -> None:
    api.script(ACTIVATED, *[IO_DOWN] * 4)
    flow = driver.new_flow("R1")
    for _ in range(6):  # more advances than attempts allowed
        asyncio.run(driver.advance(flow))
    assert flow.state is State.FALLBACK_SUGGESTED
    assert notify_calls(api) == 4  # the first and three later ones
    assert clock.sleeps == [5.0, 30.0, 120.0]
    refused = [r for r in flow.history if r.guard == "io_did_not_take_the_message"]
    assert len(refused) == 4
    assert driver.next_attempt(flow) is None
    assert api.remaining == 0


def test_refusals_the_citizen_must_act_on_are_not_retried(driver: Driver, api: ScriptedApi) -> None:
    api.script(ACTIVATED, IO_DOWN, Answer.messages_disabled())
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    asyncio.run(driver.advance(flow))  # the later attempt finds messages off
    assert flow.refusal is Kind.MESSAGES_DISABLED
    assert driver.next_attempt(flow) is None
    assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert notify_calls(api) == 2


def test_no_later_attempt_when_the_policy_has_no_delays(
    api: ScriptedApi, clock: ManualClock, engine: Engine
) -> None:
    driver = Driver(api, clock, engine=engine, resend=ResendPolicy(delays=()))
    api.script(ACTIVATED, IO_DOWN)
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert driver.next_attempt(flow) is None
    assert notify_calls(api) == 1


def test_a_restored_flow_goes_on_counting_from_its_trail(
    driver: Driver, api: ScriptedApi, clock: ManualClock, engine: Engine
) -> None:
    api.script(ACTIVATED, IO_DOWN, IO_DOWN)
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    asyncio.run(driver.advance(flow))
    restored = engine.restore(flow.id, flow.activation_deadline, list(flow.history))
    assert driver.next_attempt(restored) == flow.history[-2].decided_at + 30.0
    assert [r.outcome for r in restored.history].count(Outcome.ACCEPTED) == len(restored.history)


@pytest.mark.parametrize("delays", [(-1.0,), (float("inf"),), (float("nan"),)])
def test_bad_delays_are_refused_by_name(delays: tuple[float, ...]) -> None:
    with pytest.raises(InvalidInput, match="ResendPolicy delays"):
        ResendPolicy(delays=delays)


DAY = 86_400.0


def test_refused_citizens_are_renotified_only_when_the_policy_says(
    api: ScriptedApi, clock: ManualClock, engine: Engine
) -> None:
    policy = ResendPolicy(renotify=(DAY, 3 * DAY))
    driver = Driver(api, clock, engine=engine, resend=policy)
    api.script(ACTIVATED, Answer.messages_disabled(), Answer.messages_disabled())
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    assert driver.next_attempt(flow) == flow.history[-2].decided_at + DAY
    asyncio.run(driver.advance(flow))  # a day later, still off
    assert clock.sleeps[-1] == DAY
    assert driver.next_attempt(flow) == flow.history[-2].decided_at + 3 * DAY
    api.script(Answer.sent(EXAMPLE_IO_MESSAGE_ID))  # three days later the citizen turned them on
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert notify_calls(api) == 3
    assert driver.next_attempt(flow) is None


def test_by_default_a_refused_citizen_waits_for_an_explicit_renotify(
    driver: Driver, api: ScriptedApi
) -> None:
    api.script(ACTIVATED, Answer.messages_disabled())
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    assert driver.next_attempt(flow) is None
    assert driver.can_renotify(flow)
    api.script(Answer.sent(EXAMPLE_IO_MESSAGE_ID))
    assert asyncio.run(driver.renotify(flow)) is State.NOTIFIED
    assert not driver.can_renotify(flow)
    with pytest.raises(TransitionNotAllowed):
        asyncio.run(driver.renotify(flow))
    assert notify_calls(api) == 2


def test_renotify_is_refused_before_any_refusal(driver: Driver, api: ScriptedApi) -> None:
    flow = driver.new_flow("R1")
    with pytest.raises(TransitionNotAllowed, match="not allowed in state READY"):
        asyncio.run(driver.renotify(flow))
    assert api.calls == []
