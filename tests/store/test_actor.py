"""Who made each attempt: an optional actor on the record, stamped by the driver and the batch
runner, stored inside the record's payload, and chains written before actors existed still
verify."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from firmaio.adapters.factory import Factory
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store, open_store
from firmaio.fsm import Answer, State
from firmaio.fsm.driving.durable import DurableDriver
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.testing import EXAMPLE_IO_MESSAGE_ID, ManualClock, ScriptedApi
from firmaio.fsm.trail.chain import ChainLink, canonical, chain_hash, genesis, verify_chain

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
TO_NOTIFIED = [
    Answer.request("WAIT_FOR_SIGNATURE"),
    Answer.sent(EXAMPLE_IO_MESSAGE_ID),
]


def _stored_payloads(db: str, flow_id: str) -> list[dict[str, object]]:
    store = open_store(db, read_only=True)
    try:
        return [json.loads(link.payload) for link in store.links(flow_id)]
    finally:
        store.close()


def test_a_record_without_an_actor_is_stored_and_hashed_as_before() -> None:
    """The canonical form of a record with no actor has no ``actor`` key: it is byte for byte
    the form written before actors existed, so old chains keep their hashes."""
    engine = default_engine()
    flow = engine.new_flow(RID, now=0.0)
    record = engine.fire(flow, "check_activation", Answer.request("READY"), now=1.0)
    record = record._replace(table_version=None)  # as then: no table version either
    before_actors = {
        name: value
        for name, value in json.loads(canonical(record)).items()
        if name in record._fields[: record._fields.index("actor")] or name == "guard"
    }
    old_form = json.dumps(before_actors, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "actor" not in json.loads(canonical(record))
    assert canonical(record) == old_form
    stamped = engine.fire(flow, "check_activation", Answer.request("READY"), now=2.0, actor="w1")
    assert json.loads(canonical(stamped))["actor"] == "w1"


def test_a_durable_driver_stamps_its_actor_and_the_chain_still_verifies(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")

    async def run() -> State:
        store = open_async_store(db)
        try:
            driver = DurableDriver(
                ScriptedApi(list(TO_NOTIFIED)), ManualClock(), store, actor="tenant-a/worker-1"
            )
            flow = await driver.open(RID)
            return await driver.advance(flow)
        finally:
            await store.close()

    assert asyncio.run(run()) is State.NOTIFIED
    payloads = _stored_payloads(db, RID)
    assert [p["actor"] for p in payloads] == ["tenant-a/worker-1"] * len(payloads)
    store = open_store(db, read_only=True)
    try:
        [row] = store.rows([RID])
        links = store.links(RID)
        assert verify_chain(RID, links, row.seq, row.head_hash, row.state) is None
        restored = store.load(RID)
    finally:
        store.close()
    assert restored is not None
    assert {r.actor for r in restored.records} == {"tenant-a/worker-1"}


def test_a_mixed_chain_of_records_with_and_without_actor_verifies() -> None:
    """A flow whose first records predate actors and whose later ones carry one is one chain."""
    engine = default_engine()
    flow = engine.new_flow(RID, now=0.0)
    records = [
        engine.fire(flow, "check_activation", Answer.request("WAIT_FOR_SIGNATURE"), now=1.0),
        engine.fire(flow, "notify", Answer.sent(EXAMPLE_IO_MESSAGE_ID), now=2.0, actor="w2"),
    ]
    links, prev = [], genesis(RID)
    for record in records:
        payload = canonical(record)
        digest = chain_hash(prev, payload)
        links.append(ChainLink(record.seq, payload, prev, digest))
        prev = digest
    assert verify_chain(RID, links, 2, prev, str(State.NOTIFIED)) is None


def test_a_batch_run_stamps_its_worker_name(tmp_path: Path) -> None:
    db = str(tmp_path / "flows.sqlite")

    async def run() -> None:
        store = open_async_store(db)
        try:
            api = ScriptedApi(list(TO_NOTIFIED))
            factory = Factory(Settings(worker="worker-7"), ManualClock(), store)
            await factory.batch(api, [RID]).run()
        finally:
            await store.close()

    asyncio.run(run())
    payloads = _stored_payloads(db, RID)
    assert payloads, "the batch run wrote no record"
    assert {p["actor"] for p in payloads} == {"worker-7"}


def test_open_takes_a_flow_id_and_its_former_keyword_still_works_with_a_warning(
    tmp_path: Path,
) -> None:
    """``DurableDriver.open``'s first parameter is ``flow_id``; ``request_id=`` (its former name)
    opens the same flow and warns that it is deprecated; both at once are refused."""

    async def run() -> None:
        store = open_async_store(str(tmp_path / "flows.sqlite"))
        try:
            driver = DurableDriver(ScriptedApi([]), ManualClock(), store)
            flow = await driver.open(flow_id=RID)
            with pytest.warns(DeprecationWarning, match="the parameter is flow_id"):
                again = await driver.open(request_id=RID)
            assert again.id == flow.id == RID
            warned = pytest.warns(DeprecationWarning, match="flow_id")
            with pytest.raises(TypeError, match="not both"), warned:
                await driver.open(RID, request_id=RID)
        finally:
            await store.close()

    asyncio.run(run())
