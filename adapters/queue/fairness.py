"""Tenants served fairly by one worker over every tenant's queue: each visit's priority.

Procrastinate takes the job of highest priority first, the oldest first among equals. A visit
queued with minus the number of its own tenant's visits already running or due gets behind
those, and behind no other tenant's: the n-th waiting visit of a busy tenant comes after the
first visit of every other. A tenant with one flow is served next to one with ten thousand; a
slot no other tenant needs goes to the busy one at once (no lane idles while work waits). The
count is one query on Procrastinate's index of queue names, made as the visit is queued, and
stops at :data:`BEHIND`.
"""

from __future__ import annotations

import datetime

import procrastinate

BEHIND = 1000
"""The most visits a new one is counted behind: past that, a tenant's visits wait in the order
they were queued, behind every tenant with fewer waiting (the count's cost stays bounded however
many visits a tenant has scheduled)."""

BACKLOG = f"""
SELECT count(*) AS n FROM (
  SELECT 1 FROM procrastinate_jobs
   WHERE queue_name = %(queue)s
     AND (status = 'doing'
          OR (status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= %(at)s)))
   LIMIT {BEHIND}) AS waiting
"""
"""A tenant's visits running or due by ``at``, up to :data:`BEHIND` (through the index on the
queue's name)."""


async def fair_priority(app: procrastinate.App, queue: str, at: datetime.datetime | None) -> int:
    """The priority of a visit on a tenant's ``queue`` due at ``at`` (None: now): minus the
    visits of its own tenant running or due by then (start-time fair queueing, the count kept
    by the database)."""
    when = at or datetime.datetime.now(tz=datetime.UTC)
    row = await app.connector.execute_query_one_async(BACKLOG, queue=queue, at=when)
    return -int(row["n"])
