"""Each trigger's step is declared once; everything else about triggers is derived from it."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import replace

import pytest

from firmaio.fsm import (
    STEPS,
    TABLE,
    Answer,
    ApiCall,
    Driver,
    Engine,
    InvalidDefinition,
    Outcome,
    Row,
    State,
    Step,
    Steps,
    Trigger,
)
from firmaio.fsm import guards as g
from firmaio.fsm.audit import from_event_dict
from firmaio.fsm.render import to_mermaid
from firmaio.fsm.steps import DEFAULT_STEPS, RESTING
from firmaio.fsm.testing import ManualClock, ScriptedApi

REQUEST_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_the_built_in_steps_derive_what_the_driver_and_stores_use() -> None:
    steps = DEFAULT_STEPS
    assert {s.trigger: s.call for s in STEPS} == {
        Trigger.CHECK_ACTIVATION: ApiCall.READ_STATUS,
        Trigger.NOTIFY: ApiCall.SEND_NOTIFICATION,
        Trigger.SUGGEST_FALLBACK: None,
        Trigger.CHECK_STATUS: ApiCall.READ_STATUS,
        Trigger.CANCEL: ApiCall.CANCEL_REQUEST,
        Trigger.RECOVER_NOTIFICATION: ApiCall.GET_REQUEST,
    }
    assert dict(steps.next_step) == {
        State.READY: Trigger.CHECK_ACTIVATION,
        State.WAIT_FOR_SIGNATURE: Trigger.NOTIFY,
        State.NOTIFY_REFUSED: Trigger.SUGGEST_FALLBACK,
    }
    assert steps.driven == {State.READY, State.WAIT_FOR_SIGNATURE, State.NOTIFY_REFUSED}
    assert steps.resting == RESTING == set(State) - steps.driven
    assert {
        State.NOTIFIED,
        State.FALLBACK_SUGGESTED,
        State.SIGNED,
        State.REJECTED,
        State.CANCELLED,
        State.FAILED,
        State.EXPIRED,
    } == RESTING
    assert steps.intent_opener is Trigger.NOTIFY
    assert steps.recovery is Trigger.RECOVER_NOTIFICATION
    assert steps.closes_intent(Trigger.NOTIFY)
    assert steps.closes_intent(Trigger.RECOVER_NOTIFICATION)
    assert not steps.closes_intent(Trigger.CHECK_STATUS)


def _without(trigger: str) -> tuple[Step, ...]:
    return tuple(s for s in STEPS if s.trigger != trigger)


@pytest.mark.parametrize(
    ("table", "steps", "problem"),
    [
        (TABLE, _without(Trigger.CANCEL), "trigger cancel has rows but no step declares it"),
        (
            [r for r in TABLE if r.trigger != Trigger.CANCEL],
            STEPS,
            "step cancel is declared but the table has no row for it",
        ),
        (
            TABLE,
            (
                *_without(Trigger.CANCEL),
                Step(Trigger.CANCEL, ApiCall.CANCEL_REQUEST, frozenset({State.SIGNED})),
            ),
            "the driver fires cancel from SIGNED, but no row leaves SIGNED by cancel",
        ),
        (
            TABLE,
            (
                *_without(Trigger.CHECK_STATUS),
                Step(Trigger.CHECK_STATUS, None, frozenset({State.READY})),
            ),
            "the driver would fire check_activation and check_status from READY",
        ),
        (
            [replace(r, reason=None) if r.target is State.FAILED else r for r in TABLE],
            STEPS,
            "ends the flow but gives no reason",
        ),
    ],
    ids=["rows-without-step", "step-without-rows", "fired-without-row", "two-steps", "no-reason"],
)
def test_a_table_and_steps_that_disagree_are_refused(
    table: list[Row], steps: tuple[Step, ...], problem: str
) -> None:
    with pytest.raises(InvalidDefinition, match=problem):
        Engine(table, steps)


def test_step_declarations_are_checked_on_their_own() -> None:
    with pytest.raises(InvalidDefinition, match="recovers an intent but does not read"):
        Steps(
            (*_without(Trigger.RECOVER_NOTIFICATION), replace(STEPS[5], call=ApiCall.READ_STATUS))
        )
    with pytest.raises(InvalidDefinition, match="opens an intent, but no step recovers it"):
        Steps(_without(Trigger.RECOVER_NOTIFICATION))
    with pytest.raises(InvalidDefinition, match="declared by more than one step"):
        Steps((*STEPS, STEPS[0]))


# -- a table of one's own: one extra trigger, added by rows and one step, nothing else --------


class Extra(enum.StrEnum):
    """Triggers of an administration's own table."""

    OFFER_FALLBACK = "offer_fallback"
    """Skip the IO message: hand the citizen the link and QR code straight away."""
    REMIND = "remind"
    """Re-read a notified request (a reminder letter is the administration's own business)."""


def _signed(_answer: Answer) -> str:
    return "signed"


_WAIT, _FALLBACK = State.WAIT_FOR_SIGNATURE, State.FALLBACK_SUGGESTED
EXTRA_ROWS = (
    Row(_WAIT, Extra.OFFER_FALLBACK, _FALLBACK, None, ("page.fallback",)),
    Row(State.NOTIFIED, Extra.REMIND, State.NOTIFIED, g.is_still_open, ("api.polling",)),
    Row(State.NOTIFIED, Extra.REMIND, State.SIGNED, g.is_signed, ("api.closed",), _signed),
)
EXTRA_STEPS = (
    *(replace(s, fired_from=frozenset()) if s.trigger is Trigger.NOTIFY else s for s in STEPS),
    Step(Extra.OFFER_FALLBACK, None, frozenset({State.WAIT_FOR_SIGNATURE})),
    Step(Extra.REMIND, ApiCall.GET_REQUEST),
)


@pytest.fixture
def extended() -> Engine:
    return Engine((*TABLE, *EXTRA_ROWS), EXTRA_STEPS)


def test_an_extra_trigger_is_driven_from_its_declared_state(extended: Engine) -> None:
    """The driver fires the new step from WAIT_FOR_SIGNATURE; no notification is sent."""
    api = ScriptedApi([Answer.request("WAIT_FOR_SIGNATURE")])
    driver = Driver(api, ManualClock(), engine=extended)
    flow = driver.new_flow(REQUEST_ID)
    assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
    assert [r.trigger for r in flow.history] == [Trigger.CHECK_ACTIVATION, Extra.OFFER_FALLBACK]
    assert api.calls == [("get_request", REQUEST_ID)]
    assert extended.steps.driven == {State.READY, State.WAIT_FOR_SIGNATURE, State.NOTIFY_REFUSED}


def test_an_extra_trigger_makes_its_declared_call_and_gives_its_rows_reason(
    extended: Engine,
) -> None:
    api = ScriptedApi([Answer.sent("01G7VBM888NDGCMA84ZVZYJGZQ"), Answer.request("SIGNED")])
    driver = Driver(api, ManualClock(), engine=extended)
    flow = driver.new_flow(REQUEST_ID)
    flow.state = State.WAIT_FOR_SIGNATURE  # start past activation: only the new rows matter here
    asyncio.run(driver.step(flow, Trigger.NOTIFY))
    record = asyncio.run(driver.step(flow, "remind"))
    assert api.calls[-1] == ("get_request", REQUEST_ID)
    assert (record.trigger, record.target) == ("remind", State.SIGNED)
    assert record.outcome is Outcome.ACCEPTED
    assert record.reason == "signed"
    assert from_event_dict(record.as_event_dict()) == record  # stored and read back as it was
    assert "remind [is_still_open]" in to_mermaid(extended.table)


def test_the_built_in_engine_knows_nothing_of_the_extra_trigger() -> None:
    flow = Engine().new_flow(REQUEST_ID, now=0)
    with pytest.raises(Exception, match="unknown trigger 'remind'"):
        Engine().fire(flow, "remind", Answer.request("SIGNED"), now=1)
    assert flow.history == []
    assert flow.state is State.READY
