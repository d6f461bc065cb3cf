"""``firmaio events`` over a real store (SQLite and PostgreSQL): filters, ``--json``, redelivery;
and the library's feed, which goes on with the events committed while it waits."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from firmaio.adapters import follow_events, open_async_store
from firmaio.adapters.cli import main
from firmaio.adapters.store import Store, store_name
from firmaio.fsm import State
from firmaio.fsm.trail import StoredEvent
from tests.store.test_outbox import OTHER, RID, records_to, stored

Opener = Callable[[], Store]


def firmaio(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def listed(db: str, *argv: str) -> list[dict[str, Any]]:
    code, said = firmaio("events", "--db", db, "--json", *argv)
    assert code == 0, said
    document = json.loads(said)
    assert (document["exit_code"], document["failure"]) == (0, None)
    events: list[dict[str, Any]] = document["events"]
    assert document["next_after"] == (events[-1]["position"] if events else None)
    return events


def two_flows(store: Store) -> StoredEvent:
    """Flow RID of comune-a to SIGNED, OTHER of the default tenant to REJECTED; RID's second
    event dead after one attempt. The dead one."""
    stored(store, records_to(State.SIGNED), tenant="comune-a")
    stored(store, records_to(State.REJECTED, OTHER))
    dead = store.events(flow_id=RID)[1]
    store.record_attempt(
        dead.id, attempt=1, at=1_900_000_000.0, status_code=500, latency_ms=7.0,
        error="HTTP 500", outcome="dead", next_attempt_at=None,
    )  # fmt: skip
    return dead


def test_the_command_lists_and_filters_the_events(open_db: Opener, db: str) -> None:
    store = open_db()
    dead = two_flows(store)
    every = store.events(limit=1000)
    assert [e["id"] for e in listed(db)] == [e.id for e in every]
    assert {e["flow_id"] for e in listed(db, "--tenant", "comune-a")} == {RID}
    assert {e["flow_id"] for e in listed(db, "--tenant", "default")} == {OTHER}
    assert [e["flow_id"] for e in listed(db, "--type", "flow.rejected")] == [OTHER]
    others = [e.seq for e in every if e.flow_id == OTHER]
    assert [e["seq"] for e in listed(db, "--flow", OTHER)] == others
    [shown] = listed(db, "--dead")
    assert (shown["id"], shown["status"], shown["attempts"], shown["last_error"]) == (
        dead.id, "dead", 1, "HTTP 500",
    )  # fmt: skip
    assert shown["deliveries"] == [
        {"attempt": 1, "at": "2030-03-17T17:46:40+00:00", "status_code": 500,
         "latency_ms": 7.0, "error": "HTTP 500"},
    ]  # fmt: skip
    assert shown["event"]["id"] == dead.id
    assert listed(db, "--status", "dead") == [shown]
    assert len(listed(db, "--status", "pending")) == len(every) - 1
    assert listed(db, "--since", "2030-01-01T00:00:00Z") == []  # the records are of 2027
    assert len(listed(db, "--until", "2030-01-01T00:00:00Z")) == len(every)
    page = listed(db, "--after", str(every[1].position), "--limit", "2")
    assert [e["position"] for e in page] == [e.position for e in every[2:4]]
    code, said = firmaio("events", "--db", db)
    assert code == 0
    assert said.splitlines()[-1] == f"{len(every)} event(s) in {store_name(db)}"
    assert "last error: HTTP 500" in said


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--type", "flow.signedd"], "'flow.signedd' is not an event type"),
        (["--since", "yesterday"], "is not a time"),
        (["--since", "2026-12-06T09:00:00"], "give the time's zone"),
        (["--status", "lost"], "invalid choice"),
        (["--dead", "--status", "pending"], "not allowed with"),
        (["--follow", "--dead", "--since", "1h"], "not --dead, --since"),
    ],
)
def test_bad_filters_are_refused_naming_what_is_wrong(
    tmp_path: Any, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = firmaio("events", "--db", str(tmp_path / "none.sqlite"), "--json", *argv)
    assert code == 2
    assert said in capsys.readouterr().err
    assert json.loads(out)["failure"]["kind"] == "usage"


def test_redeliver_puts_dead_events_back_and_refuses_unknown_ids(
    open_db: Opener, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_db()
    dead = two_flows(store)
    code, _ = firmaio("events", "redeliver", dead.id, "nope/9", "--db", db)
    assert code == 2
    assert "no such event in this store: nope/9" in capsys.readouterr().err
    assert [e.id for e in store.events(status="dead")] == [dead.id], "nothing changed"
    code, _ = firmaio("events", "redeliver", "--db", db)
    assert code == 2
    after_it = "2030-03-17T17:46:41Z"  # --db before `redeliver`, --json after: the same
    code, said = firmaio("events", "--db", db, "redeliver", "--dead-since", after_it, "--json")
    assert (code, json.loads(said)["redelivered"]) == (0, 0)
    code, said = firmaio("events", "redeliver", "--dead-since", "2030-03-17T17:46:40Z", "--db", db)
    assert (code, said.split(" dead")[0]) == (0, "1")
    [back] = [e for e in store.events(limit=1000) if e.id == dead.id]
    assert (back.status, back.attempts) == ("pending", 0)
    store.record_attempt(
        dead.id, attempt=1, at=1_900_000_001.0, status_code=None, latency_ms=5000.0,
        error="timed out", outcome="dead", next_attempt_at=None,
    )  # fmt: skip
    code, said = firmaio("events", "redeliver", dead.id, "--db", db, "--json")
    assert (code, json.loads(said)["redelivered"]) == (0, 1)
    assert store.events(status="dead") == []


def test_the_feed_serves_every_event_once_and_waits_for_new_ones(open_db: Opener, db: str) -> None:
    """Read in pages of two from the start, then a flow's record committed while the feed
    waits: each event once, in commit order, the cursor the caller's."""
    writer = open_db()
    stored(writer, records_to(State.NOTIFIED), tenant="comune-a")
    later = records_to(State.NOTIFIED, OTHER)
    writer.create(OTHER, activation_deadline=0, now=0, due_at=None)

    async def main_() -> list[StoredEvent]:
        store = open_async_store(db)
        seen: list[StoredEvent] = []
        try:
            async for event in follow_events(store, after=0, poll=0.01, page=2):
                seen.append(event)
                if len(seen) == 2:  # caught up: the next one is committed while it waits
                    await asyncio.to_thread(
                        writer.append,
                        later[0],
                        expected_seq=0,
                        close_intent=False,
                        now=0,
                        due_at=None,
                    )
                if event.flow_id == OTHER:
                    break
        finally:
            await store.close()
        return seen

    seen = asyncio.run(main_())
    assert [(e.flow_id, e.seq) for e in seen] == [(RID, 1), (RID, 2), (OTHER, 1)]
    assert [e.position for e in seen] == sorted({e.position for e in seen})
