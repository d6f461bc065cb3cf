"""The pull feed: a store's events in commit order, from a cursor the caller keeps.

For a system that cannot expose an endpoint for webhooks: it reads the events after the last
position it handled, handles them, keeps the last one's ``position``, and asks again from there.
The cursor never skips an event: on PostgreSQL, an event whose transaction commits after a later
one is served before it (:mod:`firmaio.adapters.store.outbox`).

"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import EllipsisType

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.trail.events import StoredEvent

from .store import AsyncStore

POLL = 1.0
"""Seconds between two reads of a feed that found nothing new."""

PAGE = 100
"""Events read at a time."""


async def follow_events(
    store: AsyncStore,
    *,
    after: int | None = None,
    poll: float = POLL,
    page: int = PAGE,
    stop_when_idle: bool = False,
    tenant: str | EllipsisType | None = ...,
    flow_id: str | None = None,
    type: str | None = None,
) -> AsyncIterator[StoredEvent]:
    """Every event of ``store`` after the cursor ``after`` (a position; ``None`` or 0: from the
    first), in commit order, then each new one as it is committed, read every ``poll`` seconds,
    until the caller stops iterating (or, with ``stop_when_idle``, once none is left). Keep the
    last handled event's ``position`` and pass it as ``after`` to go on from there.

    ``tenant``, ``flow_id`` and ``type`` narrow the events as
    :meth:`~firmaio.adapters.store.SqlStore.events` does; the cursor still moves in one order.
    """
    if not poll > 0:
        raise InvalidInput(f"poll must be more than 0 seconds, got {poll}")
    if after is not None and after < 0:
        raise InvalidInput(f"a feed's cursor is a position, 0 or more, not {after}")
    cursor = after
    while True:
        found = await store.events(
            after=cursor, tenant=tenant, flow_id=flow_id, type=type, limit=page
        )
        for event in found:
            cursor = event.position
            yield event
        if len(found) < page:
            if stop_when_idle:
                return
            await asyncio.sleep(poll)
