"""Target 8: work proportional to what is due. A generator of realistic stores, and the idle pass.

:func:`build` writes a store of ``open_`` flows resting in NOTIFIED (across 10 dossiers, 3 to 5
records each: activation, notification, 1 to 3 status checks) and ``closed`` flows (SIGNED,
REJECTED, CANCELLED, 4 to 5 records), with valid hash chains and each flow's due time as
:func:`firmaio.fsm.driving.due.due_at` computes it from its trail. Each kind of history is made
once by the engine (a template); each flow is its template with its own id, chained afresh.
SQLite is written with ``executemany`` in one transaction, PostgreSQL with ``COPY``.

:func:`measure` times, on such a store: a ``serve`` pass with nothing due, the workers' sweep
query with nothing due (PostgreSQL), and a pass with ``due`` flows due (their status checks
answered by a scripted API at no cost), as wall and CPU time (``time.process_time``: every
thread of the process, the store's included).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from firmaio.fsm import Answer, Engine, default_engine
from firmaio.fsm.driving.due import DuePolicy, due_at
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import witness
from firmaio.fsm.trail import canonical, chain_hash, genesis

TEMPLATE_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
WATCH = 3600.0
NOW = 1_900_000_000.0
"""The bench's clock: open flows were last checked a minute before (due in 59 min)."""
DOSSIERS = [f"01JDOSSIER{n:016d}" for n in range(10)]
FLOWS = (
    "INSERT INTO flows (id, state, seq, head_hash, activation_deadline, created_at, updated_at,"
    " table_version, due_at, tenant, dossier_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, NULL, ?)"
)
RECORDS = "INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) VALUES (?,?,?,?,?)"


@dataclass(frozen=True)
class Template:
    state: str
    payloads: tuple[str, ...]
    due: float | None
    created: float


def template(engine: Engine, checks: int, end: str | None, last_at: float) -> Template:
    """One kind of history: activated, notified, ``checks`` status checks still open, then
    ``end`` (a status guard's name) if closed; its last record at ``last_at``."""
    steps: list[tuple[str, Answer]] = [
        ("check_activation", witness(g.is_waiting_for_signature)),
        ("notify", Answer.sent("01HZMSG0000000000000000000")),
        *[("check_status", witness(g.is_still_open))] * checks,
    ]
    if end is not None:
        steps.append(("check_status", witness(getattr(g, end))))
    first = last_at - 86_400.0 * len(steps)
    flow = engine.new_flow(TEMPLATE_ID, now=first - 60, activation_timeout=7 * 86_400)
    records = [
        engine.fire(flow, trigger, answer, now=first + 86_400.0 * n)
        for n, (trigger, answer) in enumerate(steps[:-1])
    ]
    records.append(engine.fire(flow, steps[-1][0], steps[-1][1], now=last_at))
    due = due_at(engine, DuePolicy(watch_every=WATCH), flow.state, records, since=first)
    return Template(str(flow.state), tuple(map(canonical, records)), due, first - 60)


def templates(engine: Engine, now: float = NOW) -> dict[str, list[Template]]:
    recent, stale = now - 60, now - 2 * WATCH
    return {
        "open": [template(engine, checks, None, recent) for checks in (1, 2, 3)],
        "due": [template(engine, checks, None, stale) for checks in (1, 2, 3)],
        "closed": [
            template(engine, checks, end, now - 30 * 86_400)
            for end in ("is_signed", "is_rejected", "is_cancelled")
            for checks in (1, 2)
        ],
    }


def rows(
    kinds: dict[str, list[Template]], open_: int, closed: int, due: int, now: float = NOW
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Each flow's row and its records, chained: ``due`` open flows due now, the other open
    ones due in 59 minutes, then the closed ones."""
    plan = [("due", due), ("open", open_ - due), ("closed", closed)]
    n = itertools.count()
    for kind, count in plan:
        for i in range(count):
            number = next(n)
            flow_id = f"01JBENCH{number:018d}"
            chosen = kinds[kind][i % len(kinds[kind])]
            prev = genesis(flow_id)
            records = []
            for seq, text in enumerate(chosen.payloads, start=1):
                payload = text.replace(TEMPLATE_ID, flow_id)
                digest = chain_hash(prev, payload)
                records.append((flow_id, seq, payload, prev, digest))
                prev = digest
            dossier = DOSSIERS[number % len(DOSSIERS)] if kind != "closed" else None
            yield (
                (flow_id, chosen.state, len(records), prev, chosen.created + 7 * 86_400,
                 chosen.created, now - 60, chosen.due, dossier),
                records,
            )  # fmt: skip


def build_sqlite(path: str, open_: int, closed: int, due: int = 0) -> float:
    """A SQLite store at ``path``; seconds it took."""
    from firmaio.adapters.store import open_store

    started = time.perf_counter()
    open_store(path).close()  # the schema, this code's version
    kinds = templates(default_engine())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    batch_flows: list[tuple[Any, ...]] = []
    batch_records: list[tuple[Any, ...]] = []
    for flow, records in rows(kinds, open_, closed, due):
        batch_flows.append(flow)
        batch_records += records
        if len(batch_flows) >= 20_000:
            _flush_sqlite(conn, batch_flows, batch_records)
    _flush_sqlite(conn, batch_flows, batch_records)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def _flush_sqlite(conn: sqlite3.Connection, flows: list[Any], records: list[Any]) -> None:
    conn.executemany(FLOWS, flows)
    conn.executemany(RECORDS, records)
    flows.clear()
    records.clear()


def build_postgres(dsn: str, open_: int, closed: int, due: int = 0, now: float = NOW) -> float:
    """A PostgreSQL store at ``dsn`` (COPY, one transaction), with Procrastinate's tables, as
    it stands at ``now``."""
    import psycopg

    from firmaio.adapters.queue.jobs import install_schema
    from firmaio.adapters.store import open_store

    started = time.perf_counter()
    open_store(dsn).close()
    asyncio.run(install_schema(dsn))
    kinds = templates(default_engine(), now)
    columns = "id, state, seq, head_hash, activation_deadline, created_at, updated_at, due_at, "
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY flows ({columns} dossier_id, table_version) FROM STDIN") as copy:
            for flow, _records in rows(kinds, open_, closed, due, now):
                copy.write_row((*flow, 1))
        # the histories made again (the same ones): a million flows' records never held at once
        with cur.copy(
            "COPY audit_records (flow_id, seq, payload, prev_hash, hash) FROM STDIN"
        ) as copy:
            for _flow, records in rows(kinds, open_, closed, due, now):
                for record in records:
                    copy.write_row(record)
        cur.execute("ANALYZE flows")
        cur.execute("ANALYZE audit_records")
    return time.perf_counter() - started


@dataclass
class Pass:
    wall: float
    cpu: float
    statements: int | None = None
    """PostgreSQL statements sent (counted where they were)."""


async def _timed_passes(store: Any, passes: int, api: Any = None) -> list[Pass]:
    from firmaio.adapters.factory import Factory
    from firmaio.adapters.serve import Service
    from firmaio.adapters.settings import Settings
    from firmaio.fsm.testing import ManualClock, ScriptedApi

    api = api if api is not None else ScriptedApi()
    service = Service(Factory(Settings(watch_every=WATCH), ManualClock(NOW), store), api)
    timed = []
    for _ in range(passes):
        wall, cpu = time.perf_counter(), time.process_time()
        await service._pass()
        timed.append(Pass(time.perf_counter() - wall, time.process_time() - cpu))
    return timed


async def idle_pass(store: Any, passes: int = 20) -> Pass:
    """The best of ``passes`` serve passes with nothing due."""
    timed = await _timed_passes(store, passes)
    return Pass(min(t.wall for t in timed), min(t.cpu for t in timed))


async def due_pass(store: Any, due: int) -> Pass:
    """One pass over ``due`` flows due (each gets one status check, answered at no cost)."""
    from firmaio.fsm.testing import ScriptedApi

    api = ScriptedApi([witness(g.is_still_open)] * due)
    [timed] = await _timed_passes(store, 1, api)
    assert api.remaining == 0, f"{api.remaining} of {due} due flows were not checked"
    return timed


@contextmanager
def counted_statements() -> Iterator[list[int]]:
    """The statements psycopg sends from this process meanwhile (each ``execute``, each row of
    an ``executemany``, each BEGIN and COMMIT), as ``[count]``: PostgreSQL's round trips."""
    import psycopg

    count = [0]
    execute, many = psycopg.Cursor.execute, psycopg.Cursor.executemany
    command = psycopg.Connection._exec_command

    def counted_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return execute(self, *args, **kwargs)

    def counted_many(self: Any, query: Any, rows: Any, **kwargs: Any) -> Any:
        rows = list(rows)
        count[0] += len(rows)
        return many(self, query, rows, **kwargs)

    def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return command(self, *args, **kwargs)

    psycopg.Cursor.execute, psycopg.Cursor.executemany = counted_execute, counted_many  # type: ignore[method-assign,assignment]
    psycopg.Connection._exec_command = counted_command  # type: ignore[method-assign]
    try:
        yield count
    finally:
        psycopg.Cursor.execute, psycopg.Cursor.executemany = execute, many  # type: ignore[method-assign]
        psycopg.Connection._exec_command = command  # type: ignore[method-assign]


def passes(location: str, due: int) -> tuple[Pass, Pass, Pass]:
    """On the store at ``location`` (built with ``due`` flows due): the idle pass before, the
    pass over the due flows, and the idle pass after (every flow checked: nothing due)."""
    from firmaio.adapters.store import open_async_store

    async def run() -> tuple[Pass, Pass, Pass]:
        store = open_async_store(location)
        try:
            before = await idle_pass(store, 3) if due == 0 else Pass(0.0, 0.0)
            if location.startswith("postgresql"):
                with counted_statements() as sent:
                    over = await due_pass(store, due)
                over.statements = sent[0]
            else:
                over = await due_pass(store, due) if due else Pass(0.0, 0.0)
            return before, over, await idle_pass(store)
        finally:
            await store.close()

    return asyncio.run(run())


def idle_sweep(dsn: str, rounds: int = 20) -> Pass:
    """The workers' sweep query with nothing due, best of ``rounds``."""
    import psycopg

    from firmaio.adapters.queue.jobs import UNVISITED
    from firmaio.adapters.store.due import PAGE

    best = Pass(float("inf"), float("inf"))
    with psycopg.connect(dsn) as conn:
        for _ in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            params = {"now": NOW, "due": float("-inf"), "id": "", "page": PAGE}
            found = conn.execute(UNVISITED, params).fetchall()
            spent = Pass(time.perf_counter() - wall, time.process_time() - cpu)
            assert not found, f"{len(found)} flows swept: something was due"
            best = Pass(min(best.wall, spent.wall), min(best.cpu, spent.cpu))
    return best


def counts(path_or_dsn: str) -> dict[str, int]:
    """Flows and records in a store (a check of what was built)."""
    from firmaio.adapters.store import open_store

    store = open_store(path_or_dsn)
    try:
        return {"flows": sum(store.counts_by_state().values())}
    finally:
        store.close()


def grouped(items: Iterable[int]) -> str:
    return ", ".join(f"{n:,}" for n in items)


DUE = 1_000
"""Flows due in the pass that measures the CPU per due flow."""


@dataclass
class Row:
    """One store of the growth table."""

    store: str
    flows: int
    built: float
    idle: Pass
    sweep: Pass | None
    per_due: float
    statements: float | None = None
    """PostgreSQL statements per due flow."""

    def line(self) -> str:
        sweep = "" if self.sweep is None else f", sweep {self.sweep.wall * 1e3:.2f} ms"
        sent = "" if self.statements is None else f" ({self.statements:.2f} statements)"
        return (
            f"{self.store} {self.flows:,} flows (built in {self.built:.0f} s): idle pass "
            f"{self.idle.wall * 1e3:.2f} ms "
            f"({self.idle.cpu * 1e3:.2f} ms CPU){sweep}, {self.per_due * 1e3:.3f} ms CPU per "
            f"due flow{sent}"
        )


def sqlite_row(open_: int, closed: int) -> Row:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "flows.sqlite")
        built = build_sqlite(path, open_, closed, due=DUE)
        _before, over, idle = passes(path, DUE)
    return Row("SQLite", open_ + closed, built, idle, None, over.cpu / DUE)


def postgres_row(open_: int, closed: int) -> Row:
    from bench.queue_bench import postgres_schema

    with postgres_schema() as dsn:
        built = build_postgres(dsn, open_, closed, due=DUE)
        _before, over, idle = passes(dsn, DUE)
        sweep = idle_sweep(dsn)
    sent = None if over.statements is None else over.statements / DUE
    return Row("PostgreSQL", open_ + closed, built, idle, sweep, over.cpu / DUE, sent)


def postgres_reachable() -> bool:
    from bench.queue_bench import POSTGRES_URL

    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception:
        return False
    return True


def growth(large: bool) -> list[Row]:
    """The idle pass as the store grows: SQLite 10,000 and 150,000 (100,000 open), PostgreSQL
    100,000; with ``large``, 1,000,000 on both (100,000 open, 900,000 closed)."""
    found = [sqlite_row(5_000, 5_000), sqlite_row(100_000, 50_000)]
    pg = postgres_reachable()
    if pg:
        found.append(postgres_row(10_000, 90_000))
    if large:
        found.append(sqlite_row(100_000, 900_000))
        if pg:
            found.append(postgres_row(100_000, 900_000))
    return found
