"""``firmaio serve`` keeps no state per dossier it ever served: a pass over flows of many
dossiers leaves at most the bound of idle drivers (adapters/drivers.py), and checks every flow."""

from __future__ import annotations

import asyncio

from firmaio.adapters.factory import Factory
from firmaio.adapters.serve import Service
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from firmaio.fsm import Answer, DurableDriver, State
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import ManualClock, ScriptedApi, witness

START = 1_800_000_000.0
HOUR = 3600.0
FLOWS = {f"bounded-{n:02}": f"01JDOSSIER{n:016d}" for n in range(12)}


def test_a_pass_over_many_dossiers_keeps_a_bounded_number_of_drivers(db: str) -> None:
    async def run() -> tuple[int, int]:
        store = open_async_store(db)
        try:
            clock, api = ManualClock(START), ScriptedApi()
            driver = DurableDriver(api, clock, store, watch_every=HOUR)
            for flow_id, dossier in FLOWS.items():
                await store.create_many([flow_id], activation_deadline=START + 60, now=START,
                                        dossier_id=dossier)  # fmt: skip
                api.script(witness(g.is_waiting_for_signature), Answer.sent("01HZMSG"))
                assert await driver.advance(await driver.open(flow_id)) is State.NOTIFIED
                driver.forget(flow_id)
            clock.advance(HOUR + 1)
            api.calls.clear()
            api.script(*[witness(g.is_still_open)] * len(FLOWS))
            service = Service(Factory(Settings(watch_every=HOUR), clock, store), api)
            service._drivers.kept = 3
            await service._pass()
            return len(service._drivers), len(api.calls)
        finally:
            await store.close()

    kept, calls = asyncio.run(run())
    assert calls == len(FLOWS), "every due flow was checked"
    assert kept <= 3, "no driver kept per dossier served"
