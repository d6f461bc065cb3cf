"""fsm.testing.flow_in: a flow in any state, with the valid history that brought it there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from firmaio.fsm import Answer, Driver, Engine, Flow, InvalidInput, State, Trigger, fold
from firmaio.fsm.testing import ScriptedApi, flow_in


@pytest.mark.parametrize("state", list(State))
def test_every_state_can_be_reached_with_a_valid_history(state: State, engine: Engine) -> None:
    flow = flow_in(state, engine=engine)
    assert flow.state is state
    assert fold(flow.history) is state
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
    assert (restored.state, restored.refusal, restored.failure) == (
        flow.state,
        flow.refusal,
        flow.failure,
    )


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
    with pytest.raises(InvalidInput, match="no guard named 'nope'"):
        firmaio_answer("nope")
