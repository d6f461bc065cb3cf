"""Hooks: called after each record is kept, filtered as asked, and never able to break a flow."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from firmaio.fsm import (
    Answer,
    ApiUnavailable,
    AuditRecord,
    Driver,
    Engine,
    Flow,
    Hooks,
    Outcome,
    State,
)
from firmaio.fsm.testing import ManualClock, ScriptedApi

REFUSED_THEN_FALLBACK = [Answer.request("WAIT_FOR_SIGNATURE"), Answer.messages_disabled()]


def driver_with(hooks: Hooks, *answers: Answer | ApiUnavailable, engine: Engine) -> Driver:
    return Driver(ScriptedApi(answers), ManualClock(), engine=engine, hooks=hooks)


def test_every_transition_reaches_a_hook_on_all_of_them(engine: Engine) -> None:
    hooks, seen = Hooks(), []
    hooks.subscribe(lambda flow, record: seen.append((flow.id, record.seq, record.target)))
    driver = driver_with(hooks, *REFUSED_THEN_FALLBACK, engine=engine)
    flow = driver.new_flow("R1")
    asyncio.run(driver.advance(flow))
    assert seen == [
        ("R1", 1, State.WAIT_FOR_SIGNATURE),
        ("R1", 2, State.NOTIFY_REFUSED),
        ("R1", 3, State.FALLBACK_SUGGESTED),
    ]


def test_hooks_filter_by_target_outcome_and_trigger(engine: Engine) -> None:
    hooks = Hooks()
    by_target: list[int] = []
    by_trigger: list[int] = []
    errors: list[int] = []
    hooks.subscribe(lambda _f, r: by_target.append(r.seq), target=State.FALLBACK_SUGGESTED)
    hooks.subscribe(lambda _f, r: by_trigger.append(r.seq), trigger="notify")
    hooks.subscribe(lambda _f, r: errors.append(r.seq), outcome=Outcome.ERROR)
    driver = driver_with(hooks, *REFUSED_THEN_FALLBACK, engine=engine)
    asyncio.run(driver.advance(driver.new_flow("R1")))
    assert (by_target, by_trigger, errors) == ([3], [2], [])


def test_async_hooks_are_awaited_and_decorators_subscribe(engine: Engine) -> None:
    hooks, seen = Hooks(), []

    @hooks.on(target=State.NOTIFY_REFUSED)
    async def refused(flow: Flow, record: AuditRecord) -> None:
        await asyncio.sleep(0)
        seen.append((flow.refusal, record.reason))

    driver = driver_with(hooks, *REFUSED_THEN_FALLBACK, engine=engine)
    asyncio.run(driver.advance(driver.new_flow("R1")))
    assert seen == [("messages_disabled", "the citizen turned off messages from Firma con IO")]


def test_a_failing_hook_is_logged_and_the_flow_goes_on(engine: Engine) -> None:
    hooks, after = Hooks(), []

    def broken(_flow: Flow, _record: AuditRecord) -> None:
        raise RuntimeError("bug in a subscriber, fiscal code RSSMRA80A01H501U")

    hooks.subscribe(broken)
    hooks.subscribe(lambda _f, r: after.append(r.seq))
    driver = driver_with(hooks, *REFUSED_THEN_FALLBACK, engine=engine)
    flow = driver.new_flow("R1")
    with capture_logs() as logs:
        assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    failures = [e for e in logs if e["event"] == "fsm.hook_failed"]
    assert len(failures) == 3
    assert failures[0]["error"] == "RuntimeError"
    assert "broken" in failures[0]["hook"]
    assert "RSSMRA80A01H501U" not in str(failures)
    assert len(flow.history) == 3
    assert after == [1, 2, 3]  # the next hook still ran


def test_an_error_record_reaches_hooks_before_the_error_is_raised(engine: Engine) -> None:
    hooks, seen = Hooks(), []
    hooks.subscribe(lambda _f, r: seen.append(r.outcome), outcome=Outcome.ERROR)
    driver = driver_with(hooks, ApiUnavailable("down"), engine=engine)
    flow = driver.new_flow("R1")
    with pytest.raises(ApiUnavailable):
        asyncio.run(driver.advance(flow))
    assert seen == [Outcome.ERROR]


def test_unsubscribing_stops_the_calls(engine: Engine) -> None:
    hooks, seen = Hooks(), []
    unsubscribe = hooks.subscribe(lambda _f, r: seen.append(r.seq))
    unsubscribe()
    unsubscribe()  # twice is harmless
    driver = driver_with(hooks, *REFUSED_THEN_FALLBACK, engine=engine)
    asyncio.run(driver.advance(driver.new_flow("R1")))
    assert seen == []
    assert len(hooks) == 0
