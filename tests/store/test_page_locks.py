"""``firmaio serve`` on PostgreSQL locks a page of resting flows in one statement and lets them go
in one (adapters/flow_locks.py, ``FlowLocks.hold_many``): a flow another process holds is left
for a later pass (and not read: ``FlowLocks.free``, before the page's checks read), every other
one is checked, and the locks are let go after the page."""

from __future__ import annotations

import asyncio

from firmaio.adapters.factory import Factory
from firmaio.adapters.flow_locks import FlowLocks
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from firmaio.fsm import Answer, DurableDriver, State
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import ManualClock, ScriptedApi, witness

START = 1_800_000_000.0
HOUR = 3600.0
FLOWS = [f"paged-{n:02}" for n in range(6)]


def test_a_page_takes_the_free_locks_and_lets_them_go(postgres_url: str) -> None:
    async def run() -> tuple[set[str], set[str], bool]:
        mine, other = FlowLocks(postgres_url), FlowLocks(postgres_url)
        try:
            async with other.hold("b") as busy:
                assert busy
                async with mine.hold_many(["a", "b", "c"]) as held, other.hold("a") as stolen:
                    assert not stolen, "held by the page"
                first = set(held)
            async with other.hold_many(["a", "c"]) as again:
                free = set(again)
            async with mine.hold("b") as after:
                return first, free, after
        finally:
            await mine.aclose()
            await other.aclose()

    first, free, after = asyncio.run(run())
    assert first == {"a", "c"}, "b was another process's"
    assert free == {"a", "c"}, "the page let its locks go"
    assert after, "b was let go by its holder"


def test_free_names_the_flows_no_other_process_holds_and_holds_none(postgres_url: str) -> None:
    async def run() -> tuple[set[str], set[str]]:
        mine, other = FlowLocks(postgres_url), FlowLocks(postgres_url)
        try:
            async with other.hold("b"):
                free = await mine.free(["a", "b", "c"])
            async with other.hold_many(["a", "b", "c"]) as taken:
                return free, set(taken)
        finally:
            await mine.aclose()
            await other.aclose()

    free, taken = asyncio.run(run())
    assert free == {"a", "c"}, "b was another process's"
    assert taken == {"a", "b", "c"}, "free() let go of every lock it took to look"


def test_serve_leaves_a_flow_another_process_holds_for_a_later_pass(postgres_url: str) -> None:
    async def run() -> tuple[list[str], list[str]]:
        store, locks, other = (
            open_async_store(postgres_url), FlowLocks(postgres_url), FlowLocks(postgres_url)
        )  # fmt: skip
        try:
            clock, api = ManualClock(START), ScriptedApi()
            driver = DurableDriver(api, clock, store, watch_every=HOUR)
            for flow_id in FLOWS:
                api.script(witness(g.is_waiting_for_signature), Answer.sent("01HZMSG"))
                assert await driver.advance(await driver.open(flow_id)) is State.NOTIFIED
                driver.forget(flow_id)
            clock.advance(HOUR + 1)
            api.calls.clear()
            api.script(*[witness(g.is_still_open)] * len(FLOWS))
            settings = Settings(watch_every=HOUR)
            service = Service(Factory(settings, clock, store), api, locks=locks)
            async with other.hold(FLOWS[0]):
                await service._pass()
            first = [call[1] for call in api.calls]
            api.calls.clear()
            await service._pass()
            return first, [call[1] for call in api.calls]
        finally:
            await locks.aclose()
            await other.aclose()
            await store.close()

    first, second = asyncio.run(run())
    assert sorted(first) == FLOWS[1:], "every flow but the one held elsewhere"
    assert second == [FLOWS[0]], "the one held elsewhere, once free"


class CancelledOnAnswer(FlowLocks):
    """Its statements that take locks run on the server, then the task is cancelled before it
    reads the answer: what psycopg leaves when a cancel arrives after the locks were taken."""

    async def _rows(self, sql: str, param: object) -> list[object]:
        rows = await super()._rows(sql, param)
        if "pg_try_advisory_lock" in sql and "CASE" not in sql:
            raise asyncio.CancelledError
        return rows


def test_a_take_cancelled_after_the_server_took_the_locks_lets_them_go(
    postgres_url: str,
) -> None:
    """A cancelled ``hold``/``hold_many`` (a console request dropped, a worker stopping) leaves no
    lock held by its connection: another process takes the flows at once."""

    async def run() -> tuple[bool, set[str]]:
        mine, other = CancelledOnAnswer(postgres_url), FlowLocks(postgres_url)
        try:
            for attempt in (mine.hold("a"), mine.hold_many(["b", "c"])):
                try:
                    async with attempt:
                        raise AssertionError("the take was cancelled: the block never runs")
                except asyncio.CancelledError:
                    pass
            async with other.hold("a") as single, other.hold_many(["b", "c"]) as page:
                return single, set(page)
        finally:
            await mine.aclose()
            await other.aclose()

    single, page = asyncio.run(run())
    assert single, "a was left locked by the cancelled take"
    assert page == {"b", "c"}, "the cancelled page's locks were left held"
