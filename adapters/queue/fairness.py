"""Tenants served fairly by one worker over every tenant's queue: each visit's priority.

Procrastinate takes the job of highest priority first, the oldest first among equals. A visit
queued with minus the number of its own tenant's visits already running or due gets behind
those, and behind no other tenant's: the n-th waiting visit of a busy tenant comes after the
first visit of every other. A tenant with one flow is served next to one with ten thousand; a
slot no other tenant needs goes to the busy one at once (no lane idles while work waits). The
count is one query on Procrastinate's index of queue names, made as the visit is queued, and
stops at :data:`BEHIND`.

Procrastinate's fetch skips a job whose lock another job holds or waits for ahead of it; with
thousands of visits waiting and its table's statistics out of date (a batch just queued), the
planner checked that for every waiting visit by a scan of an index whose first column is not the
lock: 0.9 ms each, 5.7 s a fetch with 6,300 waiting (measured). :data:`BY_LOCK` makes each check
one index look-up, and the statistics are refreshed after a batch of visits queued at once
(:func:`analyze_after`) and by the sweep when many rows changed since (:func:`refresh`): a fetch
then takes 0.1 ms.
"""

from __future__ import annotations

import datetime

import procrastinate
from procrastinate import exceptions
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT

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


DEFER_ONE = f"""
SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
  %(queue)s::varchar, %(task)s::varchar,
  -({BACKLOG.replace("%(at)s", "%(when)s").strip()})::integer,
  %(flow)s::text, %(flow)s::text, %(args)s::jsonb, %(at)s::timestamptz
)::procrastinate_job_to_defer_v1])) AS id
"""
"""One visit queued with its priority counted in the same statement (what :func:`fair_priority`
and Procrastinate's deferral do in two): the flow's id is the job's lock and queueing lock."""


async def defer_one(
    app: procrastinate.App, task: str, flow_id: str, queue: str, at: datetime.datetime | None
) -> bool:
    """Queue a visit to ``flow_id`` on ``queue`` (now, or ``at``) behind its tenant's visits
    due by then, in one statement; False if the flow has one waiting already (which it keeps)."""
    when = at or datetime.datetime.now(tz=datetime.UTC)
    try:
        await app.connector.execute_query_all_async(
            DEFER_ONE, queue=queue, task=task, when=when, flow=flow_id,
            args={"flow_id": flow_id}, at=at,
        )  # fmt: skip
    except exceptions.UniqueViolation as error:
        if error.constraint_name == QUEUEING_LOCK_CONSTRAINT:
            return False
        raise
    return True


async def fair_priority(app: procrastinate.App, queue: str, at: datetime.datetime | None) -> int:
    """The priority of a visit on a tenant's ``queue`` due at ``at`` (None: now): minus the
    visits of its own tenant running or due by then (start-time fair queueing, the count kept
    by the database)."""
    when = at or datetime.datetime.now(tz=datetime.UTC)
    row = await app.connector.execute_query_one_async(BACKLOG, queue=queue, at=when)
    return -int(row["n"])


BY_LOCK = """
CREATE INDEX IF NOT EXISTS firmaio_jobs_by_lock ON procrastinate_jobs (lock)
 WHERE status IN ('todo', 'doing')
"""
"""The index Procrastinate's fetch looks a job's lock up in (made with its tables)."""

ANALYZE_AFTER = 200
"""Visits queued at once after which the job table's statistics are refreshed."""


async def analyze_after(app: procrastinate.App, queued: int) -> None:
    """Refresh the job table's statistics after a batch of ``queued`` visits (a tenth of a
    second), so the fetch's plan fits the table it now is."""
    if queued >= ANALYZE_AFTER:
        await app.connector.execute_query_async("ANALYZE procrastinate_jobs")


STALE = """
SELECT n_mod_since_analyze > GREATEST(%(after)s, reltuples / 10) AS stale
  FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
 WHERE s.relid = 'procrastinate_jobs'::regclass
"""


async def refresh(app: procrastinate.App) -> None:
    """Refresh the job table's statistics if many rows changed since they were last taken
    (autovacuum may be a minute behind): the sweep's look, every 15 s."""
    row = await app.connector.execute_query_one_async(STALE, after=ANALYZE_AFTER)
    if row and row["stale"]:
        await app.connector.execute_query_async("ANALYZE procrastinate_jobs")
