"""Collecting signed documents reads only the stored trail: a process that opens the flow
afterwards knows a failed fetch's next attempt, and that a given-up collection is over."""

from __future__ import annotations

import asyncio
from pathlib import Path

from firmaio.adapters.collecting import collect_due
from firmaio.adapters.store import open_async_store
from firmaio.fsm import Answer, ApiUnavailable, Outcome, State, Trigger
from firmaio.fsm.driving import CollectPolicy
from firmaio.fsm.driving.durable import DurableDriver
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi

POLICY = CollectPolicy(delays=(60.0,), keep_for=3_600.0)


def test_a_restored_flow_goes_on_with_collecting_where_the_trail_says(tmp_path: Path) -> None:
    clock = ManualClock()
    api = ScriptedApi()

    async def scenario() -> tuple[float | None, float | None, str | None]:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            first = DurableDriver(api, clock, store, setup=api)
            flow = await first.open("R1")
            api.script(
                Answer.request("WAIT_FOR_SIGNATURE"),
                Answer.sent(EXAMPLE_IO_MESSAGE_ID),
                Answer.request("SIGNED"),
                ApiUnavailable("download: ReadError"),
            )
            await first.advance(flow)
            await first.step(flow, Trigger.CHECK_STATUS)
            assert flow.state is State.SIGNED
            assert await collect_due(first, flow, POLICY, clock.now()) == "fetch_failed"
            failed_at = clock.now()
            second = DurableDriver(api, clock, store, setup=api)  # another process
            restored = await second.open("R1")
            due = POLICY.next_fetch(restored.state, restored.history)
            clock.advance(3_600.0)
            assert await collect_due(second, restored, POLICY, clock.now()) == "gave_up"
            third = DurableDriver(api, clock, store, setup=api)
            final = await third.open("R1")
            last = final.history[-1]
            assert (last.trigger, last.outcome) == (Trigger.FETCH_DOCUMENTS, Outcome.REFUSED)
            return (
                due and due - failed_at,
                POLICY.next_fetch(final.state, final.history),
                (dict(last.facts or ()).get("documents.given_up")),
            )
        finally:
            await store.close()

    delay, after, given_up = asyncio.run(scenario())
    assert delay == 60.0
    assert after is None
    assert given_up is not None
    assert sum(1 for method, _ in api.calls if method == "fetch_signed") == 1
