"""When a flow is next due (:func:`firmaio.fsm.driving.due.due_at`): never once closed, at once
while it needs driving or has an open intent, the backoff's next poll while a request is still
waiting, a refused step ``retry_after`` later, the later attempt after a passing refusal, and
``watch_every`` after the last record at rest."""

from __future__ import annotations

import pytest

from firmaio.fsm import (
    Answer,
    ApiUnavailable,
    InvalidInput,
    Outcome,
    State,
    Trigger,
    default_engine,
)
from firmaio.fsm.driving.due import DuePolicy, due_at
from firmaio.fsm.driving.resend import ResendPolicy
from firmaio.fsm.driving.waits import PollingPolicy
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import flow_in, witness

ENGINE = default_engine()
POLICY = DuePolicy(
    ResendPolicy(delays=(5.0, 30.0)), PollingPolicy(0.25, 2.0, 1.0), watch_every=600.0,
    retry_after=30.0,
)  # fmt: skip


def due(flow: object, **kwargs: object) -> float | None:
    return due_at(ENGINE, POLICY, flow.state, flow.history, since=1.0, **kwargs)  # type: ignore[attr-defined]


def test_a_closed_flow_is_never_due() -> None:
    for state in (State.SIGNED, State.CANCELLED, State.FAILED, State.DOCUMENT_REFUSED):
        assert due(flow_in(state)) is None


def test_a_new_flow_is_due_at_once_but_one_from_a_pdf_only_by_its_send() -> None:
    assert due(flow_in(State.READY)) == 1.0
    assert due(flow_in(State.RECEIVED)) is None


def test_a_flow_that_needs_driving_is_due_at_its_last_record() -> None:
    flow = flow_in(State.WAIT_FOR_SIGNATURE)
    assert due(flow) == flow.history[-1].decided_at


def test_a_request_still_waiting_is_due_at_the_backoff_s_next_poll() -> None:
    flow = flow_in(State.READY)
    at = 1_800_000_010.0
    delays = []
    for n in range(4):
        ENGINE.fire(flow, Trigger.CHECK_ACTIVATION, witness(g.is_still_ready), now=at + n)
        delays.append(due(flow) - (at + n))  # type: ignore[operator]
    assert delays == [0.25, 0.5, 1.0, 1.0]


def test_a_refused_or_failed_step_is_due_retry_after_later() -> None:
    flow = flow_in(State.READY)
    record = ENGINE.fire(flow, Trigger.CHECK_ACTIVATION, Answer.sent("X"), now=5.0)
    assert record.outcome is Outcome.REFUSED
    assert due(flow) == 35.0
    record = ENGINE.fire(flow, Trigger.CHECK_ACTIVATION, ApiUnavailable("timed out"), now=9.0)
    assert record.outcome is Outcome.ERROR
    assert due(flow) == 39.0


def test_an_open_intent_is_due_at_once() -> None:
    flow = flow_in(State.NOTIFIED)
    assert due(flow, intent="notify", intent_at=flow.history[-1].decided_at + 3) == (
        flow.history[-1].decided_at + 3
    )


def test_a_passing_refusal_is_tried_again_then_watched() -> None:
    flow = flow_in(State.WAIT_FOR_SIGNATURE)
    at = flow.history[-1].decided_at
    refused = witness(g.io_did_not_take_the_message)
    ENGINE.fire(flow, Trigger.NOTIFY, refused, now=at + 1)
    ENGINE.fire(flow, Trigger.SUGGEST_FALLBACK, None, now=at + 1)
    assert flow.state is State.FALLBACK_SUGGESTED
    assert due(flow) == at + 1 + 5.0
    ENGINE.fire(flow, Trigger.NOTIFY, refused, now=at + 10)
    ENGINE.fire(flow, Trigger.SUGGEST_FALLBACK, None, now=at + 10)
    assert due(flow) == at + 10 + 30.0
    ENGINE.fire(flow, Trigger.NOTIFY, refused, now=at + 50)
    ENGINE.fire(flow, Trigger.SUGGEST_FALLBACK, None, now=at + 50)
    assert due(flow) == at + 50 + 600.0, "no later attempt left: watched"


def test_a_flow_at_rest_is_watched_every_watch_every_or_never() -> None:
    flow = flow_in(State.NOTIFIED)
    last = flow.history[-1].decided_at
    assert due(flow) == last + 600.0
    never = DuePolicy(watch_every=None)
    assert due_at(ENGINE, never, flow.state, flow.history, since=0.0) is None


def test_a_policy_of_negative_seconds_is_refused() -> None:
    with pytest.raises(InvalidInput, match="watch_every"):
        DuePolicy(watch_every=-1.0)


def test_a_signed_flow_whose_documents_are_collected_is_due_until_they_are() -> None:
    """Where documents are collected on their own, a SIGNED flow is due at once, a failed
    fetch is due again after the policy's delay, and a collected one never; elsewhere a SIGNED
    flow is never due."""
    from firmaio.fsm.driving import CollectPolicy
    from firmaio.fsm.machine import Kind, answer_of

    collecting = DuePolicy(collect=CollectPolicy(delays=(600.0,)))
    flow = flow_in(State.SIGNED)
    signed_at = flow.history[-1].decided_at

    def collect_due() -> float | None:
        return due_at(ENGINE, collecting, flow.state, flow.history, since=1.0)

    assert due(flow) is None
    assert collect_due() == signed_at
    ENGINE.fire(flow, Trigger.FETCH_DOCUMENTS, ApiUnavailable("a 503"), now=signed_at + 5)
    assert collect_due() == signed_at + 5 + 600.0
    fetched = answer_of(Kind.FETCHED, 200, **{"signed.d1.file": "/srv/r/d1.pdf"})
    ENGINE.fire(flow, Trigger.FETCH_DOCUMENTS, fetched, now=signed_at + 700)
    assert flow.history[-1].outcome is Outcome.ACCEPTED
    assert collect_due() is None
