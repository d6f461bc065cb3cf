"""The outbox on SQLite and PostgreSQL: one event per record, written in the record's
transaction, read in commit order by a cursor that never skips one; deliveries logged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from firmaio.adapters.store import Store
from firmaio.adapters.store.outbox import FEED_LOCK, feed_key
from firmaio.fsm import State, default_engine
from firmaio.fsm.errors import InvalidInput, StoreError
from firmaio.fsm.trail import AuditRecord
from firmaio.fsm.trail.events import event_type
from tests.helpers import START, fire_rows, prefix_to

RID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
OTHER = "01ARZ3NDEKTSV4RRFFQ69G5FAW"
THIRD = "01ARZ3NDEKTSV4RRFFQ69G5FAX"

Opener = Callable[[], Store]


def records_to(target: State, request_id: str = RID) -> list[AuditRecord]:
    engine = default_engine()
    flow = engine.new_flow(request_id, now=START)
    return fire_rows(engine, flow, prefix_to(target))


def stored(
    store: Store, records: list[AuditRecord], tenant: str | None = None, continuing: bool = False
) -> None:
    if not continuing:
        store.create(
            records[0].flow_id,
            activation_deadline=START + 60,
            now=START,
            due_at=None,
            tenant=tenant,
        )
    for record in records:
        store.append(
            record, expected_seq=record.seq - 1, close_intent=False, now=START, due_at=None
        )


def test_each_record_writes_one_event_in_order(open_db: Opener) -> None:
    """A flow driven to rest leaves one event per record, in order, each a valid CloudEvent
    whose id is the flow's and the record's, the same whenever it is read."""
    store = open_db()
    records = records_to(State.SIGNED)
    stored(store, records, tenant="comune-a")
    events = store.events(limit=1000)
    assert [(e.flow_id, e.seq) for e in events] == [(RID, r.seq) for r in records]
    assert [e.id for e in events] == [f"{RID}/{r.seq}" for r in records]
    assert [e.position for e in events] == sorted({e.position for e in events})
    assert [e.type for e in events] == [event_type(r) for r in records]
    assert events[-1].type == "it.pagopa.firmaio.flow.signed"
    assert {e.status for e in events} == {"pending"}
    assert open_db().events(limit=1000) == events  # stable: the same read from another process
    source = f"urn:firmaio:store:{store.store_id()}"
    for event, record in zip(events, records, strict=True):
        parsed = JSONFormat().read(CloudEvent, event.body.encode())
        assert (parsed.get_id(), parsed.get_source(), parsed.get_subject()) == (
            event.id,
            source,
            RID,
        )
        assert parsed.get_time().timestamp() == pytest.approx(record.decided_at, abs=1e-3)
        data: Any = parsed.get_data()
        assert data["tenant"] == "comune-a"
        assert data["request_id"] == RID
        assert data["transition"] == {
            "from": str(record.source),
            "trigger": str(record.trigger),
            "to": str(record.target),
        }
        assert data["guard"] == record.guard


def test_a_record_whose_transaction_fails_leaves_no_event(
    open_db: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the event's insert rolls both back; an event that cannot be inserted
    keeps its record out too."""
    store = open_db()
    first, second, *_ = records_to(State.NOTIFIED)
    stored(store, [first])
    emit = store._emit

    def emit_then_fail(*args: Any) -> Any:
        emit(*args)
        raise StoreError("the disk is full")

    monkeypatch.setattr(store, "_emit", emit_then_fail)
    monkeypatch.setattr(store, "heads", None)  # the transaction (one statement: all or nothing)
    with pytest.raises(StoreError, match="disk is full"):
        store.append(second, expected_seq=1, close_intent=False, now=START, due_at=None)
    monkeypatch.undo()
    assert [e.seq for e in store.events()] == [1]
    loaded = store.load(RID)
    assert loaded is not None
    assert len(loaded.records) == 1

    store.execute(  # an event in the way: its insert fails, and so does the record
        "INSERT INTO events (id, flow_id, seq, type, time, body) VALUES (?, 'x', 9, 't', 0, '{}')",
        (f"{RID}/2",),
    )
    with pytest.raises(StoreError):
        store.append(second, expected_seq=1, close_intent=False, now=START, due_at=None)
    loaded = store.load(RID)
    assert loaded is not None
    assert len(loaded.records) == 1
    assert [e.seq for e in store.events(flow_id=RID)] == [1]


def test_the_feed_pages_through_every_event_exactly_once(open_db: Opener) -> None:
    """Two flows' events, read two at a time from a cursor: each once, in commit order; the
    filters narrow the same order."""
    store = open_db()
    a, b = records_to(State.NOTIFIED), records_to(State.REJECTED, OTHER)
    store.create(RID, activation_deadline=START + 60, now=START, due_at=None, tenant="comune-a")
    store.create(OTHER, activation_deadline=START + 60, now=START, due_at=None)
    for i in range(max(len(a), len(b))):
        for record in (a[i:i + 1] + b[i:i + 1]):  # fmt: skip
            store.append(
                record, expected_seq=record.seq - 1, close_intent=False, now=START, due_at=None
            )
    seen, cursor = [], None
    while page := store.events(after=cursor, limit=2):
        seen.extend(page)
        cursor = page[-1].position
    assert [e.position for e in seen] == [e.position for e in store.events(limit=1000)]
    assert len({e.id for e in seen}) == len(a) + len(b)
    assert [e.seq for e in store.events(tenant="comune-a")] == [r.seq for r in a]
    assert [e.seq for e in store.events(tenant=None)] == [r.seq for r in b]
    assert [e.flow_id for e in store.events(type="it.pagopa.firmaio.flow.rejected")] == [OTHER]
    assert store.events(since=START + 10**9) == []
    with pytest.raises(InvalidInput, match="status"):
        store.events(status="lost")


def test_deliveries_are_logged_in_order_per_flow_and_dead_ones_redelivered(
    open_db: Opener,
) -> None:
    """Only a flow's oldest pending event is due; each attempt is logged with the event's new
    state; a dead event is no longer due until it is redelivered."""
    store = open_db()
    stored(store, records_to(State.NOTIFIED), tenant="comune-a")
    stored(store, records_to(State.NOTIFIED, OTHER))
    due = store.due_events(tenants=["comune-a"], now=START, limit=10)
    assert [(e.flow_id, e.seq) for e in due] == [(RID, 1)]
    assert store.due_events(tenants=["comune-b"], now=START, limit=10) == []
    assert [e.flow_id for e in store.due_events(tenants=["comune-a", None], now=START, limit=10)]\
        == [RID, OTHER]  # fmt: skip
    first = due[0].id
    store.record_attempt(
        first, attempt=1, at=START, status_code=500, latency_ms=12.5, error="HTTP 500",
        outcome="retry", next_attempt_at=START + 30,
    )  # fmt: skip
    assert store.due_events(tenants=["comune-a"], now=START + 29, limit=10) == []
    [again] = store.due_events(tenants=["comune-a"], now=START + 30, limit=10)
    assert (again.id, again.attempts, again.last_error) == (first, 1, "HTTP 500")
    store.record_attempt(
        first, attempt=2, at=START + 30, status_code=None, latency_ms=5000.0,
        error="timed out", outcome="dead", next_attempt_at=None,
    )  # fmt: skip
    [after_dead] = store.due_events(tenants=["comune-a"], now=START + 30, limit=10)
    assert after_dead.seq == 2, "a dead event does not hold its flow's next ones"
    assert [e.id for e in store.events(status="dead")] == [first]
    assert store.deliveries(first) == [
        (1, START, 500, 12.5, "HTTP 500"),
        (2, START + 30, None, 5000.0, "timed out"),
    ]
    with pytest.raises(InvalidInput, match="no such event"):
        store.redeliver([first, "nope/1"])
    assert store.events(status="dead")[0].id == first, "nothing changed"
    assert store.redeliver(dead_since=START + 31) == 0
    assert store.redeliver(dead_since=START + 30) == 1
    [back] = store.events(flow_id=RID, limit=1)
    assert (back.status, back.attempts, back.next_attempt_at) == ("pending", 0, None)
    with pytest.raises(InvalidInput, match="no event"):
        store.record_attempt(
            "nope/1", attempt=1, at=START, status_code=200, latency_ms=1.0, error=None,
            outcome="delivered", next_attempt_at=None,
        )  # fmt: skip


class StuckAppend:
    """``store.append(record)`` in a thread, held between its event's insert and its commit
    until :meth:`release`."""

    def __init__(self, store: Store, record: AuditRecord) -> None:
        self.inserted, self.go_on = threading.Event(), threading.Event()
        emit = store._emit

        def emit_and_wait(*args: Any) -> Any:
            learnt = emit(*args)
            self.inserted.set()
            assert self.go_on.wait(30)
            return learnt

        store._emit = emit_and_wait  # type: ignore[method-assign]
        store.create(record.flow_id, activation_deadline=START + 60, now=START, due_at=None)
        options = {"expected_seq": 0, "close_intent": False, "now": START, "due_at": None}
        self.thread = threading.Thread(target=store.append, args=(record,), kwargs=options)
        self.thread.start()
        assert self.inserted.wait(30)

    def release(self) -> None:
        self.go_on.set()
        self.thread.join(30)


def first_record(flow_id: str) -> AuditRecord:
    return records_to(State.WAIT_FOR_SIGNATURE, flow_id)[0]


def test_an_event_committed_late_is_not_skipped(postgres_url: str) -> None:
    """PostgreSQL: a transaction that took an earlier position commits after one that took a
    later position. A reader in between waits for it, so its cursor never passes the earlier
    event unseen."""
    from firmaio.adapters.store import open_store

    slow, fast, reader = (open_store(postgres_url) for _ in range(3))
    stuck = None
    try:
        stuck = StuckAppend(slow, first_record(RID))
        stored(fast, [first_record(OTHER)])  # commits first, at a later position
        read: list[Any] = []
        reading = threading.Thread(target=lambda: read.extend(reader.events(after=None)))
        reading.start()
        wait_until_waiting_on_a_lock(fast)
        assert not read, "the reader waits for the slow transaction"
        stuck.release()
        reading.join(30)
        assert [e.flow_id for e in read] == [RID, OTHER]
        assert read[0].position < read[1].position
        assert reader.events(after=read[-1].position) == []
    finally:
        if stuck is not None:
            stuck.release()
        for store in (slow, fast, reader):
            store.close()


def test_a_transaction_stuck_open_holds_the_feed_not_the_writers(postgres_url: str) -> None:
    """PostgreSQL: while an insert is stuck before its commit, a read waits ``feed_wait`` and
    serves nothing past it (it cannot know the stuck one's fate); the writers queued behind
    the read go on; once the stuck one commits, the feed serves all, in order."""
    from firmaio.adapters.store import PostgresStore, open_store

    slow, fast, reader = (open_store(postgres_url) for _ in range(3))
    assert isinstance(reader, PostgresStore)
    reader.feed_wait = 0.2
    stuck = None
    try:
        stored(fast, [first_record(OTHER)])
        [before] = reader.events()
        stuck = StuckAppend(slow, first_record(RID))
        stored(fast, [first_record(THIRD)])
        assert reader.events(after=before.position) == [], "nothing past the stuck insert"
        stored(fast, [records_to(State.NOTIFIED, THIRD)[1]], continuing=True)
        stuck.release()
        assert [(e.flow_id, e.seq) for e in reader.events(after=before.position)] == [
            (RID, 1), (THIRD, 1), (THIRD, 2),
        ]  # fmt: skip
    finally:
        if stuck is not None:
            stuck.release()
        for store in (slow, fast, reader):
            store.close()


def wait_until_waiting_on_a_lock(store: Store) -> None:
    """Until some session of this database waits on an advisory lock (the reader's)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store._statement() as cur:
            cur.execute(  # this store's own lock of the feed (its readers wait on no other)
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = %s AND objid::int = %s",
                (FEED_LOCK, feed_key(store.store_id())),
            )
            if cur.fetchone()[0]:
                return
    raise AssertionError("the reader never waited")
