"""Adapters: what talks to the world, around the pure core in ``firmaio.fsm``.

``client`` (the issuer API over httpx), ``store`` (SQLite and PostgreSQL behind the core's store
ports), ``settings`` and ``factory`` (what every run mode is built from, and where its clients and
drivers are built), ``runner`` and ``batching`` (batch runs), ``embedded`` (every flow from
asyncio: ``AsyncFirmaio``), ``sync`` (the same for callers without an event loop), ``cli``
(the ``firmaio`` command) and, with the ``[sandbox]`` extra,
``sandbox`` (a local issuer API); ``feed`` (the pull feed of the store's events). The core
never imports any of them.

The names below are the public API (pinned by a test); ``Sandbox`` is imported on first use, so
that ``import firmaio.adapters`` works without the ``[sandbox]`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .batching import DossierStatusReader
from .client import DEFAULT_BASE_URL, IssuerClient, RetryPolicy, order_from_pdf
from .clock import SystemClock
from .embedded import AsyncFirmaio
from .feed import follow_events
from .ratelimit import SlidingWindow
from .runner import BatchRun, RunReport
from .store import AsyncStore, open_async_store, open_store
from .sync import Firmaio

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncFirmaio",
    "AsyncStore",
    "BatchRun",
    "DossierStatusReader",
    "Firmaio",
    "IssuerClient",
    "RetryPolicy",
    "RunReport",
    "Sandbox",
    "SlidingWindow",
    "SystemClock",
    "follow_events",
    "open_async_store",
    "open_store",
    "order_from_pdf",
]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":  # needs the [sandbox] extra: imported only when asked for
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
