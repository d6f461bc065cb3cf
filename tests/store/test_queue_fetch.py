"""A worker's fetch by queue set (:mod:`firmaio.adapters.queue.fetch`): it takes the jobs of
its own tenants only, in Procrastinate's order (priority, then age) across the jobs due now and
those whose time has come, never a job whose lock is held nor one scheduled later; it is woken
by its own queues' deferrals only; its table and function install again without harm, and an
older function is replaced by this version's."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

pytestmark = pytest.mark.store


def _todo(url: str) -> list[tuple[str, str, int]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT lock, queue_name, attempts FROM procrastinate_jobs WHERE status = 'todo'"
            " ORDER BY id"
        ).fetchall()
    return [(str(a), str(b), int(c)) for a, b, c in rows]


@contextlib.asynccontextmanager
async def heard(app: Any) -> AsyncIterator[list[str]]:
    """The channels of the notifications ``app``'s worker is woken by, while the block runs
    (its LISTENs made first)."""
    woken: list[str] = []

    async def on_notification(*, channel: str, notification: object) -> None:
        woken.append(channel)

    listening = asyncio.create_task(
        app.job_manager.listen_for_jobs(on_notification=on_notification)
    )
    try:
        await asyncio.sleep(0.5)  # its LISTENs made
        yield woken
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def until(done: Callable[[], bool], within: float = 10.0) -> None:
    async def wait() -> None:
        while not done():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), within)


def test_a_worker_of_tenants_a_and_b_never_takes_a_job_of_tenant_c(postgres_url: str) -> None:
    from procrastinate.jobs import Status

    from firmaio.adapters.queue.fetch import fetch_from, register
    from firmaio.adapters.queue.jobs import MAINTENANCE, defer, install_schema, queue_app, queue_of

    now = datetime.datetime.now(tz=datetime.UTC)
    earlier, later = now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=1)

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        key = await register(postgres_url, [MAINTENANCE, queue_of("a"), queue_of("b")])
        fetch_from(app, key)
        async with app.open_async():
            await defer(app, ["c1", "c2"], tenant="c")  # first queued, at the top priority
            await defer(app, ["a1", "a2"], tenant="a")  # 0, -1
            await defer(app, ["b0"], tenant="b", at=earlier)  # 0, its time come
            await defer(app, ["b1"], tenant="b")  # -1: behind b0
            await defer(app, ["a3"], tenant="a", at=later)  # not due yet
            manager = app.job_manager
            worker = await manager.register_worker()
            first = await manager.fetch_job(None, worker)
            assert first is not None
            # a1's next visit, queued while a1 runs: its lock is held, so it waits
            await defer(app, ["a1"], tenant="a")
            taken = [first.lock or ""]
            while (job := await manager.fetch_job(None, worker)) is not None:
                taken.append(job.lock or "")
            blocked = [lock for lock, _, _ in _todo(postgres_url)]
            await manager.finish_job(first, status=Status.SUCCEEDED, delete_job=True)
            after = []
            while (job := await manager.fetch_job(None, worker)) is not None:
                after.append(job.lock or "")
            return taken, blocked, after

    taken, blocked, after = asyncio.run(scenario())
    # by priority then age, whether due now or at a time come: a1 (0) before b0 (0, younger),
    # b0 before a2 (-1), a2 before b1 (-1, younger)
    assert taken == ["a1", "b0", "a2", "b1"], "tenant a's and b's due jobs in Procrastinate's order"
    assert blocked == ["c1", "c2", "a3", "a1"]
    assert after == ["a1"], "a1's next visit, once a1's first visit ended; never c's"
    assert [(lock, attempts) for lock, _, attempts in _todo(postgres_url)] == [
        ("c1", 0),
        ("c2", 0),
        ("a3", 0),
    ], "tenant c's jobs left as they were queued"


def test_the_fetch_installs_again_and_replaces_an_older_one(postgres_url: str) -> None:
    import psycopg

    from firmaio.adapters.queue.fetch import FETCH_BODY, register, set_key
    from firmaio.adapters.queue.jobs import install_schema

    async def install_twice() -> list[str]:
        first = await install_schema(postgres_url)
        second = await install_schema(postgres_url)
        assert (first, second) == (True, False)
        return [
            await register(postgres_url, ["firmaio.b", "firmaio.a", "firmaio"]),
            await register(postgres_url, ["firmaio", "firmaio.a", "firmaio.b", "firmaio.a"]),
        ]

    keys = asyncio.run(install_twice())
    assert keys[0] == keys[1] == set_key(["firmaio.a", "firmaio", "firmaio.b"])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) FROM firmaio_queue_sets").fetchone()
        assert rows == (3,), "a set registered twice is stored once"
        conn.execute(  # an older firmaio's fetch
            "CREATE OR REPLACE FUNCTION firmaio_fetch_job_v1(p_set_key text, p_worker_id bigint)"
            " RETURNS procrastinate_jobs LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$"
        )
    asyncio.run(install_schema(postgres_url))
    with psycopg.connect(postgres_url) as conn:
        sources = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'firmaio_fetch_job_v1'"
            " AND pronamespace = current_schema()::regnamespace"
        ).fetchall()
    assert sources == [(FETCH_BODY,)]


def test_a_worker_is_woken_by_its_own_queues_deferrals_only(postgres_url: str) -> None:
    """A worker listens on its queues' channels: a job queued for tenant c (another worker's,
    or another deployment's in the same database: NOTIFY reaches every schema) does not wake
    the worker of tenants a and b to fetch nothing; a job of a does."""
    from firmaio.adapters.queue.fetch import fetch_from, register
    from firmaio.adapters.queue.jobs import MAINTENANCE, defer, install_schema, queue_app, queue_of

    async def scenario() -> list[str]:
        await install_schema(postgres_url)
        queues = [MAINTENANCE, queue_of("a"), queue_of("b")]
        app = queue_app(postgres_url)
        fetch_from(app, await register(postgres_url, queues), queues)
        async with app.open_async(), heard(app) as woken:
            await defer(app, ["c1"], tenant="c")
            await defer(app, ["a1"], tenant="a")
            await until(lambda: any(c.endswith(queue_of("a")) for c in woken))
        return woken

    woken = asyncio.run(scenario())
    assert woken == [f"procrastinate_queue_v1#{queue_of('a')}"], "c's job woke it too"


def test_a_tenant_with_a_long_name_gets_its_jobs_queued_and_run(postgres_url: str) -> None:
    """A tenant's name may have 63 characters; its queue's notification channel may have 63
    bytes in all (PostgreSQL refuses a longer one, and the deferral with it): a long name's
    queue is shortened, still its own, and its worker is woken and takes its job."""
    from firmaio.adapters.queue.fetch import fetch_from, register
    from firmaio.adapters.queue.jobs import MAINTENANCE, defer, install_schema, queue_app, queue_of

    long_a, long_b = "comune-di-" + "a" * 53, "comune-di-" + "a" * 52 + "b"
    assert len(long_a) == 63
    assert queue_of(long_a) != queue_of(long_b)
    assert len(f"procrastinate_queue_v1#{queue_of(long_a)}") <= 63

    async def scenario() -> tuple[list[str], str | None]:
        await install_schema(postgres_url)
        queues = [MAINTENANCE, queue_of(long_a)]
        app = queue_app(postgres_url)
        fetch_from(app, await register(postgres_url, queues), queues)
        async with app.open_async():
            async with heard(app) as woken:
                await defer(app, ["long1"], tenant=long_a)
                await until(lambda: bool(woken))
            manager = app.job_manager
            job = await manager.fetch_job(None, await manager.register_worker())
        return woken, None if job is None else job.lock

    woken, taken = asyncio.run(scenario())
    assert woken == [f"procrastinate_queue_v1#{queue_of(long_a)}"]
    assert taken == "long1"
