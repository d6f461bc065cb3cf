"""A batch's rows in the store (schema version 8), on SQLite and PostgreSQL: each row recorded
once, each flow tied once to its batch before its first record, so that every event it writes
names the batch; a row's flow read back with its state."""

from __future__ import annotations

import json
from collections.abc import Callable

from firmaio.adapters.store import Store
from firmaio.fsm import State, default_engine
from tests.helpers import START, fire_rows, prefix_to

Opener = Callable[[], Store]
BATCH = "giugno-2027"


def test_a_batch_s_rows_are_kept_once_and_its_flows_events_name_it(open_db: Opener) -> None:
    store = open_db()
    engine = default_engine()
    flow = engine.new_flow("giugno-2027-r-1", now=START)
    assert store.create(flow.id, activation_deadline=flow.activation_deadline, now=START,
                        due_at=START)  # fmt: skip
    store.save_batch(BATCH, [(2, "r-1", flow.id, None), (3, None, None, "no pdf")])
    store.save_batch(BATCH, [(2, "r-1", flow.id, None), (3, None, None, "changed")])  # kept
    store.tie_to_batch(flow.id, BATCH)
    store.tie_to_batch(flow.id, "another")  # a tied flow keeps its batch
    for record in fire_rows(engine, flow, prefix_to(State.NOTIFIED)):
        store.append(record, expected_seq=record.seq - 1, close_intent=False, now=START,
                     due_at=START)  # fmt: skip

    rows = store.batch_rows(BATCH)
    assert [(r.line, r.reference, r.flow_id, r.refused, r.state) for r in rows] == [
        (2, "r-1", flow.id, None, "NOTIFIED"),
        (3, None, None, "no pdf", None),
    ]
    assert store.batch_rows("none") == []
    events = store.events(flow_id=flow.id, limit=100)
    assert events
    assert all(json.loads(e.body)["data"]["batch_id"] == BATCH for e in events)


def test_a_flow_of_no_batch_writes_no_batch_id(open_db: Opener) -> None:
    store = open_db()
    engine = default_engine()
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    assert store.create(flow.id, activation_deadline=flow.activation_deadline, now=START,
                        due_at=START)  # fmt: skip
    for record in fire_rows(engine, flow, prefix_to(State.NOTIFIED)):
        store.append(record, expected_seq=record.seq - 1, close_intent=False, now=START,
                     due_at=START)  # fmt: skip
    events = store.events(flow_id=flow.id, limit=100)
    assert events
    assert all("batch_id" not in json.loads(e.body)["data"] for e in events)
