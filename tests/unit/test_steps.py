"""Each trigger's step is declared once; everything else about triggers is derived from it."""

from __future__ import annotations

import asyncio
import enum
import re
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
from firmaio.fsm.diagrams.paths import entries
from firmaio.fsm.diagrams.render import to_mermaid
from firmaio.fsm.driving import CALLS, Port
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine.states import BEFORE_READY, SETUP_ONLY
from firmaio.fsm.machine.steps import DEFAULT_STEPS, RESTING
from firmaio.fsm.testing import ManualClock, ScriptedApi
from firmaio.fsm.trail.record import from_event_dict

REQUEST_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
SETUP_TRIGGERS = {row.trigger for row in TABLE if row.source in BEFORE_READY}


def test_the_built_in_steps_derive_what_the_driver_and_stores_use() -> None:
    steps = DEFAULT_STEPS
    assert {s.trigger: s.call for s in STEPS} == {
        Trigger.FIND_SIGNER: ApiCall.FIND_SIGNER,
        Trigger.CHECK_DOCUMENT: ApiCall.VALIDATE_DOCUMENT,
        Trigger.OPEN_DOSSIER: ApiCall.OPEN_DOSSIER,
        Trigger.CREATE_REQUEST: ApiCall.CREATE_REQUEST,
        Trigger.RECOVER_REQUEST: ApiCall.FIND_CREATED_REQUEST,
        Trigger.GET_UPLOAD_URL: ApiCall.GET_UPLOAD_URL,
        Trigger.UPLOAD_DOCUMENT: ApiCall.UPLOAD_DOCUMENT,
        Trigger.RECOVER_UPLOAD: ApiCall.READ_DOCUMENT,
        Trigger.CHECK_VALIDATION: ApiCall.READ_DOCUMENT,
        Trigger.MARK_READY: ApiCall.MARK_READY,
        Trigger.CHECK_ACTIVATION: ApiCall.READ_STATUS,
        Trigger.NOTIFY: ApiCall.SEND_NOTIFICATION,
        Trigger.SUGGEST_FALLBACK: None,
        Trigger.CHECK_STATUS: ApiCall.READ_STATUS,
        Trigger.CANCEL: ApiCall.CANCEL_REQUEST,
        Trigger.RECOVER_NOTIFICATION: ApiCall.GET_REQUEST,
        Trigger.DELIVER_FALLBACK: None,
        Trigger.FETCH_DOCUMENTS: ApiCall.FETCH_SIGNED,
    }
    setup_calls = {name for name, call in CALLS.items() if call.port is Port.SETUP}
    assert {s.call for s in STEPS if s.trigger in SETUP_TRIGGERS} | {
        ApiCall.FETCH_SIGNED
    } == setup_calls
    assert dict(steps.next_step) == {
        State.RECEIVED: Trigger.FIND_SIGNER,
        State.SIGNER_FOUND: Trigger.CHECK_DOCUMENT,
        State.DOCUMENT_CHECKED: Trigger.OPEN_DOSSIER,
        State.DOSSIER_CHOSEN: Trigger.CREATE_REQUEST,
        State.DRAFT_CREATED: Trigger.GET_UPLOAD_URL,
        State.UPLOAD_URL_ISSUED: Trigger.UPLOAD_DOCUMENT,
        State.DOCUMENT_UPLOADED: Trigger.CHECK_VALIDATION,
        State.DOCUMENT_VALIDATED: Trigger.MARK_READY,
        State.READY: Trigger.CHECK_ACTIVATION,
        State.WAIT_FOR_SIGNATURE: Trigger.NOTIFY,
        State.NOTIFY_REFUSED: Trigger.SUGGEST_FALLBACK,
    }
    assert steps.driven == BEFORE_READY | {
        State.READY,
        State.WAIT_FOR_SIGNATURE,
        State.NOTIFY_REFUSED,
    }
    assert steps.resting == RESTING == set(State) - steps.driven
    assert {
        State.NOTIFIED,
        State.FALLBACK_SUGGESTED,
        State.SIGNED,
        State.REJECTED,
        State.CANCELLED,
        State.FAILED,
        State.EXPIRED,
        State.DOCUMENT_REFUSED,
    } == RESTING


def test_three_steps_open_an_intent_and_each_has_its_recovery() -> None:
    """Creating the request, uploading the PDF and the notification have effects the service
    does not make idempotent; each is recovered by a step that reads first. The notification
    stays *the* intent opener a resend tries again."""
    steps = DEFAULT_STEPS
    assert {s.trigger for s in STEPS if s.opens_intent} == {
        Trigger.CREATE_REQUEST,
        Trigger.UPLOAD_DOCUMENT,
        Trigger.NOTIFY,
    }
    assert dict(steps.recovery_of) == {
        Trigger.CREATE_REQUEST: Trigger.RECOVER_REQUEST,
        Trigger.UPLOAD_DOCUMENT: Trigger.RECOVER_UPLOAD,
        Trigger.NOTIFY: Trigger.RECOVER_NOTIFICATION,
    }
    assert {s.trigger: s.recovers for s in STEPS if s.recovers_intent} == {
        Trigger.RECOVER_REQUEST: Trigger.CREATE_REQUEST,
        Trigger.RECOVER_UPLOAD: Trigger.UPLOAD_DOCUMENT,
        Trigger.RECOVER_NOTIFICATION: Trigger.NOTIFY,
    }
    assert all(not s.fired_from for s in STEPS if s.recovers_intent)  # only after a crash
    assert steps.notification is Trigger.NOTIFY
    assert steps.notification_recovery is Trigger.RECOVER_NOTIFICATION
    assert [s.trigger for s in STEPS if s.resends] == [Trigger.NOTIFY]
    assert [s.trigger for s in STEPS if s.takes_input] == [Trigger.DELIVER_FALLBACK]
    for trigger in (*steps.recovery_of, *steps.recovery_of.values()):
        assert steps.closes_intent(trigger), trigger
    for trigger in (Trigger.CHECK_STATUS, Trigger.FETCH_DOCUMENTS, Trigger.DELIVER_FALLBACK):
        assert not steps.closes_intent(trigger), trigger


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


def _changed(trigger: str, **changes: object) -> tuple[Step, ...]:
    return (*_without(trigger), replace(DEFAULT_STEPS[trigger], **changes))


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (
            _changed(Trigger.RECOVER_NOTIFICATION, call=ApiCall.READ_STATUS),
            "recover_notification recovers the notification but does not read the whole request",
        ),
        (
            _without(Trigger.RECOVER_NOTIFICATION),
            "notify opens an intent, but no step recovers it",
        ),
        (_without(Trigger.RECOVER_UPLOAD), "upload_document opens an intent, but no step"),
        ((*STEPS, STEPS[0]), "declared by more than one step"),
        (
            _changed(Trigger.RECOVER_REQUEST, recovers=Trigger.GET_UPLOAD_URL),
            "a step recovers get_upload_url, which opens no intent",
        ),
        (
            _changed(Trigger.RECOVER_UPLOAD, recovers=Trigger.CREATE_REQUEST),
            "create_request is recovered by more than one step",
        ),
        (
            _changed(Trigger.DELIVER_FALLBACK, call=ApiCall.GET_REQUEST),
            "deliver_fallback takes the operator's input, so it makes no API call",
        ),
        (
            _changed(Trigger.CHECK_STATUS, resends=True),
            "only one step may set resends, not",
        ),
        (
            _changed(Trigger.SUGGEST_FALLBACK, opens_intent=True),
            "suggest_fallback opens an intent but makes no API call",
        ),
    ],
    ids=[
        "recovery-reads-status-only",
        "notify-unrecovered",
        "upload-unrecovered",
        "duplicate",
        "recovers-no-intent",
        "two-recoveries",
        "input-and-call",
        "two-resenders",
        "intent-without-call",
    ],
)
def test_step_declarations_are_checked_on_their_own(steps: tuple[Step, ...], problem: str) -> None:
    with pytest.raises(InvalidDefinition, match=re.escape(problem)):
        Steps(steps)


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
    assert extended.steps.driven == DEFAULT_STEPS.driven  # offer_fallback took notify's place


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


def test_a_table_of_one_s_own_without_the_set_up_still_drives() -> None:
    """The set-up's rows and steps are the built-in table's: a table without them validates
    (its set-up states are not required), enumerates from READY only, and drives as before."""
    rows = [r for r in TABLE if r.source not in SETUP_ONLY]
    engine = Engine(rows, [s for s in STEPS if s.trigger in {r.trigger for r in rows}])
    assert not engine.steps.driven & SETUP_ONLY
    assert entries(engine.table) == (State.READY,)
    api = ScriptedApi(
        [Answer.request("WAIT_FOR_SIGNATURE"), Answer.sent("01G7VBM888NDGCMA84ZVZYJGZQ")]
    )
    driver = Driver(api, ManualClock(), engine=engine)
    flow = driver.new_flow(REQUEST_ID)
    assert asyncio.run(driver.advance(flow)) is State.NOTIFIED
    assert [r.trigger for r in flow.history] == [Trigger.CHECK_ACTIVATION, Trigger.NOTIFY]
