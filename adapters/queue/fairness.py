"""Tenants served fairly by one worker over every tenant's queue: each visit's priority.

Procrastinate takes the job of highest priority first, the oldest first among equals. A visit
queued with minus the number of its own tenant's visits already running or due gets behind
those, and behind no other tenant's: the n-th waiting visit of a busy tenant comes after the
first visit of every other. A tenant with one flow is served next to one with ten thousand; a
slot no other tenant needs goes to the busy one at once (no lane idles while work waits). The
count is one query on Procrastinate's index of queue names, made as the visit is queued.
"""

from __future__ import annotations

import datetime

import procrastinate

BACKLOG = """
SELECT count(*) AS n FROM procrastinate_jobs
 WHERE queue_name = %(queue)s
   AND (status = 'doing'
        OR (status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= %(at)s)))
"""
"""A tenant's visits running or due by ``at`` (through the index on the queue's name)."""


async def fair_priority(app: procrastinate.App, queue: str, at: datetime.datetime | None) -> int:
    """The priority of a visit on a tenant's ``queue`` due at ``at`` (None: now): minus the
    visits of its own tenant running or due by then (start-time fair queueing, the count kept
    by the database)."""
    when = at or datetime.datetime.now(tz=datetime.UTC)
    row = await app.connector.execute_query_one_async(BACKLOG, queue=queue, at=when)
    return -int(row["n"])


LOWEST = -(2**31)
"""The lowest priority PostgreSQL's integer holds."""
