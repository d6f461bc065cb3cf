"""The job queue on PostgreSQL: a visit queued alone (a visit's next one, the sweep's) is one
statement with its fair priority counted in it, and gets the priority a batch would have given
it; a flow with a visit waiting keeps that one; the queue's pool replaces a connection the
database cut while it rested, before the next query."""

from __future__ import annotations

import asyncio
import datetime

import pytest

pytestmark = pytest.mark.store


def _jobs(url: str) -> list[tuple[str, str, int, bool]]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT lock, queue_name, priority, scheduled_at IS NOT NULL FROM procrastinate_jobs"
            " WHERE status = 'todo' ORDER BY id"
        ).fetchall()
    return [(str(a), str(b), int(c), bool(d)) for a, b, c, d in rows]


def test_a_visit_queued_alone_gets_the_priority_of_a_batch(postgres_url: str) -> None:
    from firmaio.adapters.queue.jobs import defer, install_schema, queue_app

    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=1)

    async def queue() -> list[int]:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        async with app.open_async():
            return [
                await defer(app, ["a1", "a2", "a3"], tenant="a"),  # a batch: 0, -1, -2
                await defer(app, ["a4"], tenant="a"),  # alone, behind a's three
                await defer(app, ["a4"], tenant="a"),  # waiting already: kept, none queued
                await defer(app, ["b1"], tenant="b"),  # behind none of a's
                await defer(app, ["a5"], tenant="a", at=later),  # due later: behind all of a's
                await defer(app, ["b2"], tenant="b", at=later),
                await defer(app, ["b3", "a4", "b3", "b4"], tenant="b"),  # a4 kept, b3 once
            ]

    assert asyncio.run(queue()) == [3, 1, 0, 1, 1, 1, 2]
    assert _jobs(postgres_url) == [
        ("a1", "firmaio.a", 0, False),
        ("a2", "firmaio.a", -1, False),
        ("a3", "firmaio.a", -2, False),
        ("a4", "firmaio.a", -3, False),
        ("b1", "firmaio.b", 0, False),
        ("a5", "firmaio.a", -4, True),
        ("b2", "firmaio.b", -1, True),
        ("b3", "firmaio.b", -1, False),
        ("b4", "firmaio.b", -2, False),
    ]


def test_two_long_batches_are_served_side_by_side_to_their_ends(postgres_url: str) -> None:
    """Two tenants that queue 1,500 flows each, one after the other: each visit of a batch is
    one behind the one before it past the count's 1,000 too, so the second tenant's last
    visits are taken beside the first's, not after all of them."""
    import psycopg

    from firmaio.adapters.queue.jobs import defer, install_schema, queue_app

    async def queue() -> list[int]:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        async with app.open_async():
            return [await defer(app, [f"{t}{n}" for n in range(1500)], tenant=t) for t in "xy"]

    assert asyncio.run(queue()) == [1500, 1500]
    with psycopg.connect(postgres_url) as conn:
        order = conn.execute(  # the order Procrastinate's fetch takes them in
            "SELECT lock FROM procrastinate_jobs WHERE status = 'todo' ORDER BY priority DESC, id"
        ).fetchall()
    taken = [str(lock) for (lock,) in order]
    assert taken[:4] == ["x0", "y0", "x1", "y1"]
    assert taken[-4:] == ["x1498", "y1498", "x1499", "y1499"]


def test_a_batch_queued_in_statements_of_many_or_one_at_a_time_alike(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is queued a few statements of many visits each; where one of its flows got a
    visit meanwhile (another process queued it), that statement is made one visit at a time:
    the same visits, the same priorities either way, each flow's waiting visit kept."""
    from firmaio.adapters.queue import fairness, jobs
    from firmaio.adapters.queue.jobs import defer, install_schema, queue_app

    monkeypatch.setattr(jobs, "BATCH", 2)
    real = fairness.defer_many

    async def raced(app: object, task: str, flow_ids: list[str], *rest: object) -> int | None:
        if "c3" in flow_ids:  # as if another process queued one of this statement's flows
            return None
        return await real(app, task, flow_ids, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "defer_many", raced)

    async def queue() -> list[int]:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        async with app.open_async():
            return [
                await defer(app, ["c2"], tenant="c"),
                await defer(app, ["c1", "c2", "c3", "c4", "c5"], tenant="c"),
            ]

    assert asyncio.run(queue()) == [1, 4]
    assert _jobs(postgres_url) == [
        ("c2", "firmaio.c", 0, False),
        ("c1", "firmaio.c", -1, False),
        ("c3", "firmaio.c", -2, False),
        ("c4", "firmaio.c", -3, False),
        ("c5", "firmaio.c", -4, False),
    ]


def test_a_connection_cut_while_it_rested_is_replaced_before_the_next_query(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from firmaio.adapters.queue import pool
    from firmaio.adapters.queue.jobs import install_schema, queue_app

    monkeypatch.setattr(pool, "IDLE_CHECK", 0.05)

    async def run() -> tuple[int, int, bool]:
        await install_schema(postgres_url)
        app = queue_app(postgres_url)
        async with app.open_async():
            first = await app.connector.execute_query_one_async("SELECT pg_backend_pid() AS p")
            in_transaction = await app.connector.execute_query_one_async(
                "SELECT now() <> statement_timestamp() AS t"
            )  # autocommit: each query its own transaction
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (first["p"],))
            await asyncio.sleep(0.2)  # it rests longer than IDLE_CHECK: checked, replaced
            second = await app.connector.execute_query_one_async("SELECT pg_backend_pid() AS p")
            return int(first["p"]), int(second["p"]), bool(in_transaction["t"])

    first, second, in_transaction = asyncio.run(run())
    assert second != first
    assert not in_transaction
