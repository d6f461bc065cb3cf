"""A page of flows loaded in one statement, and PostgreSQL's append in one statement from the
head its load read (adapters/store/one_write.py): the same trail, events and compare-and-set as
the transaction, on both stores; the heads kept stay bounded."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from firmaio.adapters.store import Store
from firmaio.adapters.store.one_write import KEPT, Heads
from firmaio.fsm import Answer, State, Trigger, default_engine
from firmaio.fsm.errors import StaleFlow
from firmaio.fsm.machine import spine_guards as g
from firmaio.fsm.testing import witness
from tests.helpers import START
from tests.store.test_store import intact, stored_flow

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
DOSSIER = "01JDOSSIER0000000000000042"
OTHER = "01ARZ3NDEKTSV4RRFFQ69G5FAW"
THIRD = "01ARZ3NDEKTSV4RRFFQ69G5FAX"
Opener = Callable[[], Store]


def _as_one(text: str) -> str:
    """A record or event with either flow's id (and the witnesses' request id) as one."""
    return text.replace(OTHER, "F").replace(THIRD, "F").replace(RID, "F")


def test_a_page_loads_as_each_flow_loads(open_db: Opener) -> None:
    """``load_many`` answers each flow as ``load`` does, in one read; unknown ids are left out."""
    store, _flow = stored_flow(open_db, State.NOTIFIED)
    other = OTHER
    store.create(other, activation_deadline=START + 60, now=START, due_at=START, tenant="t1")
    found = store.load_many([RID, other, "01ARZ3NDEKTSV4RRFFQ69G5FZZ"])
    assert found == {RID: store.load(RID), other: store.load(other)}
    assert store.load_many([]) == {}


def test_writers_that_both_loaded_never_both_win(open_db: Opener) -> None:
    """Two processes load the same flow and append at the same position: one record is written,
    the other process gets StaleFlow and writes nothing; the chain verifies."""
    first, flow = stored_flow(open_db, State.WAIT_FOR_SIGNATURE)
    second = open_db()
    assert first.load(RID) is not None
    assert second.load_many([RID])
    expected = len(flow.history)
    mine = default_engine().fire(flow, Trigger.NOTIFY, Answer.sent("M1"), now=START)
    first.append(mine, expected_seq=expected, close_intent=False, now=START, due_at=START)
    with pytest.raises(StaleFlow):
        second.append(mine, expected_seq=expected, close_intent=False, now=START, due_at=None)
    loaded = second.load(RID)
    assert loaded is not None
    assert len(loaded.records) == expected + 1
    assert intact(second)
    assert [e.seq for e in second.events(flow_id=RID)] == list(range(1, expected + 2))
    assert second.due_of(RID) == START, "the losing write changed nothing"


def _transactions(store: Store) -> list[int]:
    """A counter of the transactions ``store`` opens from now on (the append's fallback)."""
    opened, count = store._transaction, [0]

    def counted() -> Any:
        count[0] += 1
        return opened()

    store._transaction = counted  # type: ignore[method-assign]
    return count


def test_an_append_after_a_load_writes_what_the_transaction_writes(open_db: Opener) -> None:
    """The same flow of a batch driven three times, loading before each append, once before
    the first, or never: the same records, the same chain heads, the same events (but for their
    own ids: each names the batch and the dossier the first answer taught), the same row (the
    dossier learnt, the last-checked time a quiet check left). On PostgreSQL, a flow loaded
    once appends each step in one statement up to the quiet check (never loaded: the first
    step in a transaction, the next in one statement); a quiet check lets the flow's head go
    (it ends a watch's visit: the heads kept are those of flows still written), so the step
    after it is a transaction, loaded before or not."""
    engine, trails = default_engine(), []
    activated = replace(witness(g.is_waiting_for_signature), facts=(("dossier_id", DOSSIER),))
    for load_first, flow_id in ((False, RID), (True, OTHER), (None, THIRD)):
        store = open_db()
        flow = engine.new_flow(flow_id, now=START)
        store.create(flow_id, activation_deadline=flow.activation_deadline, now=START, due_at=0)
        store.tie_to_batch(flow_id, "B1")
        steps = [
            (Trigger.CHECK_ACTIVATION, activated),
            (Trigger.NOTIFY, Answer.sent("M1")),
            (Trigger.CHECK_STATUS, witness(g.is_signed)),
        ]
        transactions = _transactions(store)
        for n, (trigger, answer) in enumerate(steps):
            record = engine.fire(flow, trigger, answer, now=START + n)
            if load_first or (load_first is None and n == 0):  # None: once, before the first
                assert store.load(flow_id) is not None
            if n == 2:  # a status check that found nothing new: no record
                assert store.checked(flow_id, expected_seq=n, at=START + 5, due_at=START + 50)
            store.append(
                record, expected_seq=n, close_intent=n == 1, now=START + n, due_at=START + 9 * n
            )
        if store.heads is not None:
            assert transactions == [1 if load_first is not False else 2], load_first
        [row] = store.rows([flow_id])
        assert row.dossier_id == DOSSIER
        loaded = store.load(flow_id)
        assert loaded is not None
        assert loaded.checked_at == START + 5
        events = [json.loads(_as_one(e.body)) | {"id": None} for e in store.events(flow_id=flow_id)]
        assert {(e["data"]["batch_id"], e["data"]["dossier_id"]) for e in events} == {
            ("B1", DOSSIER)
        }
        links = [(link.seq, _as_one(link.payload)) for link in store.links(flow_id)]
        trails.append((links, row.state, row.seq, store.due_of(flow_id), events))
        assert intact(store, flow_id)
    assert trails[0] == trails[1] == trails[2]


@pytest.mark.parametrize("named", ["dossier_id", "batch_id"])
def test_a_dossier_or_batch_named_after_the_load_is_in_the_event(
    open_db: Opener, named: str
) -> None:
    """A flow learns its dossier, or its batch, between its load and its append (another
    process registered it with one, tied it to a batch): the append's event names the one the
    row has, not the one loaded."""
    store, flow = stored_flow(open_db, State.NOTIFIED)
    assert store.load(RID) is not None
    if named == "dossier_id":
        store.create_many([RID], activation_deadline=START, now=START, dossier_id=DOSSIER)
    else:
        store.tie_to_batch(RID, DOSSIER)
    record = default_engine().fire(flow, Trigger.CHECK_STATUS, witness(g.is_signed), now=START)
    store.append(record, expected_seq=record.seq - 1, close_intent=False, now=START, due_at=None)
    [last] = store.events(flow_id=RID)[-1:]
    assert json.loads(last.body)["data"].get(named) == DOSSIER
    assert intact(store)


def test_the_heads_kept_stay_bounded() -> None:
    """Loads of ever new flows keep at most ``kept`` heads, the oldest dropped; an append
    takes its flow's."""
    heads = Heads(kept=100)
    for n in range(10_000):
        heads.keep(f"flow{n}", (1, "h", None, None, None, None))
    assert len(heads) == 100
    assert heads.take("flow0") is None
    assert heads.take("flow9999") is not None
    assert len(heads) == 99


def test_a_store_that_loads_ever_new_flows_keeps_a_bounded_map(db: str) -> None:
    """A long-running process loads more distinct flows than it keeps heads for: the store's
    map stays at its bound (PostgreSQL, bound lowered to 100 here; SQLite keeps none)."""
    from firmaio.adapters.store import open_store

    store = open_store(db)
    try:
        if store.heads is not None:
            assert store.heads.kept == KEPT
            store.heads.kept = 100
        ids = [f"01JFLOW{n:019d}" for n in range(600)]
        store.create_many(ids, activation_deadline=START, now=START)
        for start in range(0, len(ids), 250):
            page = ids[start : start + 250]
            assert list(store.load_many(page)) == page
        kept = store.heads
        assert kept is None if db.endswith(".sqlite") else len(kept) == 100
    finally:
        store.close()
