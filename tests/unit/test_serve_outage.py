"""The service rides out a store it cannot reach for a while: one line when the outage begins,
one when it ends, a backoff between its tries; past the outage limit it stops with
StoreUnavailable (``firmaio serve`` exits 7)."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.outage import Outage
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.fsm import InvalidInput
from firmaio.fsm.errors import StoreUnavailable
from firmaio.fsm.testing import ScriptedApi


class Flaky:
    """A store with no flows that cannot be reached for its first ``failures`` reads."""

    def __init__(self, failures: int) -> None:
        self.failures, self.reads = failures, 0

    async def due(self, now: float, **_: object) -> list[object]:
        self.reads += 1
        if self.reads <= self.failures:
            raise StoreUnavailable("PostgreSQL store db:5432 cannot be reached (restarting)")
        return []


def serve(store: Flaky, limit: float, said: list[str], run_for: float) -> Service:
    settings = Settings(tick=0.05, store_outage_limit=limit)
    service = Service(Factory(settings, SystemClock(), store), ScriptedApi(), say=said.append)  # type: ignore[arg-type]

    async def scenario() -> None:
        running = asyncio.create_task(service.run())
        await asyncio.sleep(run_for)
        service.stop()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    return service


def test_a_short_outage_is_ridden_out_with_one_line_each_way() -> None:
    said: list[str] = []
    store = Flaky(failures=2)
    service = serve(store, 30.0, said, run_for=2.5)
    assert len(said) == 2, said
    assert said[0].startswith("the store cannot be reached (StoreUnavailable: PostgreSQL store")
    assert said[0].endswith("riding it out for up to 30 s")
    assert said[1].startswith("the store is back after 1.")
    assert service.report.errors == 2
    assert store.reads > 3, "it did not go on once the store was back"


def test_an_outage_longer_than_the_limit_stops_the_service() -> None:
    said: list[str] = []
    settings = Settings(tick=0.05, store_outage_limit=0.8)
    service = Service(Factory(settings, SystemClock(), Flaky(1000)), ScriptedApi(), say=said.append)  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable, match=r"longer than the store outage limit \(0.8 s"):
        asyncio.run(asyncio.wait_for(service.run(), 10))
    assert len(said) == 1, said


def test_the_waits_grow_and_never_outlast_the_limit_by_more_than_a_moment() -> None:
    now = [0.0]
    outage = Outage(3.0, say=lambda _line: None, now=lambda: now[0])
    outage.failed(StoreUnavailable("down"))
    waits = []
    for _ in range(4):
        waits.append(outage.next_wait())
        now[0] += waits[-1]
    assert waits[:2] == [0.5, 1.0]
    assert sum(waits) <= 3.0 + 0.1 + 0.5
    with pytest.raises(InvalidInput):
        Outage(float("inf"))
