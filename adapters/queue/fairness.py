"""Tenants served fairly by one worker over every tenant's queue: each visit's priority.

Procrastinate takes the job of highest priority first, the oldest first among equals. A visit
queued with minus the number of its own tenant's visits already running or due gets behind
those, and behind no other tenant's: the n-th waiting visit of a busy tenant comes after the
first visit of every other. A tenant with one flow is served next to one with ten thousand; a
slot no other tenant needs goes to the busy one at once (no lane idles while work waits). The
count is one query on Procrastinate's index of queue names, made as the visit is queued, and
stops at :data:`BEHIND`. A batch queued at once (``firmaio enqueue``) is one statement per
:data:`BATCH` visits, each visit one behind the one before it however long the batch: two
tenants that queue 1,500 flows each at once have their 1,200th visits side by side (were the
batch's priorities to stop at ``-BEHIND`` too, the tenant queued last would get its last 500
visits only after every other tenant's, its key's window idle meanwhile).

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
from typing import Any

import procrastinate
from procrastinate import exceptions
from procrastinate.manager import QUEUEING_LOCK_CONSTRAINT
from procrastinate.tasks import Task

BEHIND = 1000
"""The most visits a new one is counted behind (the count's cost stays bounded however many
visits a tenant has scheduled): a visit queued alone past that waits behind 1,000 of its
tenant's; one of a batch, behind the batch's visits before it as well."""

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


DEFER_MANY = """
SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
  SELECT ROW(
    %(queue)s::varchar, %(task)s::varchar,
    (%(first)s::integer + 1 - row_number() OVER (ORDER BY f.n))::integer,
    f.id, f.id, jsonb_build_object('flow_id', f.id), %(at)s::timestamptz
  )::procrastinate_job_to_defer_v1
    FROM unnest(%(flows)s::text[]) WITH ORDINALITY AS f(id, n)
   WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                      WHERE j.queueing_lock = f.id AND j.status = 'todo')
   ORDER BY f.n))) AS id
"""
"""Visits queued at once, in the order given, each one behind the one before it (``first``,
then one less each, however many), a flow with a visit waiting left out: one statement for a
whole batch (Procrastinate's deferral is one per job)."""

BATCH = 1000
"""Visits queued per statement of :data:`DEFER_MANY`."""


async def defer_many(
    app: procrastinate.App,
    task: str,
    flow_ids: list[str],
    queue: str,
    at: datetime.datetime | None,
    first: int,
) -> int | None:
    """Queue a visit to each of ``flow_ids`` (distinct) on ``queue``, in one statement, the
    first at priority ``first``; those with a visit waiting keep theirs. How many were queued;
    None if one of them got a visit waiting meanwhile (another process queued it): nothing was
    queued then, and the caller queues them one at a time."""
    try:
        rows = await app.connector.execute_query_all_async(
            DEFER_MANY, queue=queue, task=task, first=first, flows=flow_ids, at=at
        )
    except exceptions.UniqueViolation as error:
        if error.constraint_name == QUEUEING_LOCK_CONSTRAINT:
            return None
        raise
    return len(rows)


async def defer_each(
    task: Task[Any, Any, Any],
    flow_ids: list[str],
    queue: str,
    at: datetime.datetime | None,
    priority: int,
) -> int:
    """Queue a visit to each flow, one statement each, ``priority`` for the first queued and
    one less for each next; a flow with one waiting keeps it. How many were queued."""
    queued = 0
    for flow_id in flow_ids:
        options: dict[str, Any] = {
            "lock": flow_id,
            "queueing_lock": flow_id,
            "queue": queue,
            "priority": priority - queued,
        }
        if at is not None:
            options["schedule_at"] = at
        try:
            await task.configure(**options).defer_async(flow_id=flow_id)
        except exceptions.AlreadyEnqueued:
            continue
        queued += 1
    return queued


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
