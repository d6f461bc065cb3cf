"""The drivers a long-running process keeps, one per dossier: bounded, whatever it ever served.

``firmaio serve`` and a worker drive each flow with the driver of its dossier (its statuses read
through the dossier's listing, one call for every flow of it that asks at once). A process that
runs for months meets ever new dossiers; a driver per dossier ever seen, kept for good, would grow
with them. :class:`Drivers` makes a key's driver on first use and keeps every driver with a flow
in flight, and at most ``kept`` others, the least recently used dropped first; a dropped dossier's
next flow gets a new driver.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

from firmaio.fsm.driving import DurableDriver

K = TypeVar("K", bound=Hashable)

KEPT = 64
"""Idle drivers kept at most (a busy one is never dropped)."""


class Drivers(Generic[K]):
    """Drivers by key (a dossier; a tenant and a dossier), made by ``make`` on first use."""

    def __init__(self, make: Callable[[K], DurableDriver], kept: int = KEPT) -> None:
        self._make, self.kept = make, kept
        self._drivers: OrderedDict[K, DurableDriver] = OrderedDict()

    def __len__(self) -> int:
        return len(self._drivers)

    def values(self) -> Iterator[DurableDriver]:
        return iter(list(self._drivers.values()))

    def get(self, key: K) -> DurableDriver:
        """``key``'s driver, the most recently used now; idle drivers past ``kept`` dropped."""
        driver = self._drivers.get(key)
        if driver is None:
            driver = self._drivers[key] = self._make(key)
        self._drivers.move_to_end(key)
        self.trim(key)
        return driver

    def trim(self, keep: K | None = None) -> None:
        """Drop idle drivers (but ``keep``'s), least recently used first, down to ``kept``:
        a caller done with its flows calls it, since their drivers were busy when made."""
        if len(self._drivers) > self.kept:
            idle = [k for k, d in self._drivers.items() if k != keep and not len(d.journal)]
            for old in idle[: len(self._drivers) - self.kept]:
                del self._drivers[old]
