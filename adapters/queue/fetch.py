"""A worker's job fetch that costs the same with one tenant or a thousand.

Procrastinate's worker fetches a job with ``procrastinate_fetch_job_v2(queues, worker_id)``:
every fetch sends the worker's queue names as an array (1,001 strings for a worker of 1,000
tenants, dumped by psycopg each time), and PostgreSQL compares each job it walks past with
each name of that array in turn. The same worker also listens on one channel per queue, and
copies its list of queues into every log line's context. Its cost grows with the tenants.

Here the worker's queues are registered once, as a **queue set** in a table of the store
(``firmaio_queue_sets``: the set's key, one row per queue), under a key made of the names
themselves (:func:`set_key`: every worker with the same tenants shares one set, and a set's
rows never change once written). The fetch is :data:`FETCH_FUNCTION`, Procrastinate's own
fetch with one difference: a job's queue is looked up in the set by its key (an index look-up
per job walked past, whatever the number of names), where Procrastinate's tests it against
the array. Everything else is Procrastinate's: the order (priority, then age), the locks (no
job of a lock another job holds or waits for ahead of it), ``scheduled_at``, ``FOR UPDATE
SKIP LOCKED``, the status and the worker's id set in the same statement (its triggers then
record the events as for its own fetch). Procrastinate's worker itself runs on every queue
(``queues=None``): it listens on the one channel every deferral notifies, and a notification
of a job it does not serve costs one fetch that finds nothing. So a worker never runs a job of
a tenant it has no key for, even with that tenant's jobs in its store.

The table and the function are installed with Procrastinate's schema (:func:`install`, under
the same advisory lock), the function replaced only when its text differs from this version's
(a newer firmaio upgrades it in place; replacing it on every start would make every running
worker plan its fetch again). A set of a configuration no worker runs any more is left in
place (a row per queue); deleting it is safe once no worker of that configuration runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from procrastinate.jobs import Job
from procrastinate.manager import JobManager

QUEUE_SETS = """
CREATE TABLE IF NOT EXISTS firmaio_queue_sets (
  set_key text NOT NULL,
  queue_name character varying(128) NOT NULL,
  PRIMARY KEY (set_key, queue_name)
)
"""
"""Each queue set's queues (installed with Procrastinate's tables)."""

FETCH_BODY = """
DECLARE
    found_jobs procrastinate_jobs;
BEGIN
    WITH candidate AS (
        SELECT jobs.*
            FROM procrastinate_jobs AS jobs
            WHERE
                NOT EXISTS (
                    SELECT 1
                        FROM procrastinate_jobs AS other_jobs
                        WHERE
                            jobs.lock IS NOT NULL
                            AND other_jobs.lock = jobs.lock
                            AND (
                                other_jobs.status = 'doing'
                                OR (
                                    other_jobs.status = 'todo'
                                    AND (
                                        other_jobs.priority > jobs.priority
                                        OR (
                                            other_jobs.priority = jobs.priority
                                            AND other_jobs.id < jobs.id
                                        )
                                    )
                                )
                            )
                )
                AND jobs.status = 'todo'
                AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
                AND (
                    SELECT true FROM firmaio_queue_sets AS sets
                     WHERE sets.set_key = p_set_key AND sets.queue_name = jobs.queue_name
                )
            ORDER BY jobs.priority DESC, jobs.id ASC LIMIT 1
            FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs
        SET status = 'doing', worker_id = p_worker_id
        FROM candidate
        WHERE procrastinate_jobs.id = candidate.id
        RETURNING procrastinate_jobs.* INTO found_jobs;

    RETURN found_jobs;
END;
"""
"""Procrastinate 3's ``procrastinate_fetch_job_v2``, its queue filter a look-up in a set."""

FETCH_FUNCTION = f"""
CREATE OR REPLACE FUNCTION firmaio_fetch_job_v1(p_set_key text, p_worker_id bigint)
    RETURNS procrastinate_jobs
    LANGUAGE plpgsql
AS $fetch${FETCH_BODY}$fetch$
"""

FETCH_SOURCE = """
SELECT prosrc FROM pg_proc WHERE proname = 'firmaio_fetch_job_v1'
   AND pronamespace = current_schema()::regnamespace
"""

FETCH_JOB = """
SELECT id, status, task_name, priority, lock, queueing_lock, args, scheduled_at, queue_name,
       attempts, worker_id
  FROM firmaio_fetch_job_v1(%(key)s, %(worker_id)s)
"""
"""What :meth:`SetJobManager.fetch_job` sends: a key and a worker's id, whatever the queues."""

REGISTER = """
INSERT INTO firmaio_queue_sets (set_key, queue_name)
SELECT %(key)s, name FROM unnest(%(queues)s::varchar[]) AS name
ON CONFLICT DO NOTHING
"""


def set_key(queues: Iterable[str]) -> str:
    """The key of the set of ``queues`` (the same for the same names, in any order)."""
    names = json.dumps(sorted(set(queues)))
    return "qs-" + hashlib.sha256(names.encode()).hexdigest()[:32]


async def install(conn: Any) -> None:
    """Install the queue sets' table and the fetch on ``conn`` (a psycopg async connection in
    the transaction that installs Procrastinate's schema): the table if missing, the function
    if missing or not this version's."""
    await conn.execute(QUEUE_SETS)
    cursor = await conn.execute(FETCH_SOURCE)
    found = await cursor.fetchone()
    if found is None or found[0] != FETCH_BODY:
        await conn.execute(FETCH_FUNCTION)


class SetJobManager(JobManager):
    """Procrastinate's job manager whose fetch takes a job of its queue set only, named by its
    key (the ``queues`` Procrastinate's worker passes are ignored: it runs on every queue)."""

    def __init__(self, connector: Any, key: str) -> None:
        super().__init__(connector)
        self.key = key

    async def fetch_job(self, queues: Iterable[str] | None, worker_id: int) -> Job | None:
        del queues
        row = await self.connector.execute_query_one_async(
            query=FETCH_JOB, key=self.key, worker_id=worker_id
        )
        if row["id"] is None:
            return None
        return Job.from_row(row)


async def register(dsn: str, queues: Iterable[str]) -> str:
    """Register the set of ``queues`` in the store at ``dsn`` (if it is not there); its key.
    A database that cannot be reached is a :class:`~firmaio.fsm.errors.StoreUnavailable`."""
    import psycopg

    from ..store.failures import postgres_error

    names = sorted(set(queues))
    key = set_key(names)
    try:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute(REGISTER, {"key": key, "queues": names})
    except psycopg.Error as error:
        raise postgres_error(error, dsn) from None
    return key


def fetch_from(app: Any, key: str) -> None:
    """Make ``app``'s fetch take jobs of the set ``key`` only (its job manager replaced)."""
    app.job_manager = SetJobManager(app.connector, key)
