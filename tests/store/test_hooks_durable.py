"""Hooks on a durable flow: called after the store's write, and a failing one loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from structlog.testing import capture_logs

from firmaio.adapters.store import AsyncStore
from firmaio.fsm import Answer, AuditRecord, DurableDriver, Flow, Hooks, State
from firmaio.fsm.testing import ManualClock, ScriptedApi

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_hooks_see_written_records_and_a_failing_one_loses_nothing(
    open_async_db: Callable[[], AsyncStore],
) -> None:
    store = open_async_db()
    hooks = Hooks()
    stored_when_called: list[tuple[int, int]] = []

    async def check_written(flow: Flow, record: AuditRecord) -> None:
        stored = await store.load(flow.id)
        assert stored is not None
        stored_when_called.append((record.seq, len(stored.records)))

    def broken(_flow: Flow, _record: AuditRecord) -> None:
        raise ValueError("a subscriber's bug")

    hooks.subscribe(broken)
    hooks.subscribe(check_written)
    api = ScriptedApi([Answer.request("WAIT_FOR_SIGNATURE"), Answer.sent("M1")])
    driver = DurableDriver(api, ManualClock(), store, hooks=hooks)

    async def drive() -> State:
        return await driver.advance(await driver.open(RID))

    with capture_logs() as logs:
        assert asyncio.run(drive()) is State.NOTIFIED
    assert stored_when_called == [(1, 1), (2, 2)]  # each record was in the store already
    assert [e["event"] for e in logs].count("fsm.hook_failed") == 2
    reloaded = asyncio.run(store.load(RID))
    assert reloaded is not None
    assert [r.target for r in reloaded.records] == [State.WAIT_FOR_SIGNATURE, State.NOTIFIED]
    assert reloaded.intent is None
