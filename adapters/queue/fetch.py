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
fetch with two differences. A job's queue is looked up in the set by its key (an index look-up
per job walked past, whatever the number of names), where Procrastinate's tests it against
the array. And it looks in two places: Procrastinate walks its index of waiting jobs by
priority past every job scheduled later (each resting flow's next status check: thousands,
about a millisecond a fetch), where here the jobs due now (no ``scheduled_at``: a visit
queued for now, :func:`.jobs.tend`'s next visit when due at once) are walked on an index of
their own, and the jobs whose time has come on an index by time, only if one is ahead of the
first's best. The job taken is the same: the best by priority, then age, of every job due.
Everything else is Procrastinate's: the locks (no job of a lock another job holds or waits
for ahead of it), ``FOR UPDATE SKIP LOCKED``, the status and the worker's id set in the same
statement (its triggers then record the events as for its own fetch); the first look's best,
when the second's wins, stays locked until the fetch ends (a fetch beside it skips it, as it
skips any job another fetch holds). Procrastinate's worker itself runs on every queue
(``queues=None``), and listens on its own queues' channels (:class:`SetJobManager`): not on
the channel every deferral of the database notifies, which woke it to fetch nothing for each
job of another worker or deployment (NOTIFY reaches every schema). So a worker never runs a
job of a tenant it has no key for, even with that tenant's jobs in its store.

The table, the two indexes and the function are installed with Procrastinate's schema
(:func:`install`, under the same advisory lock), the function replaced only when its text
differs from this version's (a newer firmaio upgrades it in place; replacing it on every start
would make every running worker plan its fetch again). A set of a configuration no worker runs
any more is left in place (a row per queue); deleting it is safe once no worker of that
configuration runs.
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

_SERVED = """(
            SELECT true FROM firmaio_queue_sets AS sets
             WHERE sets.set_key = p_set_key AND sets.queue_name = jobs.queue_name)"""
"""The job's queue is in the set (a scalar sub-select: one index look-up per job walked past;
written as ``EXISTS`` the planner would join the whole set first)."""

_FREE = """NOT EXISTS (
            SELECT 1 FROM procrastinate_jobs AS other_jobs
             WHERE jobs.lock IS NOT NULL AND other_jobs.lock = jobs.lock
               AND (other_jobs.status = 'doing'
                    OR (other_jobs.status = 'todo'
                        AND (other_jobs.priority > jobs.priority
                             OR (other_jobs.priority = jobs.priority
                                 AND other_jobs.id < jobs.id)))))"""
"""Procrastinate's rule: no job of the lock runs, nor waits ahead of this one."""

FEW = 100
"""Jobs whose time has come, up to which the second look takes them by time (then sorts them
by priority); past that many (a backlog), it walks them by priority as Procrastinate does."""

FETCH_BODY = f"""
DECLARE
    found_jobs procrastinate_jobs;
    now_id bigint;
    now_priority integer;
    come bigint[];
    due_id bigint;
BEGIN
    SELECT jobs.id, jobs.priority INTO now_id, now_priority
      FROM procrastinate_jobs AS jobs
     WHERE jobs.status = 'todo' AND jobs.scheduled_at IS NULL
       AND {_SERVED}
       AND {_FREE}
     ORDER BY jobs.priority DESC, jobs.id ASC LIMIT 1
       FOR UPDATE OF jobs SKIP LOCKED;
    SELECT array_agg(id) INTO come FROM (
        SELECT id FROM procrastinate_jobs
         WHERE status = 'todo' AND scheduled_at IS NOT NULL AND scheduled_at <= now()
         LIMIT {FEW}) AS first_come;
    IF cardinality(come) < {FEW} THEN
        SELECT jobs.id INTO due_id
          FROM procrastinate_jobs AS jobs
         WHERE jobs.id = ANY(come)
           AND jobs.status = 'todo' AND jobs.scheduled_at <= now()
           AND (now_id IS NULL OR jobs.priority > now_priority
                OR (jobs.priority = now_priority AND jobs.id < now_id))
           AND {_SERVED}
           AND {_FREE}
         ORDER BY jobs.priority DESC, jobs.id ASC LIMIT 1
           FOR UPDATE OF jobs SKIP LOCKED;
    ELSIF come IS NOT NULL THEN
        SELECT jobs.id INTO due_id
          FROM procrastinate_jobs AS jobs
         WHERE jobs.status = 'todo' AND jobs.scheduled_at <= now()
           AND (now_id IS NULL OR jobs.priority > now_priority
                OR (jobs.priority = now_priority AND jobs.id < now_id))
           AND {_SERVED}
           AND {_FREE}
         ORDER BY jobs.priority DESC, jobs.id ASC LIMIT 1
           FOR UPDATE OF jobs SKIP LOCKED;
    END IF;
    IF COALESCE(due_id, now_id) IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE procrastinate_jobs
       SET status = 'doing', worker_id = p_worker_id
     WHERE procrastinate_jobs.id = COALESCE(due_id, now_id)
    RETURNING procrastinate_jobs.* INTO found_jobs;
    RETURN found_jobs;
END;
"""
"""Procrastinate 3's ``procrastinate_fetch_job_v2`` in two looks (see the module docstring):
the best job due now (``scheduled_at`` NULL), then the best job whose time has come if it is
better (the few such jobs by time, or a backlog of them by priority); its queue filter a
look-up in the set."""

INDEXES = (
    """CREATE INDEX IF NOT EXISTS firmaio_jobs_now ON procrastinate_jobs (priority DESC, id)
        WHERE status = 'todo' AND scheduled_at IS NULL""",
    """CREATE INDEX IF NOT EXISTS firmaio_jobs_scheduled ON procrastinate_jobs (scheduled_at)
        WHERE status = 'todo' AND scheduled_at IS NOT NULL""",
)
"""The two looks' indexes: the jobs due now by priority, the scheduled jobs by time."""

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
    for index in INDEXES:
        await conn.execute(index)
    cursor = await conn.execute(FETCH_SOURCE)
    found = await cursor.fetchone()
    if found is None or found[0] != FETCH_BODY:
        await conn.execute(FETCH_FUNCTION)


class SetJobManager(JobManager):
    """Procrastinate's job manager whose fetch takes a job of its queue set only, named by its
    key (the ``queues`` Procrastinate's worker passes are ignored: it runs on every queue), and
    which listens for the deferrals of those queues only (when they are given): a worker is not
    woken to fetch nothing by every job another deployment or worker queues in the database
    (NOTIFY reaches every schema of it)."""

    def __init__(self, connector: Any, key: str, queues: Iterable[str] | None = None) -> None:
        super().__init__(connector)
        self.key = key
        self.queues = None if queues is None else sorted(set(queues))

    async def listen_for_jobs(self, *, on_notification: Any, queues: Any = None) -> None:
        del queues  # the worker's own: its set's queues, one channel each (LISTEN once each)
        await super().listen_for_jobs(on_notification=on_notification, queues=self.queues)

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


def fetch_from(app: Any, key: str, queues: Iterable[str] | None = None) -> None:
    """Make ``app``'s fetch take jobs of the set ``key`` only (its job manager replaced), woken
    by the deferrals of ``queues`` (the set's; None: of every queue)."""
    app.job_manager = SetJobManager(app.connector, key, queues)
