"""Random sequences of triggers, answers and time never break a flow's invariants."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmaio.fsm import (
    TABLE,
    Answer,
    ApiError,
    Driver,
    FsmError,
    Outcome,
    State,
    TransitionNotAllowed,
    Trigger,
    fold,
)
from firmaio.fsm.steps import CALL_OF
from firmaio.fsm.testing import ManualClock, ScriptedApi
from tests.strategies import answers_or_errors

ROWS = {(r.source, r.trigger, r.target, r.guard_name) for r in TABLE}


class FlowMachine(RuleBasedStateMachine):
    """One flow, one scripted API, one fake clock; Hypothesis picks what happens."""

    def __init__(self) -> None:
        super().__init__()
        self.api = ScriptedApi()
        self.clock = ManualClock()
        self.driver = Driver(self.api, self.clock)
        self.flow = self.driver.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV")
        self.attempts = 0

    @rule(trigger=st.sampled_from(list(Trigger)), answer=answers_or_errors)
    def fire(self, trigger: Trigger, answer: Answer | ApiError) -> None:
        before_state, before_len = self.flow.state, len(self.flow.history)
        if CALL_OF[trigger] is not None:
            self.api.script(answer)
        calls_before = len(self.api.calls)
        try:
            asyncio.run(self.driver.step(self.flow, trigger))
        except TransitionNotAllowed:
            assert (self.flow.state, len(self.flow.history)) == (before_state, before_len)
            assert len(self.api.calls) == calls_before, "a refused trigger called the API"
            if CALL_OF[trigger] is not None:
                self.api = ScriptedApi()  # drop the unused answer
                self.driver.api = self.api
            return
        except ApiError as error:
            assert error.record is self.flow.history[-1]
            assert error.record.outcome is Outcome.ERROR
        except FsmError as error:  # documented, but none other is expected here
            raise AssertionError(f"unexpected {error!r}") from error
        self.attempts += 1
        assert len(self.api.calls) - calls_before <= 1, "one trigger called the API twice"

    @rule(seconds=st.floats(min_value=0, max_value=200))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def every_attempt_has_one_record(self) -> None:
        assert len(self.flow.history) == self.attempts
        assert [r.seq for r in self.flow.history] == list(range(1, self.attempts + 1))

    @invariant()
    def the_state_is_the_fold_of_the_records(self) -> None:
        assert fold(self.flow.history) is self.flow.state
        assert isinstance(self.flow.state, State)

    @invariant()
    def accepted_records_are_rows_of_the_table(self) -> None:
        for record in self.flow.history:
            if record.outcome is Outcome.ACCEPTED:
                assert (record.source, record.trigger, record.target, record.guard) in ROWS
            else:
                assert record.source == record.target


FlowMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFlowMachine = FlowMachine.TestCase
