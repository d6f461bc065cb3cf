"""Many workers on one PostgreSQL store: flows as jobs of Procrastinate, one rate limit per key.

Needs the ``queue`` extra (``pip install 'firmaio-fsm[queue]'``). :mod:`.jobs` declares the
jobs, :mod:`.runtime` is one process's clients and drivers per tenant, :mod:`.worker` runs a
worker and queues flows; the rate window every worker shares is
:mod:`firmaio.adapters.shared_window`.
"""

from __future__ import annotations

from ..shared_window import SharedWindow
from .runtime import Runtime, Tended
from .worker import WorkerHandle, WorkerOptions, enqueue, work

__all__ = [
    "Runtime",
    "SharedWindow",
    "Tended",
    "WorkerHandle",
    "WorkerOptions",
    "enqueue",
    "work",
]
