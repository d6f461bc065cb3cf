"""Each flow's due time is kept with its records and intents, in their transaction, on SQLite and
PostgreSQL: after every step of every path of the table (with steps that get no usable answer
mixed in, and status checks that find nothing new and so write no record, only the flow's
last-checked time) the stored due time is what :func:`firmaio.fsm.driving.due.due_at` computes
from the stored flow's whole trail and last-checked time; a write that fails after its record's
insert leaves nothing moved; the due rows are read in index order, a page at a time, never a
closed flow."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmaio.adapters.store import open_async_store, open_store
from firmaio.adapters.store.schema import CLOSED_NAMES
from firmaio.adapters.store.sql import SqlStore
from firmaio.fsm import ApiError, ApiUnavailable, DurableDriver, ResendPolicy, State
from firmaio.fsm.diagrams.paths import Path as RowPath
from firmaio.fsm.diagrams.paths import loops, paths
from firmaio.fsm.driving.due import due_at
from firmaio.fsm.machine import TERMINAL, VERSIONS
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.machine.steps import DEFAULT_STEPS
from firmaio.fsm.testing import EXAMPLE_ORDER, LATE_GUARDS, ManualClock, ScriptedApi, witness
from tests.helpers import answer_for

ALL = [*paths(), *loops()]
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "0.1.0"
START = 1_800_000_000.0
_ids = itertools.count()


def stored_due(reader: SqlStore, driver: DurableDriver, flow_id: str, since: float) -> None:
    """The stored due time equals the pure function's, from the flow as stored."""
    stored = reader.load(flow_id)
    assert stored is not None
    flow = driver.engine.restore(
        flow_id, stored.activation_deadline, stored.records, initial=stored.initial
    )
    expected = due_at(
        driver.engine, driver.due_policy, flow.state, stored.records, since=since,
        intent=stored.intent, intent_at=stored.intent_at, checked_at=stored.checked_at,
    )  # fmt: skip
    assert reader.due_of(flow_id) == expected, (flow.state, stored.intent, stored.records[-1:])


async def walk(
    stores: tuple[Any, SqlStore],
    path: RowPath,
    gaps: list[float],
    errors: list[bool],
    policy: dict[str, Any],
    quiet: tuple[bool, ...] = (False,),
) -> int:
    """Drive a new flow along ``path`` (a step with no usable answer first wherever ``errors``
    says, for a step whose call opens no intent; a status check that finds nothing new made
    as the watch makes it, with no record, wherever ``quiet`` says), checking the stored due
    time after each write and with each intent open. How many checks were made."""
    api, clock = ScriptedApi(), ManualClock(START)
    store, reader = stores
    checks = 0

    def at_boundary(point: str, flow: Any, trigger: str) -> None:
        nonlocal checks
        if point == "before_call":  # any intent is written: its due time with it
            stored_due(reader, driver, flow.id, START)
            checks += 1

    driver = DurableDriver(
        api, clock, store, setup=api, on_boundary=at_boundary, recovery_grace=0, **policy
    )
    flow_id = f"due-{next(_ids)}"
    try:
        order = EXAMPLE_ORDER if path[0].source is State.RECEIVED else None
        flow = await driver.open(flow_id, order=order)
        steps = zip(path, itertools.cycle(gaps), itertools.cycle(errors), itertools.cycle(quiet))
        for row, gap, error, hush in steps:
            if (
                flow.state in (State.READY, State.DOCUMENT_UPLOADED)
                and row.guard not in LATE_GUARDS
            ):
                gap = min(gap, max(0.0, flow.deadline() - clock.now() - 1.0))  # still waiting
            clock.advance(gap)
            if row.guard in LATE_GUARDS:
                clock.advance(max(0.0, flow.deadline() - clock.now()))
            step = DEFAULT_STEPS[row.trigger]
            answer = answer_for(row)
            if error and step.call is not None and not step.opens_intent:
                api.script(ApiUnavailable("timed out"))
                with pytest.raises(ApiError):
                    await driver.step(flow, row.trigger)
                stored_due(reader, driver, flow.id, START)
                checks += 1
            if hush and row.trigger == "check_status" and row.target is row.source:
                assert answer is not None
                written = len(flow.history)
                assert await driver.check_with(flow, answer) is None
                stored = reader.load(flow.id)
                assert stored is not None
                assert stored.checked_at == clock.now()
                assert len(flow.history) == written == len(stored.records), "no record"
                stored_due(reader, driver, flow.id, START)
                checks += 1
                clock.advance(gap)
            if answer is not None and not step.takes_input:
                api.script(answer)
            await driver.step(flow, row.trigger, answer if step.takes_input else None)
            stored_due(reader, driver, flow.id, START)
            checks += 1
        assert flow.state is path[-1].target
    finally:
        driver.forget(flow_id)
    return checks


@pytest.fixture
def stores(db: str) -> Iterator[tuple[Any, SqlStore]]:
    """An async store to drive with and a blocking one to read what it wrote, on ``db``."""
    store, reader = open_async_store(db), open_store(db)
    yield store, reader
    asyncio.run(store.close())
    reader.close()


policies = st.fixed_dictionaries(
    {
        "watch_every": st.one_of(st.none(), st.sampled_from([60.0, 3600.0, 86_400.0])),
        "retry_after": st.sampled_from([0.0, 30.0, 300.0]),
        "resend": st.builds(
            ResendPolicy,
            delays=st.lists(st.sampled_from([0.0, 5.0, 120.0]), max_size=3).map(tuple),
            renotify=st.lists(st.sampled_from([3600.0, 86_400.0]), max_size=2).map(tuple),
        ),
    }
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(ALL),
    gaps=st.lists(st.sampled_from([0.0, 0.5, 7.0, 4000.0]), min_size=1, max_size=6),
    errors=st.lists(st.booleans(), min_size=1, max_size=5),
    policy=policies,
    quiet=st.lists(st.booleans(), min_size=1, max_size=4).map(tuple),
)
def test_after_every_step_of_a_path_the_stored_due_time_is_what_the_trail_gives(
    stores: tuple[Any, SqlStore],
    path: RowPath,
    gaps: list[float],
    errors: list[bool],
    policy: dict[str, Any],
    quiet: tuple[bool, ...],
) -> None:
    checks = asyncio.run(walk(stores, path, gaps, errors, policy, quiet))
    assert checks >= len(path)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_every_path_of_the_table_keeps_its_due_time(stores: tuple[Any, SqlStore]) -> None:
    """Every path once (the property test samples them on both stores), default policies."""

    async def every() -> None:
        for path in ALL:
            await walk(stores, path, [1.0], [False], {}, (True, False))

    asyncio.run(every())


@contextmanager
def failing_after_the_record(store: SqlStore, ran: list[str]) -> Iterator[None]:
    """The store's next write fails on the statement after its record's insert (a crash
    there: the process dies, the connection's transaction is rolled back)."""
    original = store._transaction

    class Cursor:
        def __init__(self, cur: Any) -> None:
            self.cur = cur

        def execute(self, sql: str, params: Any = ()) -> Any:
            if ran and ran[-1].startswith("INSERT INTO audit_records"):
                raise RuntimeError("killed between the record and the flow's row")
            ran.append(sql)
            return self.cur.execute(sql, params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.cur, name)

    @contextmanager
    def transaction() -> Iterator[Any]:
        with original() as cur:
            yield Cursor(cur)

    store._transaction = transaction  # type: ignore[method-assign]
    try:
        yield
    finally:
        store._transaction = original  # type: ignore[method-assign]


def test_a_record_and_its_due_time_are_one_write(db: str, open_db: Callable[[], Any]) -> None:
    """Killed after the record's insert: no record, no state, no due time moved."""
    store: SqlStore = open_db()
    clock = ManualClock(START)

    async def opened() -> Any:
        driver = DurableDriver(ScriptedApi(), clock, open_async_store(db))
        try:
            return driver, await driver.open("due-crash")
        finally:
            await driver.store.close()

    driver, flow = asyncio.run(opened())
    before = store.due_of("due-crash"), store.rows(["due-crash"]), store.links("due-crash")
    assert before[0] == START, "a new flow is due at once"
    clock.advance(10)
    waiting = witness(g.is_waiting_for_signature)
    record = driver.engine.fire(flow, "check_activation", waiting, now=clock.now())
    ran: list[str] = []
    with failing_after_the_record(store, ran), pytest.raises(Exception, match="killed"):
        store.append(record, expected_seq=0, close_intent=False, now=clock.now(), due_at=START + 99)
    assert any(sql.startswith("INSERT INTO audit_records") for sql in ran)
    after = store.due_of("due-crash"), store.rows(["due-crash"]), store.links("due-crash")
    assert after == before
    store.append(record, expected_seq=0, close_intent=False, now=clock.now(), due_at=START + 99)
    assert store.due_of("due-crash") == START + 99
    assert [link.seq for link in store.links("due-crash")] == [1]


def test_due_rows_come_in_index_order_a_page_at_a_time_never_a_closed_one(
    open_db: Callable[[], Any],
) -> None:
    store: SqlStore = open_db()
    for n in range(7):
        store.create(f"due-{n}", activation_deadline=START, now=START, due_at=START + 10 - n)
    store.create("due-later", activation_deadline=START, now=START, due_at=START + 500)
    store.create("due-closed", activation_deadline=START, now=START, due_at=None)
    store.create("due-other", activation_deadline=START, now=START, due_at=START, tenant="b")
    seen, after = [], None
    while page := store.due(START + 100, after=after, limit=3):
        assert len(page) <= 3
        seen += [row.flow_id for row in page]
        after = (page[-1].due_at, page[-1].flow_id)
    assert seen == [f"due-{n}" for n in reversed(range(7))]
    everyone = [r.flow_id for r in store.due(START + 1000, every_tenant=True, limit=100)]
    assert everyone == ["due-other", *seen, "due-later"]
    assert [r.flow_id for r in store.due(START + 1000, tenant="b")] == ["due-other"]
    assert store.refile("due-later", expected_seq=0, due_at=START + 1)
    assert not store.refile("due-later", expected_seq=3, due_at=START + 2), "written since"
    assert store.due_of("due-later") == START + 1


def test_the_migration_files_open_flows_due_at_once_and_closed_ones_never(tmp_path: Any) -> None:
    """A store of 0.1.0 (schema 4): each open flow is due at its last update (its first visit
    re-files it), a closed one and a flow from a PDF with no record never; no table needed."""
    db = tmp_path / "flows.sqlite"
    shutil.copy(GOLDEN / "flows.sqlite", db)
    store = open_store(str(db))
    try:
        rows = store.rows()
        with store._statement() as cur:
            cur.execute("SELECT id, due_at, updated_at FROM flows")
            due = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    finally:
        store.close()
    for row in rows:
        stored, updated = due[row.flow_id]
        never = State(row.state) in TERMINAL or (row.state == "RECEIVED" and row.seq == 0)
        assert stored == (None if never else updated), row
    assert any(v[0] is None for v in due.values())
    assert any(v[0] for v in due.values())


def test_the_migration_names_every_closed_state_of_every_table_version() -> None:
    assert VERSIONS.names_of(TERMINAL) <= set(CLOSED_NAMES)


def test_of_a_listing_s_requests_those_whose_flows_are_due(open_db: Callable[[], Any]) -> None:
    """What a watch cycle keeps of a dossier's listing page (adapters/watch.py): the requests
    whose flow is due by the cycle's horizon, matched by the request's id (or by the flow's own,
    for a flow registered by it, none stored); a flow due later, a closed flow and a request
    with no flow are left out."""
    store: SqlStore = open_db()
    for flow_id, due in (("flow-a", START), ("flow-b", START + 500), ("flow-c", None)):
        store.create(flow_id, activation_deadline=START, now=START, due_at=due)
        request_id = flow_id.replace("flow", "req")
        store.execute("UPDATE flows SET request_id = ? WHERE id = ?", (request_id, flow_id))
    store.create("req-d", activation_deadline=START, now=START, due_at=START)  # by its id
    listed = ["req-a", "req-b", "req-c", "req-d", "req-e", "flow-a"]
    assert store.due_requests(listed, by=START + 100) == {"req-a", "req-d"}
    assert store.due_requests(listed, by=START + 500) == {"req-a", "req-b", "req-d"}
    assert store.due_requests([], by=START + 500) == set()
