"""SQLite and PostgreSQL pass the same suite: atomic, compare-and-set, chained, by tenant."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from firmaio.adapters.store import Store
from firmaio.fsm import Answer, Flow, State, Trigger, default_engine
from firmaio.fsm.errors import StaleFlow
from firmaio.fsm.trail.chain import BrokenChain, verify_chain
from tests.helpers import START, fire_rows, prefix_to

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


Opener = Callable[[], Store]


def stored_flow(
    open_db: Opener, target: State = State.NOTIFIED, request_id: str = RID
) -> tuple[Store, Flow]:
    """A flow taken to ``target`` through the engine, every record appended to the store."""
    store = open_db()
    engine = default_engine()
    flow = engine.new_flow(request_id, now=START)
    assert store.create(
        request_id, activation_deadline=flow.activation_deadline, now=START, due_at=START
    )
    for record in fire_rows(engine, flow, prefix_to(target)):
        store.append(
            record, expected_seq=record.seq - 1, close_intent=False, now=START, due_at=START
        )
    return store, flow


def broken(store: Store, request_id: str = RID) -> BrokenChain:
    [row] = [r for r in store.rows() if r.flow_id == request_id]
    found = verify_chain(request_id, store.links(request_id), row.seq, row.head_hash, row.state)
    assert found is not None, "the trail verified"
    return found


def intact(store: Store, request_id: str = RID) -> bool:
    [row] = [r for r in store.rows() if r.flow_id == request_id]
    return (
        verify_chain(request_id, store.links(request_id), row.seq, row.head_hash, row.state) is None
    )


def test_a_stored_flow_restores_identically(open_db: Opener) -> None:
    """Records and state come back as written; the chain verifies."""
    store, flow = stored_flow(open_db, State.FALLBACK_SUGGESTED)
    loaded = store.load(RID)
    assert loaded is not None
    assert loaded.records == tuple(flow.history)
    restored = default_engine().restore(RID, loaded.activation_deadline, loaded.records)
    assert (restored.state, restored.fallback) == (flow.state, flow.fallback)
    assert intact(store)
    assert not store.create(RID, activation_deadline=0, now=0, due_at=0), (
        "an existing flow is left alone"
    )


def test_two_writers_never_both_win(open_db: Opener) -> None:
    """Two connections append at the same position: one wins, the other writes nothing."""
    first, flow = stored_flow(open_db, State.WAIT_FOR_SIGNATURE)
    second = open_db()
    engine = default_engine()
    expected = len(flow.history)
    mine = engine.fire(flow, Trigger.NOTIFY, Answer.sent("M1"), now=START)
    first.append(mine, expected_seq=expected, close_intent=False, now=START, due_at=START)
    with pytest.raises(StaleFlow, match="changed by another process"):
        second.append(mine, expected_seq=expected, close_intent=False, now=START, due_at=START)
    loaded = second.load(RID)
    assert loaded is not None
    assert len(loaded.records) == expected + 1
    assert intact(second)


def test_an_intent_is_opened_once(open_db: Opener) -> None:
    """Only one process may open the notification intent at a given point."""
    store, flow = stored_flow(open_db, State.WAIT_FOR_SIGNATURE)
    other = open_db()
    store.open_intent(RID, "notify", expected_seq=len(flow.history), now=START, due_at=START)
    with pytest.raises(StaleFlow):
        other.open_intent(RID, "notify", expected_seq=len(flow.history), now=START, due_at=START)
    loaded = other.load(RID)
    assert loaded is not None
    assert loaded.intent == "notify"


def test_a_flow_keeps_the_tenant_it_was_created_for(open_db: Opener) -> None:
    """The tenant is written with the flow and read back; registering it again (for another
    tenant, by mistake) changes nothing."""
    store = open_db()
    store.create_many([RID], activation_deadline=START + 120, now=START, tenant="comune-a")
    store.create_many([RID], activation_deadline=START + 120, now=START, tenant="comune-b")
    assert not store.create(
        RID, activation_deadline=START + 120, now=START, due_at=START, tenant="comune-b"
    )
    [row] = store.rows([RID])
    assert row.tenant == "comune-a"
    loaded = store.load(RID)
    assert loaded is not None
    assert loaded.tenant == "comune-a"


def test_a_flow_stored_without_its_dossier_learns_it_once(open_db: Opener) -> None:
    """Registering flows again with their dossier records it on those stored without one; a
    dossier once recorded is kept, and nothing else of the flow changes."""
    store = open_db()
    store.create_many([RID], activation_deadline=START + 120, now=START)
    store.create_many([RID], activation_deadline=START + 999, now=START + 5, dossier_id="D1")
    store.create_many([RID], activation_deadline=START + 999, now=START + 9, dossier_id="D2")
    [row] = store.rows([RID])
    assert (row.dossier_id, row.state, row.seq, row.tenant) == ("D1", "READY", 0, None)
    loaded = store.load(RID)
    assert loaded is not None
    assert loaded.activation_deadline == START + 120


def test_resting_flows_need_no_driving_unless_an_intent_is_open(open_db: Opener) -> None:
    """NOTIFIED needs no driving; an open intent makes a flow pending whatever its state."""
    store, flow = stored_flow(open_db, State.FALLBACK_SUGGESTED)
    assert store.pending([RID]) == 0
    store.open_intent(RID, "notify", expected_seq=len(flow.history), now=START, due_at=START)
    assert store.pending([RID]) == 1


# -- tampering: each kind of edit is detected and named --------------------------------------


def test_edited_record_is_named(open_db: Opener) -> None:
    """Changing a stored record's content breaks its hash."""
    store, _ = stored_flow(open_db)
    [link] = [link for link in store.links(RID) if link.seq == 2]
    forged = json.loads(link.payload)
    forged["io_message_id"] = "FORGED"
    store.execute(
        "UPDATE audit_records SET payload = ? WHERE flow_id = ? AND seq = 2",
        (json.dumps(forged), RID),
    )
    found = broken(store)
    assert (found.seq, found.kind) == (2, "edited")


def test_deleted_record_is_named(open_db: Opener) -> None:
    """Removing a record in the middle leaves a gap."""
    store, _ = stored_flow(open_db, State.FALLBACK_SUGGESTED)
    store.execute("DELETE FROM audit_records WHERE flow_id = ? AND seq = 2", (RID,))
    found = broken(store)
    assert (found.seq, found.kind) == (2, "deleted")


def test_deleted_last_record_is_named(open_db: Opener) -> None:
    """Removing the last record no longer reaches the flow's head."""
    store, flow = stored_flow(open_db, State.FALLBACK_SUGGESTED)
    last = len(flow.history)
    store.execute("DELETE FROM audit_records WHERE flow_id = ? AND seq = ?", (RID, last))
    found = broken(store)
    assert (found.seq, found.kind) == (last, "deleted")


def test_reordered_records_are_named(open_db: Opener) -> None:
    """Swapping two records' positions is caught at the first misplaced one."""
    store, _ = stored_flow(open_db, State.FALLBACK_SUGGESTED)
    store.execute("UPDATE audit_records SET seq = 100 WHERE flow_id = ? AND seq = 2", (RID,))
    store.execute("UPDATE audit_records SET seq = 2 WHERE flow_id = ? AND seq = 3", (RID,))
    store.execute("UPDATE audit_records SET seq = 3 WHERE flow_id = ? AND seq = 100", (RID,))
    found = broken(store)
    assert (found.seq, found.kind) == (2, "reordered")


def test_inserted_record_is_named(open_db: Opener) -> None:
    """A forged record appended with a valid-looking hash is past the flow's head."""
    from firmaio.fsm.trail.chain import chain_hash

    store, flow = stored_flow(open_db)
    [last] = [link for link in store.links(RID) if link.seq == len(flow.history)]
    payload = json.loads(last.payload)
    payload["seq"] = last.seq + 1
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    store.execute(
        "INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
        (RID, last.seq + 1, text, last.hash, chain_hash(last.hash, text)),
    )
    found = broken(store)
    assert (found.seq, found.kind) == (last.seq + 1, "inserted")


def test_edited_flow_state_is_named(open_db: Opener) -> None:
    """Changing the flow's own state to one its trail never reached is caught."""
    store, _ = stored_flow(open_db)
    store.execute("UPDATE flows SET state = 'SIGNED' WHERE id = ?", (RID,))
    found = broken(store)
    assert found.kind == "edited"
    assert "the flow says SIGNED, its trail NOTIFIED" in found.why
