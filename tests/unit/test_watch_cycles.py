"""A worker's watch cycles (adapters/watch.py ``end_cycles``): those over are closed and dropped,
oldest first, so a worker that meets ever new dossiers keeps no cycle per dossier it watched."""

from __future__ import annotations

import asyncio
from typing import cast

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.watch import DossierWatch, end_cycles


def test_the_cycles_over_are_closed_and_dropped_the_ones_under_way_kept() -> None:
    async def run() -> None:
        unused = cast(IssuerClient, object())  # a read through it would fail the test
        watches = {
            (None, f"D{n}"): DossierWatch(unused, f"D{n}", started=float(n * 30)) for n in range(5)
        }  # begun at 0, 30, 60, 90, 120
        closed = [watches[(None, "D0")], watches[(None, "D1")]]
        await end_cycles(watches, before=60.0)
        assert list(watches) == [(None, "D2"), (None, "D3"), (None, "D4")]
        for watch in closed:  # closed: a flow that still asks is read alone, not listed
            assert await watch.find("01ARZ3NDEKTSV4RRFFQ69G5FAV") is None
        await end_cycles(watches, before=1_000.0)
        assert watches == {}

    asyncio.run(run())
