"""A store written by an older table, read by a newer one, on SQLite and PostgreSQL: flows it
started keep their version, their old names read as the new ones (the stores' own rows, the
flows to drive, the trails), they are driven on and their chains verify; the older code meets
the newer records and refuses the flow, leaving the store exactly as it was. The two tables are
those of tests/versions_helpers.py."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from firmaio.adapters.store import AsyncStore, open_store
from firmaio.adapters.trail import verify_store
from firmaio.fsm import Answer, Engine, State
from firmaio.fsm.driving.durable import DurableDriver
from firmaio.fsm.errors import UnreadableTrail
from firmaio.fsm.machine import VERSIONS, TableVersions
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi, witness
from tests.versions_helpers import V1, V3, old_record

START = 1_800_000_000.0
WAITING_FLOW = "01ARZ3NDEKTSV4RRFFQ69G5FA1"
NOTIFIED_FLOW = "01ARZ3NDEKTSV4RRFFQ69G5FA2"
NEW_FLOW = "01ARZ3NDEKTSV4RRFFQ69G5FA3"


def write_as_version_1(db: str) -> None:
    """What table version 1 left: a flow resting in WAITING (its WAIT_FOR_SIGNATURE), one
    NOTIFIED through the row version 3 removed, one registered with no record yet."""
    engine = Engine()
    store = open_store(db, versions=V1)  # its flows' rows say version 1, as that release's did
    try:
        for flow_id, steps in (
            (WAITING_FLOW, [("check_activation", g.is_waiting_for_signature)]),
            (
                NOTIFIED_FLOW,
                [("check_activation", g.is_waiting_for_signature), ("notify", g.message_was_sent)],
            ),
            (NEW_FLOW, []),
        ):
            flow = engine.new_flow(flow_id, now=START)
            store.create(flow_id, activation_deadline=START + 120, now=START, due_at=START)
            with capture_logs():
                for seq, (trigger, guard) in enumerate(steps, start=1):
                    record = engine.fire(flow, trigger, witness(guard), now=START + seq)
                    old = old_record(record, through_removed_row=trigger == "notify")
                    store.append(
                        old, expected_seq=seq - 1, close_intent=False, now=START + seq,
                        due_at=START + seq,
                    )  # fmt: skip
    finally:
        store.close()


def stored_bytes(db: str) -> str:
    """A digest of everything the store holds, as stored (the file for SQLite)."""
    if not db.startswith("postgresql"):
        return hashlib.sha256(Path(db).read_bytes()).hexdigest()
    import psycopg

    with psycopg.connect(db) as conn:
        rows = [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("flows", "audit_records", "firmaio_schema")
        ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def driver_of(db: str, versions: TableVersions, api: ScriptedApi) -> DurableDriver:
    store = AsyncStore(lambda: open_store(db, versions=versions))
    return DurableDriver(api, ManualClock(START + 10), store, engine=Engine(versions=versions))


def test_a_store_of_the_older_table_is_read_and_driven_on_by_the_newer(db: str) -> None:
    write_as_version_1(db)
    store = open_store(db, versions=V3)
    try:
        rows = {row.flow_id: row.state for row in store.rows()}
        assert rows[WAITING_FLOW] == "WAIT_FOR_SIGNATURE"  # stored as WAITING
        assert store.counts_by_state() == {"WAIT_FOR_SIGNATURE": 1, "NOTIFIED": 1, "READY": 1}
        assert store.pending() == 2  # WAITING is an older name of a state still to drive
        loaded = store.load(NOTIFIED_FLOW)
        assert loaded is not None
        assert loaded.table_version == 1
        assert [(r.trigger, r.guard) for r in loaded.records][-1] == ("notify", "message_was_sent")
    finally:
        store.close()

    api = ScriptedApi([Answer.sent(EXAMPLE_IO_MESSAGE_ID)])
    driver = driver_of(db, V3, api)

    async def drive() -> State:
        try:
            flow = await driver.open(WAITING_FLOW)
            return await driver.advance(flow)
        finally:
            await driver.store.close()  # type: ignore[attr-defined]

    with capture_logs() as events:
        assert asyncio.run(drive()) is State.NOTIFIED
    assert any(e["event"] == "fsm.trail_read_through_migrations" for e in events)
    store = open_store(db, versions=V3)
    try:
        verdict = asyncio.run(verify_store(_Async(store), versions=V3))
        assert verdict.intact, verdict.broken
        [first, written_now] = store.load(WAITING_FLOW).records  # type: ignore[union-attr]
        assert (first.table_version, written_now.table_version) == (None, 3)
        assert store.load(NEW_FLOW).table_version == 1  # type: ignore[union-attr]
    finally:
        store.close()


def test_the_older_code_refuses_a_flow_the_newer_table_wrote_and_changes_nothing(
    db: str,
) -> None:
    """The flow version 1 registered and version 3 drove: version 2 code (the built-in table,
    a worker not yet upgraded) cannot read its records, and must not drive it."""
    write_as_version_1(db)
    answers = [witness(g.is_waiting_for_signature), Answer.sent(EXAMPLE_IO_MESSAGE_ID)]
    driver = driver_of(db, V3, ScriptedApi(answers))

    async def drive(on: DurableDriver) -> None:
        try:
            await on.advance(await on.open(NEW_FLOW))
        finally:
            await on.store.close()  # type: ignore[attr-defined]

    with capture_logs():
        asyncio.run(drive(driver))
    before = stored_bytes(db)
    api = ScriptedApi()
    older = driver_of(db, VERSIONS, api)
    with pytest.raises(UnreadableTrail) as refused:
        asyncio.run(drive(older))
    message = str(refused.value)
    assert "written by table version 3" in message
    assert "runs table version 2: table version 3 is newer: upgrade firmaio-fsm" in message
    assert api.calls == []
    assert stored_bytes(db) == before


class _Async:
    """A blocking store read as the async trail reader ``verify_store`` takes."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., object]:
        method = getattr(self._store, name)

        async def call(*args: object) -> object:
            return method(*args)

        return call
