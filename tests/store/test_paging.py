"""Whole-store reads in bounded pages, on SQLite and PostgreSQL: every flow read exactly once
across page boundaries, flows added meanwhile included; ``audit verify`` over pages finds the
same digest, heads and tampering as reading the store whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from firmaio.adapters.store import Store
from firmaio.adapters.trail import StoreVerdict, verify_store
from firmaio.fsm import State, default_engine
from firmaio.fsm.trail import heads_digest
from tests.helpers import START, fire_rows, prefix_to

Opener = Callable[[], Store]
TARGETS = [State.READY, State.NOTIFIED, State.FALLBACK_SUGGESTED, State.SIGNED]


def _id(n: int) -> str:
    return f"01JPAGE{n:04d}"


def _fill(store: Store, numbers: range | list[str]) -> None:
    """Flows ``numbers`` (or ids), each along a path of its own length (READY: no records)."""
    engine = default_engine()
    for n, flow_id in enumerate(_id(n) if isinstance(n, int) else n for n in numbers):
        flow = engine.new_flow(flow_id, now=START)
        assert store.create(
            flow_id, activation_deadline=flow.activation_deadline, now=START, due_at=None
        )
        for record in fire_rows(engine, flow, prefix_to(TARGETS[n % len(TARGETS)])):
            store.append(
                record, expected_seq=record.seq - 1, close_intent=False, now=START, due_at=None
            )


class _Async:
    """The blocking store as the async trail reader ``verify_store`` takes."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


def _verify(store: Store, **kwargs: Any) -> StoreVerdict:
    return asyncio.run(verify_store(_Async(store), **kwargs))  # type: ignore[arg-type]


def test_pages_read_every_flow_once_while_flows_are_added(open_db: Opener) -> None:
    """Pages of 4 over 22 flows: each flow stored before the reading began comes back once,
    in id order, with the records :meth:`links` reads, although after every page a flow is
    added behind the cursor (left for the next reading) and one ahead of it (read)."""
    store = open_db()
    _fill(store, range(22))
    before = {row.flow_id for row in store.rows()}
    seen: list[str] = []
    ahead: list[str] = []
    after = None
    while page := store.trail_page(after, 4):
        assert len(page) <= 4
        for row, links in page:
            seen.append(row.flow_id)
            assert links == store.links(row.flow_id)
        after = page[-1][0].flow_id
        if after < max(before):
            ahead.append(f"{after}X")
            _fill(store, [f"{page[0][0].flow_id}X", ahead[-1]])
    assert seen == sorted(set(seen)), "a flow was read twice, or out of order"
    assert set(seen) == before | set(ahead)
    assert len(ahead) > 3, "flows were added while paging"
    ids = [row.flow_id for row in store.rows()]
    loaded = store.flows_page(_id(11), 3)
    assert [row.flow_id for row, _, _ in loaded] == ids[ids.index(_id(11)) + 1 :][:3]
    for row, stored, links in loaded:
        assert (stored, links) == (store.load(row.flow_id), store.links(row.flow_id))
        assert row == store.rows([row.flow_id])[0]


def test_verify_in_pages_finds_what_the_whole_store_read_finds(open_db: Opener) -> None:
    """Over 3 pages: the digest of all heads is the one computed over the whole store's rows,
    the counts and heads are the store's, and a checkpoint of them holds."""
    store = open_db()
    _fill(store, range(11))
    rows = store.rows()
    paged = _verify(store, page=4, keep_heads=True)
    assert paged.digest == heads_digest((r.flow_id, r.seq, r.head_hash) for r in rows)
    assert paged.digest == _verify(store).digest
    assert (paged.flows, paged.records) == (11, sum(r.seq for r in rows))
    assert paged.heads == {r.flow_id: (r.seq, r.head_hash) for r in rows}
    assert paged.intact
    assert not paged.tampered
    checkpoint = paged.to_checkpoint("here", START)
    _fill(store, range(11, 13))
    again = _verify(store, checkpoint=checkpoint, page=4)
    assert (again.anchored, again.uncovered, again.flows) == (True, 2, 13)


def test_verify_in_pages_names_tampering_on_any_page(open_db: Opener) -> None:
    """A record edited on the third page, one deleted on the second: each named with its
    kind, and the checkpoint's head gone, as reading the store in one page names them."""
    store = open_db()
    _fill(store, range(11))
    checkpoint = _verify(store, keep_heads=True).to_checkpoint("here", START)
    store.execute(
        "UPDATE audit_records SET payload = replace(payload, 'NOTIFIED', 'SIGNED') "
        "WHERE flow_id = ? AND seq = 2",
        (_id(9),),
    )
    store.execute("DELETE FROM audit_records WHERE flow_id = ? AND seq = 2", (_id(6),))
    verdict = _verify(store, checkpoint=checkpoint, page=4)
    whole = _verify(store, checkpoint=checkpoint, page=100)
    assert [(b.flow_id, b.kind) for b in verdict.broken] == [
        (_id(6), "deleted"),
        (_id(9), "edited"),
    ]
    assert (verdict.broken, verdict.rewritten) == (whole.broken, whole.rewritten)
    assert [b.flow_id for b in verdict.rewritten] == [_id(6)]  # its signed head is gone
    assert verdict.tampered
    assert verdict.flows == 11
