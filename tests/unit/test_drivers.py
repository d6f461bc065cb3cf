"""A long-running process keeps a bounded number of drivers, whatever dossiers it ever met
(adapters/drivers.py): the idle ones past the bound are dropped oldest first, a busy one never."""

from __future__ import annotations

from typing import Any, cast

from firmaio.adapters.drivers import Drivers
from firmaio.fsm import DurableDriver
from firmaio.fsm.ports import FlowStore
from firmaio.fsm.testing import ManualClock, ScriptedApi


def made(key: str) -> DurableDriver:
    del key
    return DurableDriver(ScriptedApi(), ManualClock(0.0), cast(FlowStore, cast(Any, object())))


def test_ever_new_dossiers_keep_a_bounded_number_of_drivers() -> None:
    drivers = Drivers[str](made, kept=8)
    for n in range(10_000):
        drivers.get(f"dossier-{n}")
    assert len(drivers) == 8


def test_a_dossier_in_use_keeps_its_driver_and_a_recent_one_is_reused() -> None:
    drivers = Drivers[str](made, kept=2)
    busy = drivers.get("busy")
    busy.journal.loaded("flow-1", None)  # a flow in flight on it
    for n in range(100):
        drivers.get(f"dossier-{n}")
    assert drivers.get("busy") is busy
    assert drivers.get("dossier-99") is drivers.get("dossier-99")
    busy.forget("flow-1")
    for n in range(100, 110):
        drivers.get(f"dossier-{n}")
    assert len(drivers) == 2
    assert drivers.get("busy") is not busy, "idle, it was dropped: a new one is made"


def test_drivers_made_busy_are_trimmed_once_idle() -> None:
    """Many dossiers' flows at once (each driver busy when made): once done, a trim leaves the
    bound."""
    drivers = Drivers[str](made, kept=2)
    for n in range(10):
        drivers.get(f"dossier-{n}").journal.loaded(f"flow-{n}", None)
    assert len(drivers) == 10, "busy drivers are never dropped"
    for n in range(10):
        drivers.get(f"dossier-{n}").forget(f"flow-{n}")
    drivers.trim()
    assert len(drivers) == 2
