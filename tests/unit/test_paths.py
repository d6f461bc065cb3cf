"""Every enumerated path is replayed through the driver and engine with a scripted API.

Adding a row to the table adds cases here: the parameters come from the enumeration. A path of
the card's spine starts with a flow for an existing request, in READY; a path of the issuer's
set-up with a flow from a PDF, in RECEIVED, and ends where it joins the spine (or ends).
"""

from __future__ import annotations

import asyncio

import pytest

from firmaio.fsm import TABLE, Driver, Outcome, State, TransitionNotAllowed, Trigger
from firmaio.fsm.diagrams.paths import Path, entries, loops, path_id, path_to, paths
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine.states import SETUP_ONLY
from firmaio.fsm.machine.steps import DEFAULT_STEPS
from firmaio.fsm.testing import (
    EXAMPLE_NEW_REQUEST_ID,
    EXAMPLE_ORDER,
    LATE_GUARDS,
    ManualClock,
    ScriptedApi,
    witness,
)
from tests.helpers import RID, answer_for

ALL = [*paths(), *loops()]


async def replay(path: Path) -> tuple[Driver, ScriptedApi, list[int]]:
    """Replay ``path`` with a driver whose API (both ports) answers each row's witness."""
    api, clock = ScriptedApi(), ManualClock()
    driver = Driver(api, clock, setup=api)
    if path[0].source is State.RECEIVED:
        flow = driver.new_order_flow(RID, EXAMPLE_ORDER)
    else:
        flow = driver.new_flow(RID)
    calls_per_step = []
    for row in path:
        answer = answer_for(row)
        takes_input = DEFAULT_STEPS[row.trigger].takes_input
        if answer is not None and not takes_input:
            api.script(answer)
        if row.guard in LATE_GUARDS:
            clock.advance(flow.deadline() - clock.now())
        before = len(api.calls)
        await driver.step(flow, row.trigger, answer if takes_input else None)
        calls_per_step.append(len(api.calls) - before)
    driver.flow = flow  # type: ignore[attr-defined]
    return driver, api, calls_per_step


@pytest.mark.parametrize("path", ALL, ids=[path_id(p) for p in ALL])
def test_path_replays_to_its_end(path: Path) -> None:
    """The flow ends where the path ends, with one accepted record per row, in order."""
    driver, api, calls = asyncio.run(replay(path))
    flow = driver.flow  # type: ignore[attr-defined]
    assert flow.state is path[-1].target
    assert [(r.trigger, r.source, r.target, r.guard, r.outcome) for r in flow.history] == [
        (row.trigger, row.source, row.target, row.guard_name, Outcome.ACCEPTED) for row in path
    ]
    assert [r.seq for r in flow.history] == list(range(1, len(path) + 1))
    assert calls == [0 if DEFAULT_STEPS.call_of(row.trigger) is None else 1 for row in path]
    assert api.remaining == 0


def test_paths_start_in_an_entry_and_the_set_up_stops_where_it_joins_the_spine() -> None:
    """The spine's paths start in READY; the set-up's in RECEIVED, and end on reaching READY
    (its paths from there are the spine's own) or a resting or terminal state."""
    assert entries() == (State.READY, State.RECEIVED)
    starts = [path[0].source for path in ALL]
    assert set(starts) == {State.READY, State.RECEIVED}
    assert starts[: starts.index(State.RECEIVED)] == [State.READY] * starts.index(State.RECEIVED)
    for path in ALL:
        if path[0].source is State.RECEIVED:
            assert all(row.source is not State.READY for row in path), path_id(path)
            assert all(row.target is not State.READY for row in path[:-1]), path_id(path)
        else:
            assert all(row.target is not State.RECEIVED for row in path), path_id(path)
    joins = [p for p in paths() if p[0].source is State.RECEIVED and p[-1].target is State.READY]
    assert len(joins) == 4  # created or recovered, times uploaded or recovered
    spine = [p for p in paths() if p[0].source is State.READY]
    assert len(spine) == 156  # as before the set-up: no spine path is listed twice


def test_path_to_a_set_up_state_starts_in_received() -> None:
    """``path_to`` starts from the entry that leads to the state."""
    assert path_to(State.DOCUMENT_REFUSED)[0].source is State.RECEIVED
    assert path_to(State.SIGNER_FOUND)[0].source is State.RECEIVED
    assert path_to(State.READY)[0].source is State.RECEIVED  # READY is reached by the set-up
    assert path_to(State.READY)[-1].trigger == "mark_ready"
    assert path_to(State.NOTIFIED)[0].source is State.READY
    assert path_to(State.FAILED)[0].source is State.READY  # the shortest way there
    assert path_to(State.FAILED, start=State.RECEIVED)[0].source is State.RECEIVED
    with pytest.raises(ValueError, match="no path of the table leads from READY to SIGNER"):
        path_to(State.SIGNER_FOUND, start=State.READY)


def test_a_table_without_the_set_up_enumerates_as_before() -> None:
    """A table of one's own without the set-up's rows has one entry, READY."""
    table = [row for row in TABLE if row.source not in SETUP_ONLY]
    assert entries(table) == (State.READY,)
    assert [path_id(p) for p in paths(table)] == [
        path_id(p) for p in paths() if p[0].source is State.READY
    ]
    assert [path_id(p) for p in loops(table)] == [
        path_id(p) for p in loops() if p[0].source is State.READY
    ]


def test_every_set_up_row_is_on_a_set_up_path_or_loop() -> None:
    """The set-up's rows are enumerated from RECEIVED, and only from there."""
    setup = {row for row in TABLE if row.source in SETUP_ONLY}
    from_received = {row for path in ALL if path[0].source is State.RECEIVED for row in path}
    assert from_received == setup


def test_a_set_up_path_replayed_leaves_a_ready_flow_that_knows_its_request() -> None:
    """At the join, the flow from a PDF knows the ids the service gave, and goes on from READY
    with the spine's own step (the notification is read from the request it made)."""
    join = next(p for p in paths() if p[0].source is State.RECEIVED and p[-1].target is State.READY)
    driver, api, _calls = asyncio.run(replay(join))
    flow = driver.flow  # type: ignore[attr-defined]
    assert flow.request_id == EXAMPLE_NEW_REQUEST_ID != flow.id
    assert {"signer_id", "dossier_id", "request_id", "document_id"} <= set(flow.facts)
    assert [method for method, _ in api.calls] == [
        "find_signer",
        "validate_document",
        "open_dossier",
        "create_request",
        "get_upload_url",
        "upload_document",
        "read_document",
        "mark_ready",
    ]
    assert all("RSSMRA80A01H501U" not in repr(call) for call in api.calls)
    api.script(witness(g.is_waiting_for_signature))
    asyncio.run(driver.step(flow, Trigger.CHECK_ACTIVATION))
    assert api.calls[-1] == ("get_request", flow.facts["request_id"])
    assert flow.state is State.WAIT_FOR_SIGNATURE
    with pytest.raises(TransitionNotAllowed):
        asyncio.run(driver.step(flow, Trigger.FIND_SIGNER))


def test_enumeration_ids_are_readable_and_unique() -> None:
    """Each case id spells the states and guards of its path, and no two are alike."""
    ids = [path_id(p) for p in ALL]
    assert len(set(ids)) == len(ids)
    assert (
        "ready>check_activation:is_waiting_for_signature>wait_for_signature"
        ">notify:message_was_sent>notified" in ids
    )
    assert (
        "ready>check_activation:is_waiting_for_signature>wait_for_signature"
        ">notify:citizen_disabled_messages>notify_refused>suggest_fallback>fallback_suggested"
        in ids
    )
    assert "received>find_signer:citizen_is_not_on_io>failed" in ids
    assert (
        "received>find_signer:signer_was_found>signer_found"
        ">check_document:document_is_invalid>document_refused" in ids
    )
