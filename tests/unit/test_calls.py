"""The call registry: each step's call is data the engine holds and the driver looks up, so a
trigger making a new API call is added without touching the driver."""

from __future__ import annotations

import asyncio
import enum
import re

import pytest
from structlog.testing import capture_logs

from firmaio.fsm import (
    STEPS,
    TABLE,
    Answer,
    ApiCall,
    Driver,
    Engine,
    Flow,
    InvalidDefinition,
    InvalidInput,
    Kind,
    Outcome,
    Row,
    State,
    Step,
    Trigger,
)
from firmaio.fsm.driving import CALLS, Call, Port, default_engine
from firmaio.fsm.machine import answer_of
from firmaio.fsm.machine.beside_guards import fallback_was_delivered
from firmaio.fsm.testing import EXAMPLE_ORDER, ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


class Mine(enum.StrEnum):
    """A trigger of an administration's own table."""

    POST_LETTER = "post_letter"
    """The administration's post office sends the link and QR code by letter."""


# -- the four edits: rows on a copy of the table, one step, one registry entry, the fake -------

ROWS = (
    *TABLE,
    Row(
        State.FALLBACK_SUGGESTED,
        Mine.POST_LETTER,
        State.FALLBACK_SUGGESTED,
        fallback_was_delivered,
        ("page.fallback",),
    ),
)
STEP = Step(Mine.POST_LETTER, "post_letter")


class PostOffice(ScriptedApi):
    """The fake: the built-in calls, and the new one answering from the same script."""

    async def post_letter(self, request_id: str, *, at: float) -> Answer:
        return self.next_answer("post_letter", request_id, at=at)


async def post_letter(api: PostOffice, flow: Flow, now: float) -> Answer:
    return await api.post_letter(flow.id, at=now)


REGISTRY = {**CALLS, "post_letter": Call(Port.SIGNATURE, post_letter, "`POST /letters`")}


def test_a_trigger_with_a_new_api_call_is_driven_through_the_driver() -> None:
    """The flow reaches FALLBACK_SUGGESTED as before; the new trigger then makes its new call
    (on the driver's ``api``, with the flow's id and the clock's now) and its row holds."""
    engine = Engine(ROWS, (*STEPS, STEP), calls=REGISTRY)
    delivered = answer_of(Kind.DELIVERED, 202, channel="letter")
    api = PostOffice([Answer.request("WAIT_FOR_SIGNATURE"), Answer.messages_disabled(), delivered])
    clock = ManualClock()
    driver = Driver(api, clock, engine=engine)
    flow = driver.new_flow(RID)
    with capture_logs():
        assert asyncio.run(driver.advance(flow)) is State.FALLBACK_SUGGESTED
        clock.advance(60.0)
        record = asyncio.run(driver.step(flow, Mine.POST_LETTER))
    assert (record.trigger, record.source, record.target) == (
        "post_letter",
        State.FALLBACK_SUGGESTED,
        State.FALLBACK_SUGGESTED,
    )
    assert (record.outcome, record.guard, record.http_status) == (
        Outcome.ACCEPTED,
        "fallback_was_delivered",
        202,
    )
    assert dict(record.facts)["channel"] == "letter"
    assert api.calls == [("get_request", RID), ("send_notification", RID), ("post_letter", RID)]
    assert api.arguments[-1] == {"at": clock.now()}
    assert api.remaining == 0


def test_the_built_in_engine_and_registry_are_left_as_they_were() -> None:
    assert "post_letter" not in CALLS
    assert default_engine().calls is CALLS
    with pytest.raises(InvalidInput, match="unknown trigger 'post_letter'"):
        default_engine().check_allowed(default_engine().new_flow(RID, now=0), "post_letter")


def test_a_step_whose_call_has_no_registry_entry_is_refused_naming_both() -> None:
    with pytest.raises(InvalidDefinition) as refused:
        Engine(ROWS, (*STEPS, STEP))  # the built-in registry: no post_letter
    assert (
        "trigger post_letter makes the call post_letter, which has no entry in the call registry"
        in str(refused.value)
    )
    without_cancel = {name: call for name, call in CALLS.items() if name != "cancel_request"}
    with pytest.raises(InvalidDefinition, match=re.escape("trigger cancel makes the call ")):
        Engine(calls=without_cancel)


def test_a_registry_entry_that_is_not_a_call_is_refused_and_the_engine_keeps_a_copy() -> None:
    with pytest.raises(InvalidDefinition, match=r"not a Call: 'post_letter' \(function\)"):
        Engine(ROWS, (*STEPS, STEP), calls={**CALLS, "post_letter": post_letter})
    calls = dict(REGISTRY)
    engine = Engine(ROWS, (*STEPS, STEP), calls=calls)
    del calls["post_letter"]  # the caller's mapping changes after the checks: the engine's not
    assert engine.calls["post_letter"] is REGISTRY["post_letter"]


def test_every_built_in_call_has_an_entry_with_a_summary() -> None:
    assert set(CALLS) == set(ApiCall)
    assert all(call.summary for call in CALLS.values())
    assert {s.call for s in STEPS if s.call is not None} <= set(CALLS)


def test_an_entry_of_one_s_own_replaces_a_built_in_call() -> None:
    """The driver makes what the registry says: here, a cancel that reads first."""

    async def read_then_cancel(api: ScriptedApi, flow: Flow, _now: float) -> Answer:
        seen = await api.get_request(flow.id)
        return seen if seen.status == "CANCELLED" else await api.cancel_request(flow.id)

    calls = {**CALLS, ApiCall.CANCEL_REQUEST: Call(Port.SIGNATURE, read_then_cancel)}
    api = ScriptedApi([Answer.request("WAIT_FOR_SIGNATURE"), Answer.cancel_accepted()])
    driver = Driver(api, ManualClock(), engine=Engine(calls=calls))
    flow = driver.new_flow(RID)
    flow.state = State.WAIT_FOR_SIGNATURE
    with capture_logs():
        record = asyncio.run(driver.step(flow, Trigger.CANCEL))
    assert record.target is State.CANCELLED
    assert api.calls == [("get_request", RID), ("cancel_request", RID)]


def test_a_set_up_call_without_a_set_up_port_is_refused_before_any_call() -> None:
    api = ScriptedApi([Answer.no_io_profile()])
    driver = Driver(api, ManualClock())  # no setup=
    flow = driver.new_order_flow(RID, EXAMPLE_ORDER)
    with pytest.raises(InvalidInput) as refused:
        asyncio.run(driver.step(flow, Trigger.FIND_SIGNER))
    assert str(refused.value) == (
        f"flow {RID} needs the issuer's set-up calls (find_signer): give the driver a SetupApi "
        "(setup=)"
    )
    assert (flow.state, flow.history, api.calls) == (State.RECEIVED, [], [])


class Listing:
    """A status reader that answers from a (fake) dossier listing."""

    def __init__(self, status: str) -> None:
        self.status, self.reads = status, []

    async def read_status(self, request_id: str) -> Answer:
        self.reads.append(request_id)
        return Answer.request(self.status)


@pytest.mark.parametrize("reader", [True, False], ids=["with-reader", "without-reader"])
def test_status_checks_read_from_the_status_reader_if_given_else_get_the_request(
    reader: bool,
) -> None:
    """check_activation reads the status where the driver is told to; the notification's
    recovery always reads the whole request (it must see the notification)."""
    api = ScriptedApi([Answer.request("WAIT_FOR_SIGNATURE")] * (1 if reader else 2))
    listing = Listing("WAIT_FOR_SIGNATURE")
    driver = Driver(api, ManualClock(), status_reader=listing if reader else None)
    flow = driver.new_flow(RID)
    with capture_logs():
        asyncio.run(driver.step(flow, Trigger.CHECK_ACTIVATION))
        asyncio.run(driver.step(flow, Trigger.RECOVER_NOTIFICATION))
    assert flow.state is State.WAIT_FOR_SIGNATURE
    assert listing.reads == ([RID] if reader else [])
    assert api.calls == [("get_request", RID)] * (1 if reader else 2)
