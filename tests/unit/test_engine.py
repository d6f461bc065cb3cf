"""The engine fires triggers by the table, records every attempt, and changes nothing on error."""

from __future__ import annotations

import pytest
import structlog
from structlog.testing import capture_logs

from firmaio.fsm import (
    TABLE,
    Answer,
    ApiUnavailable,
    Engine,
    InvalidInput,
    InvalidRequestId,
    Outcome,
    State,
    TransitionNotAllowed,
    Trigger,
    fold,
)
from firmaio.fsm.diagrams.paths import loops, paths
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine.states import SETUP_ONLY
from firmaio.fsm.machine.table import Row
from firmaio.fsm.testing import ManualClock, witness
from firmaio.fsm.trail.record import LOGGED_FIELDS, OPTIONAL_FIELDS, STORED_FIELDS
from tests.helpers import START, answer_for, fire_rows, flow_at, now_for, prefix_to


def test_the_machine_holds_exactly_the_table(engine: Engine) -> None:
    """The transitions Machine is built from the table, row for row; a row that keeps the state
    is an internal transition (no exit, no entry)."""
    held = [
        (t.source, t.source if t.dest is None else t.dest, trigger)
        for trigger, event in engine.machine.events.items()
        for source_rows in event.transitions.values()
        for t in source_rows
    ]
    expected = [(str(r.source), str(r.target), str(r.trigger)) for r in TABLE]
    assert sorted(held) == sorted(expected)
    internal = {
        (t.source, trigger)
        for trigger, event in engine.machine.events.items()
        for source_rows in event.transitions.values()
        for t in source_rows
        if t.dest is None
    }
    assert internal == {(str(r.source), str(r.trigger)) for r in TABLE if r.source is r.target}


def test_paths_and_loops_cover_every_row() -> None:
    """Every row of the table is on some enumerated path or loop, so replaying them covers all."""
    covered = {row for path in [*paths(), *loops()] for row in path}
    assert covered == set(TABLE)


@pytest.mark.parametrize(
    "row", TABLE, ids=lambda r: f"{r.source}-{r.trigger}-{r.guard_name or 'always'}"
)
def test_every_row_through_the_real_engine(engine: Engine, row: Row) -> None:
    """From its source, each row's trigger and witness answer lead to its target and guard (a
    row of the issuer's set-up on a flow from a PDF, started in RECEIVED)."""
    flow = flow_at(engine, row.source)
    assert flow.initial is (State.RECEIVED if row.source in SETUP_ONLY else State.READY)
    record = engine.fire(flow, row.trigger, answer_for(row), now=now_for(row, flow))
    assert (record.outcome, record.source, record.target, record.guard) == (
        Outcome.ACCEPTED,
        row.source,
        row.target,
        row.guard_name,
    )
    assert flow.state is row.target


def test_a_trigger_not_allowed_names_state_and_trigger_and_changes_nothing(engine: Engine) -> None:
    """Notifying a READY flow is refused before anything happens."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    with pytest.raises(TransitionNotAllowed) as caught:
        engine.fire(flow, Trigger.NOTIFY, Answer.sent("m"), now=START)
    assert caught.value.state == State.READY
    assert caught.value.trigger == Trigger.NOTIFY
    assert "'notify' is not allowed in state READY" in str(caught.value)
    assert "check_activation" in str(caught.value)
    assert (flow.state, flow.history) == (State.READY, [])


@pytest.mark.parametrize(
    ("trigger", "answer", "message"),
    [
        ("sign_it", None, "unknown trigger 'sign_it'"),
        (Trigger.CHECK_ACTIVATION, None, "needs the answer of read_status"),
        (
            Trigger.CHECK_ACTIVATION,
            {"status": "READY"},
            "answer must be an Answer or an ApiError, got dict",
        ),
    ],
)
def test_bad_input_is_named_and_changes_nothing(
    engine: Engine, trigger: str, answer: object, message: str
) -> None:
    """Unknown triggers and unusable answers raise InvalidInput; the flow is untouched."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    with pytest.raises(InvalidInput, match=message):
        engine.fire(flow, trigger, answer, now=START)  # type: ignore[arg-type]
    assert (flow.state, flow.history) == (State.READY, [])


def test_a_trigger_without_call_takes_no_answer(engine: Engine) -> None:
    """suggest_fallback makes no API call, so an answer for it is a mistake."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, prefix_to(State.NOTIFY_REFUSED))
    with pytest.raises(InvalidInput, match="makes no API call"):
        engine.fire(flow, Trigger.SUGGEST_FALLBACK, Answer.sent("m"), now=START)
    assert flow.state is State.NOTIFY_REFUSED


@pytest.mark.parametrize(
    "bad", ["", "a/b", "../x", "id with space", "id?x=1", "x#y", "tab\tid", "\x00", 7]
)
def test_bad_request_ids_are_refused(engine: Engine, bad: object) -> None:
    """Ids unsafe in a URL path never make a flow."""
    with pytest.raises(InvalidRequestId, match="signature request id"):
        engine.new_flow(bad, now=START)  # type: ignore[arg-type]


def test_api_error_is_recorded_and_changes_nothing(engine: Engine) -> None:
    """An ApiError becomes an ERROR record; the state stays."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    record = engine.fire(
        flow, Trigger.CHECK_ACTIVATION, ApiUnavailable("connect timeout"), now=START
    )
    assert (record.outcome, record.source, record.target) == (
        Outcome.ERROR,
        State.READY,
        State.READY,
    )
    assert record.detail == "connect timeout"
    assert flow.state is State.READY
    assert flow.history == [record]


def test_an_answer_no_guard_accepts_is_recorded_as_refused(engine: Engine) -> None:
    """An unknown status after activation is tolerated: recorded, state unchanged."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, prefix_to(State.NOTIFIED))
    record = engine.fire(flow, Trigger.CHECK_STATUS, Answer.request("WAIT_FOR_QTSP"), now=START + 5)
    assert record.outcome is Outcome.REFUSED
    assert record.request_status == "WAIT_FOR_QTSP"
    assert all(held is False for _, held in record.guards)
    assert "WAIT_FOR_QTSP" in (record.reason or "")
    assert flow.state is State.NOTIFIED


def test_a_guard_that_raises_leaves_no_half_applied_transition() -> None:
    """If a guard raises, the flow keeps its state and gets no record."""

    def explodes(_obs: object) -> bool:
        raise RuntimeError("boom")

    rows = [
        Row(r.source, r.trigger, r.target, explodes, r.basis)
        if r.guard_name == "is_waiting_for_signature"
        else r
        for r in TABLE
    ]
    engine = Engine(rows)
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    with pytest.raises(RuntimeError, match="boom"):
        engine.fire(flow, Trigger.CHECK_ACTIVATION, Answer.request("WAIT_FOR_SIGNATURE"), now=START)
    assert (flow.state, flow.history) == (State.READY, [])


def test_many_flows_share_one_machine_without_registering(engine: Engine) -> None:
    """Flows are driven without add_model: the machine's model list stays empty."""
    flows = [engine.new_flow(f"01ARZ3NDEKTSV4RRFFQ69G{i:04d}", now=START) for i in range(500)]
    for flow in flows:
        engine.fire(flow, Trigger.CHECK_ACTIVATION, Answer.request("WAIT_FOR_SIGNATURE"), now=START)
    assert engine.machine.models == []
    assert {flow.state for flow in flows} == {State.WAIT_FOR_SIGNATURE}


def test_flow_learns_from_its_records_and_restores_identically(engine: Engine) -> None:
    """A flow rebuilt from its records has the same state and the same knowledge."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, prefix_to(State.FALLBACK_SUGGESTED))
    restored = engine.restore(flow.id, flow.activation_deadline, flow.history)
    assert restored.state is flow.state is State.FALLBACK_SUGGESTED
    assert (restored.qr_code_url, restored.refusal) == (flow.qr_code_url, flow.refusal)
    assert restored.fallback == flow.fallback
    assert restored.fallback is not None
    assert fold(flow.history) is flow.state


def test_fold_refuses_a_trail_that_is_not_one_history(engine: Engine) -> None:
    """Dropping a record breaks the fold: the next one does not start where it should."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, prefix_to(State.NOTIFIED))
    with pytest.raises(ValueError, match="starts in WAIT_FOR_SIGNATURE, not in READY"):
        fold(flow.history[1:])


def test_each_record_is_one_flat_structlog_event(engine: Engine) -> None:
    """Every attempt is logged once, with flat fields and the outcome in the event name."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    with capture_logs() as logs:
        engine.fire(flow, Trigger.CHECK_ACTIVATION, Answer.request("WAIT_FOR_SIGNATURE"), now=START)
        engine.fire(flow, Trigger.NOTIFY, ApiUnavailable("502"), now=START)
        engine.fire(flow, Trigger.NOTIFY, Answer.request("EXPIRED"), now=START)
    assert [entry["event"] for entry in logs] == [
        "fsm.transition",
        "fsm.transition_failed",
        "fsm.transition_refused",
    ]
    assert [entry["seq"] for entry in logs] == [1, 2, 3]
    for entry in logs:
        assert entry["flow_id"] == flow.id
        assert all(not isinstance(v, dict | list | tuple) for v in entry.values())
    assert logs[0]["guard"] == "is_waiting_for_signature"
    assert logs[0]["request_status"] == "WAIT_FOR_SIGNATURE"
    assert logs[1]["reason"] == "no usable answer from the API (ApiUnavailable)"
    assert "guard" not in logs[2]
    assert logs[2]["reason"] == (
        "no guard held for the answer (request EXPIRED): a status the table does not know; the "
        "flow stays open"
    )


def test_fiscal_codes_never_reach_records_or_logs(engine: Engine) -> None:
    """A problem detail that quotes a fiscal code is masked before it is recorded or logged."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, prefix_to(State.WAIT_FOR_SIGNATURE))
    leaky = Answer.refused(422, 'Invalid value "RSSMRA80A01H501U" supplied to : fiscal_code')
    with capture_logs() as logs:
        record = engine.fire(flow, Trigger.NOTIFY, leaky, now=START)
    assert "RSSMRA80A01H501U" not in repr(record)
    assert "RSSMRA80A01H501U" not in repr(logs)
    assert "[fiscal-code]" in (record.detail or "")
    assert flow.state is State.FAILED
    assert "RSSMRA80A01H501U" not in (flow.failure or "")


def test_a_record_cannot_be_changed_once_made(engine: Engine) -> None:
    """The audit record a fire returns is the one on the flow, and nothing can rewrite it."""
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    record = engine.fire(
        flow, Trigger.CHECK_ACTIVATION, Answer.request("WAIT_FOR_SIGNATURE"), now=START
    )
    with pytest.raises(AttributeError):
        record.target = State.SIGNED  # type: ignore[misc]
    assert flow.history == [record]
    assert fold(flow.history) is State.WAIT_FOR_SIGNATURE


def test_the_log_event_and_the_stored_record_derive_from_one_field_list(engine: Engine) -> None:
    """What is logged is a subset of what is stored, with the same values; nothing is missed."""
    clock = ManualClock()
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=clock.now())
    with capture_logs() as events:
        records = [
            engine.fire(flow, Trigger.CHECK_ACTIVATION, witness(g.is_still_ready), now=1),
            engine.fire(flow, Trigger.CHECK_ACTIVATION, witness(g.is_waiting_for_signature), now=2),
            engine.fire(flow, Trigger.NOTIFY, witness(g.citizen_disabled_messages), now=3),
            engine.fire(flow, Trigger.SUGGEST_FALLBACK, now=4, actor="worker-1"),
        ]
    assert set(STORED_FIELDS) > set(LOGGED_FIELDS)
    for record, event in zip(records, events, strict=True):
        stored, logged = record.as_event_dict(), record.log_fields()
        unset = {name for name in OPTIONAL_FIELDS if getattr(record, name) is None}
        assert set(stored) == set(STORED_FIELDS) - unset
        assert logged == {k: v for k, v in stored.items() if k in LOGGED_FIELDS and v is not None}
        assert {k: v for k, v in event.items() if k not in ("event", "log_level")} == logged
    assert records[2].reason == "the citizen turned off messages from Firma con IO"


def test_a_logger_structlog_caches_gets_every_event_with_the_record_fields() -> None:
    """With ``cache_logger_on_first_use`` (the engine then keeps the cached logger's method),
    every fire still reaches the configured processors, each event the record's log fields."""
    seen: list[dict[str, object]] = []

    def keep(_logger: object, _name: str, event: dict[str, object]) -> dict[str, object]:
        seen.append(dict(event))
        raise structlog.DropEvent

    structlog.configure(processors=[keep], cache_logger_on_first_use=True)
    try:
        engine = Engine()
        flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
        still = Answer.request("WAIT_FOR_SIGNATURE")
        records = [
            engine.fire(flow, Trigger.CHECK_ACTIVATION, still, now=START),
            engine.fire(flow, Trigger.NOTIFY, Answer.sent("01J0000000000000000000MSG1"), now=1),
            engine.fire(flow, Trigger.CHECK_STATUS, still, now=2, actor="worker-1"),
        ]
    finally:
        structlog.reset_defaults()
    assert [event.pop("event") for event in seen] == ["fsm.transition"] * 3
    assert seen == [record.log_fields() for record in records]
    assert seen[2]["actor"] == "worker-1"
    assert records[2].actor == "worker-1"
