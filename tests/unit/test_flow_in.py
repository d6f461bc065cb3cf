"""fsm.testing.flow_in: a flow in any state, with the valid history that brought it there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from firmaio.fsm import (
    STEPS,
    TABLE,
    Answer,
    Driver,
    Engine,
    Flow,
    InvalidInput,
    State,
    Trigger,
    fold,
)
from firmaio.fsm.diagrams.paths import path_to
from firmaio.fsm.machine.answers import document_answer
from firmaio.fsm.machine.states import SETUP_ONLY
from firmaio.fsm.testing import EXAMPLE_ORDER, ScriptedApi, flow_in, witness


@pytest.mark.parametrize("state", list(State))
def test_every_state_can_be_reached_with_a_valid_history(state: State, engine: Engine) -> None:
    flow = flow_in(state, engine=engine)
    assert flow.state is state
    assert fold(flow.history, flow.initial) is state
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history, initial=flow.initial)
    assert (restored.state, restored.refusal, restored.failure) == (
        flow.state,
        flow.refusal,
        flow.failure,
    )
    assert (restored.initial, restored.facts) == (flow.initial, flow.facts)
    # the order is on the first record: a flow from a PDF with none yet has it in memory only
    assert restored.order == (flow.order if flow.history else None)


@pytest.mark.parametrize("state", sorted(SETUP_ONLY))
def test_a_set_up_state_is_reached_from_a_pdf(state: State, engine: Engine) -> None:
    """A state of the issuer's set-up is reached by a flow from EXAMPLE_ORDER, from RECEIVED;
    a state of the spine by a flow for an existing request, from READY."""
    flow = flow_in(state, engine=engine)
    assert (flow.initial, flow.order) == (State.RECEIVED, EXAMPLE_ORDER)
    assert flow.history == [] or flow.history[0].source is State.RECEIVED
    assert flow_in(State.NOTIFIED, engine=engine).initial is State.READY
    assert flow_in(State.READY, engine=engine).history == []


def test_a_flow_waiting_for_validation_fails_at_its_own_deadline(
    engine: Engine, driver: Driver, api: ScriptedApi
) -> None:
    """flow_in gives a flow in DOCUMENT_UPLOADED whose deadline is the validation's, counted
    from when the upload was recorded."""
    flow = flow_in(State.DOCUMENT_UPLOADED, engine=engine)
    assert flow.order is not None
    assert flow.entered_at is not None
    assert flow.deadline() == flow.entered_at + flow.order.validation_timeout
    late = flow.deadline()
    engine.fire(
        flow, Trigger.CHECK_VALIDATION, document_answer("WAIT_FOR_VALIDATION"), now=late - 1
    )
    assert flow.state is State.DOCUMENT_UPLOADED
    engine.fire(flow, Trigger.CHECK_VALIDATION, document_answer("WAIT_FOR_VALIDATION"), now=late)
    assert flow.state is State.FAILED


def test_a_state_a_table_cannot_reach_is_named() -> None:
    """A table of one's own without the set-up has no flow in RECEIVED's successors."""
    rows = [row for row in TABLE if row.source not in SETUP_ONLY]
    spine_only = Engine(rows, [s for s in STEPS if s.trigger in {r.trigger for r in rows}])
    with pytest.raises(InvalidInput, match=r"no path of the table leads .* to SIGNER_FOUND"):
        flow_in(State.SIGNER_FOUND, engine=spine_only)


def test_a_flow_in_fallback_has_its_fallback_and_goes_on(
    engine: Engine, driver: Driver, api: ScriptedApi
) -> None:
    flow = flow_in("FALLBACK_SUGGESTED", "R7", engine=engine)
    assert flow.fallback is not None
    api.script(Answer.sent("M1"))
    asyncio.run(driver.step(flow, Trigger.NOTIFY))
    assert (flow.state, flow.io_message_id) == (State.NOTIFIED, "M1")


def test_an_unknown_state_is_named() -> None:
    with pytest.raises(InvalidInput, match="no state 'LIMBO'"):
        flow_in("LIMBO")


def test_the_plugin_serves_the_same(
    firmaio_flow_in: Callable[..., Flow], firmaio_answer: Callable[[str], Answer]
) -> None:
    """The pytest plugin's fixtures, as a suite of yours would use them."""
    assert firmaio_flow_in("NOTIFIED").io_message_id is not None
    assert firmaio_answer("citizen_disabled_messages") == Answer.messages_disabled()
    assert firmaio_answer("signer_was_found").fact("signer_id")
    assert firmaio_flow_in("DOCUMENT_UPLOADED").initial is State.RECEIVED
    with pytest.raises(InvalidInput, match="no guard named 'nope'"):
        firmaio_answer("nope")


def test_a_flow_from_a_pdf_marked_ready_fails_at_its_own_activation_deadline(
    engine: Engine,
) -> None:
    """Once the set-up marks it READY, a flow from a PDF waits for activation from then on, for
    its order's activation_timeout, not from when the flow was made."""
    flow = engine.new_order_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", EXAMPLE_ORDER, now=1000.0)
    at = 1000.0
    for row in path_to(State.READY):
        at += 500.0  # a slow set-up: far past the flow's own first deadline
        engine.fire(flow, row.trigger, witness(row.guard), now=at)
    assert flow.state is State.READY
    assert flow.deadline() == at + EXAMPLE_ORDER.activation_timeout
    still = engine.fire(flow, Trigger.CHECK_ACTIVATION, Answer.request("READY"), now=at + 1)
    assert (still.target, still.guard) == (State.READY, "is_still_ready")
    late = engine.fire(flow, Trigger.CHECK_ACTIVATION, Answer.request("READY"), now=flow.deadline())
    assert (late.target, late.guard) == (State.FAILED, "activation_deadline_passed")
