"""``firmaio serve``'s pass and the workers' sweep read only the due rows: a pass with nothing
due loads no flow and calls nothing; a pass loads exactly the flows due, never a closed one; a
service whose ``watch_every`` is longer than the writer's re-files the flows it finds early, once,
without a call; the sweep's query returns only due flows with no visit waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from firmaio.adapters.factory import Factory
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store, open_store
from firmaio.fsm import Answer, DurableDriver, State, Trigger
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import ManualClock, ScriptedApi, witness

START = 1_800_000_000.0
HOUR = 3600.0
OPEN = [f"due-open-{n:02}" for n in range(12)]
CLOSED = [f"due-closed-{n:02}" for n in range(6)]


class Counted:
    """The service's store, counting each flow it loads."""

    def __init__(self, store: Any) -> None:
        self.store, self.loaded, self.reads = store, list[str](), 0

    async def load(self, flow_id: str) -> Any:
        self.loaded.append(flow_id)
        self.reads += 1
        return await self.store.load(flow_id)

    async def load_many(self, flow_ids: list[str]) -> Any:
        self.loaded.extend(flow_ids)
        self.reads += 1
        return await self.store.load_many(flow_ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def resting_and_closed(store: Any, clock: ManualClock) -> None:
    """OPEN notified at START (watched hourly), CLOSED cancelled at START."""
    api = ScriptedApi()
    driver = DurableDriver(api, clock, store, watch_every=HOUR)
    for flow_id in [*OPEN, *CLOSED]:
        api.script(witness(g.is_waiting_for_signature), Answer.sent("01HZMSG"))
        flow = await driver.open(flow_id)
        assert await driver.advance(flow) is State.NOTIFIED
        if flow_id in CLOSED:
            api.script(witness(g.is_cancelled))
            await driver.step(flow, Trigger.CHECK_STATUS)
        driver.forget(flow_id)


@pytest.fixture
def service_store(db: str) -> Iterator[Counted]:
    store = open_async_store(db)
    yield Counted(store)
    asyncio.run(store.close())


def a_pass(store: Counted, clock: ManualClock, api: ScriptedApi, watch_every: float) -> None:
    settings = Settings(watch_every=watch_every, tick=0.01)
    service = Service(Factory(settings, clock, store), api)  # type: ignore[arg-type]
    asyncio.run(service._pass())


def test_a_pass_loads_only_the_due_flows_and_never_a_closed_one(
    db: str, service_store: Counted
) -> None:
    clock = ManualClock(START)
    asyncio.run(resting_and_closed(service_store.store, clock))
    api = ScriptedApi()
    clock.advance(60)
    a_pass(service_store, clock, api, HOUR)
    assert service_store.loaded == [], "nothing was due"
    assert api.calls == []

    clock.advance(HOUR)
    api.script(*[witness(g.is_still_open)] * len(OPEN))
    a_pass(service_store, clock, api, HOUR)
    assert sorted(service_store.loaded) == OPEN, "each due flow once, no closed one"
    assert service_store.reads == 1, "the page's due flows in one read"
    assert len(api.calls) == len(OPEN)

    service_store.loaded.clear()
    a_pass(service_store, clock, api, HOUR)
    assert service_store.loaded == [], "checked: due again an hour later"
    reader = open_store(db)
    try:
        assert {reader.due_of(i) for i in OPEN} == {clock.now() + HOUR}
        assert {reader.due_of(i) for i in CLOSED} == {None}
    finally:
        reader.close()


def test_a_longer_watch_every_re_files_the_flows_it_finds_early_once_without_a_call(
    db: str, service_store: Counted
) -> None:
    """The flows were filed by a writer watching hourly; a service watching every two hours
    finds them due by the stored time, not by its own: it re-files each, calls nothing, and
    its next pass loads none."""
    clock = ManualClock(START)
    asyncio.run(resting_and_closed(service_store.store, clock))
    clock.advance(HOUR + 1)
    api = ScriptedApi()
    a_pass(service_store, clock, api, 2 * HOUR)
    assert sorted(service_store.loaded) == OPEN
    assert api.calls == []
    service_store.loaded.clear()
    a_pass(service_store, clock, api, 2 * HOUR)
    assert service_store.loaded == []
    reader = open_store(db)
    try:
        assert {reader.due_of(i) for i in OPEN} == {START + 2 * HOUR}  # notified at START
    finally:
        reader.close()


def test_the_sweep_reads_only_due_flows_with_no_visit_waiting(postgres_url: str) -> None:
    """Due with no job: swept, in due order, a page at a time. A due flow whose visit is
    queued, a flow due later and a closed flow: never read."""
    import psycopg
    from psycopg.rows import dict_row

    from firmaio.adapters.queue.jobs import UNVISITED, defer, install_schema, queue_app

    store = open_store(postgres_url)
    try:
        for n, due in enumerate([START + 3, START + 1, START + 2]):
            store.create(f"due-{n}", activation_deadline=START, now=START, due_at=due)
        store.create("due-queued", activation_deadline=START, now=START, due_at=START)
        store.create("due-later", activation_deadline=START, now=START, due_at=START + HOUR)
        store.create("due-closed", activation_deadline=START, now=START, due_at=None)
    finally:
        store.close()

    async def queue_one() -> None:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        async with app.open_async():
            await defer(app, ["due-queued"], tenant=None)

    asyncio.run(queue_one())
    swept, after = [], (float("-inf"), "")
    with psycopg.connect(postgres_url, row_factory=dict_row) as conn:
        while rows := conn.execute(
            UNVISITED, {"now": START + 60, "due": after[0], "id": after[1], "page": 2}
        ).fetchall():
            swept += [row["id"] for row in rows]
            after = (rows[-1]["due_at"], rows[-1]["id"])
    assert swept == ["due-1", "due-2", "due-0"]


def test_a_flow_stored_with_no_record_is_due_for_the_next_process_that_opens_it(
    service_store: Counted,
) -> None:
    """Registered (``create_many``, ``enqueue``) and opened by a worker later: due by the time
    the visit began (its clock moves on as it runs), so the visit drives it rather than
    re-filing it for later."""

    class Ticking(ManualClock):
        def now(self) -> float:
            self.advance(0.001)
            return super().now()

    clock = Ticking(START)

    async def opened() -> tuple[float, float | None, float | None]:
        await service_store.create_many(["due-new"], activation_deadline=START + HOUR, now=START)
        driver = DurableDriver(ScriptedApi(), clock, service_store.store)
        flow = await driver.open("due-new")
        began = clock.now()
        [row] = await service_store.due(began)
        return began, driver.due(flow), row.due_at

    began, due, stored = asyncio.run(opened())
    assert stored == START
    assert due is not None
    assert due <= began
