"""Random sequences of triggers, answers and time never break a flow's invariants, whether the
flow is for an existing request (from READY) or from a PDF (from RECEIVED, the set-up)."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from firmaio.fsm import (
    TABLE,
    Answer,
    ApiError,
    Driver,
    FsmError,
    Observation,
    Outcome,
    State,
    TransitionNotAllowed,
    Trigger,
    fold,
)
from firmaio.fsm.diagrams.paths import entries
from firmaio.fsm.driving.inputs import next_document
from firmaio.fsm.machine.steps import DEFAULT_STEPS
from firmaio.fsm.testing import EXAMPLE_ORDER, LATE_GUARDS, ManualClock, ScriptedApi, witness
from firmaio.fsm.trail.chain import canonical
from tests.strategies import answers_or_errors

ROWS = {(r.source, r.trigger, r.target, r.guard_name) for r in TABLE}
FLOW_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


class FlowMachine(RuleBasedStateMachine):
    """One flow, one scripted API (both ports), one fake clock; Hypothesis picks where the flow
    starts and what happens."""

    def __init__(self) -> None:
        super().__init__()
        self.api = ScriptedApi()
        self.clock = ManualClock()
        self.driver = Driver(self.api, self.clock, setup=self.api)
        self.flow = self.driver.new_flow(FLOW_ID)
        self.attempts = 0

    @initialize(entry=st.sampled_from(entries()))
    def start(self, entry: State) -> None:
        if entry is State.RECEIVED:
            self.flow = self.driver.new_order_flow(FLOW_ID, EXAMPLE_ORDER)

    @rule(trigger=st.sampled_from(list(Trigger)), answer=answers_or_errors)
    def fire(self, trigger: Trigger, answer: Answer | ApiError) -> None:
        before_state, before_len = self.flow.state, len(self.flow.history)
        takes_input = DEFAULT_STEPS[trigger].takes_input
        if takes_input and not isinstance(answer, Answer):
            return  # the operator's word is an answer, never an error of the API
        self.api = ScriptedApi([answer] if DEFAULT_STEPS.call_of(trigger) is not None else [])
        self.driver.api = self.driver.setup = self.api  # a fresh script: nothing left over
        given = answer if takes_input and isinstance(answer, Answer) else None
        try:
            asyncio.run(self.driver.step(self.flow, trigger, given))
        except TransitionNotAllowed:
            assert (self.flow.state, len(self.flow.history)) == (before_state, before_len)
            assert self.api.calls == [], "a refused trigger called the API"
            return
        except ApiError as error:
            assert error.record is self.flow.history[-1]
            assert error.record.outcome is Outcome.ERROR
        except FsmError as error:  # documented, but none other is expected here
            raise AssertionError(f"unexpected {error!r}") from error
        self.attempts += 1
        assert len(self.api.calls) <= 1, "one trigger called the API twice"

    @rule(data=st.data())
    def follow_a_row(self, data: st.DataObject) -> None:
        """Fire a row of the current state with its witness, so the flow goes deep (random
        answers alone rarely get a set-up past its first steps)."""
        rows = [r for r in TABLE if r.source is self.flow.state]
        if not rows:
            return
        if self.flow.order is None or not next_document(self.flow):  # the loop needs a next one
            rows = [r for r in rows if r.guard_name != "another_document_to_upload"]
        row = data.draw(st.sampled_from(rows))
        answer = witness(row.guard) if row.guard is not None else None
        takes_input = DEFAULT_STEPS[row.trigger].takes_input
        self.api = ScriptedApi([answer] if answer is not None and not takes_input else [])
        self.driver.api = self.driver.setup = self.api
        if row.guard in LATE_GUARDS:
            self.clock.advance(max(0.0, self.flow.deadline() - self.clock.now()))
        now, deadline = self.clock.now(), self.flow.deadline()
        holds = row.guard is None or row.guard(Observation(answer, now, deadline))
        record = asyncio.run(
            self.driver.step(self.flow, row.trigger, answer if takes_input else None)
        )
        self.attempts += 1
        if not holds and row.guard_name == "waits_in_an_unknown_status":
            # past the deadline an unknown status matches no row: refused, and the flow stays
            assert (record.outcome, self.flow.state) == (Outcome.REFUSED, row.source)
            return
        assert record.outcome is Outcome.ACCEPTED
        if holds and self.api.remaining == 0:  # not past a deadline, nor an upload without URL
            assert (record.target, record.guard) == (row.target, row.guard_name)

    @rule(seconds=st.floats(min_value=0, max_value=200))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def every_attempt_has_one_record(self) -> None:
        assert len(self.flow.history) == self.attempts
        assert [r.seq for r in self.flow.history] == list(range(1, self.attempts + 1))

    @invariant()
    def the_state_is_the_fold_of_the_records(self) -> None:
        assert fold(self.flow.history, self.flow.initial) is self.flow.state
        if self.flow.history:
            assert fold(self.flow.history) is self.flow.state
        assert isinstance(self.flow.state, State)

    @invariant()
    def a_restored_flow_knows_the_same(self) -> None:
        flow = self.flow
        engine = self.driver.engine
        restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
        if flow.history:
            assert (restored.state, restored.initial) == (flow.state, flow.initial)
            assert restored.facts == flow.facts
            assert restored.order == flow.order
            assert restored.request_id == flow.request_id

    @invariant()
    def no_fiscal_code_nor_upload_url_is_recorded(self) -> None:
        for record in self.flow.history:
            stored = canonical(record)
            assert "RSSMRA80A01H501U" not in stored
            assert "blob.example" not in stored

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
