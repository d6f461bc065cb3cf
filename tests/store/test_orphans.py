"""Records whose flow row is gone are found (``audit verify`` names them as inserted), on both
stores, by an anti-join: on PostgreSQL ``NOT IN (SELECT id FROM flows)`` became a subplan that
scans the flows again for every record once they outgrow ``work_mem`` (a 1,000,000-flow store's
``audit verify`` ran for 20 minutes and had not finished; the anti-join takes 7 s)."""

from __future__ import annotations

from collections.abc import Callable

from firmaio.adapters.store import Store
from firmaio.adapters.store.sql import ORPHANS

T0 = 1_800_000_000.0


def _record(store: Store, flow_id: str, foreign_keys: bool) -> None:
    """A record of ``flow_id`` written beside the store (its flow row may not exist)."""
    with store._statement() as cur:
        if not foreign_keys:
            if store.placeholder == "?":
                cur.execute("PRAGMA foreign_keys=OFF")
            else:
                cur.execute("SET session_replication_role = replica")
        cur.execute(
            store._sql(
                "INSERT INTO audit_records (flow_id, seq, payload, prev_hash, hash) "
                "VALUES (?, 1, '{}', '', 'x')"
            ),
            (flow_id,),
        )
        if not foreign_keys:
            if store.placeholder == "?":
                cur.execute("PRAGMA foreign_keys=ON")
            else:
                cur.execute("SET session_replication_role = DEFAULT")


def test_records_of_a_flow_the_store_does_not_have_are_found(
    open_db: Callable[[], Store],
) -> None:
    store = open_db()
    for flow_id in ("kept-1", "kept-2"):
        store.create(flow_id, activation_deadline=T0 + 600, now=T0, due_at=None)
        _record(store, flow_id, foreign_keys=True)
    assert store.orphan_flow_ids() == []
    _record(store, "gone-2", foreign_keys=False)
    _record(store, "gone-1", foreign_keys=False)
    assert store.orphan_flow_ids() == ["gone-1", "gone-2"]


def test_the_orphans_are_read_by_an_anti_join(open_db: Callable[[], Store], db: str) -> None:
    store = open_db()
    with store._statement() as cur:
        if db.startswith("postgresql"):
            cur.execute("SET work_mem = '64kB'")  # what a large store is to the default 4 MB
            cur.execute("EXPLAIN " + ORPHANS)
            plan = " ".join(r[0] for r in cur.fetchall())
            assert "Anti Join" in plan, plan
            assert "SubPlan" not in plan, plan
        else:
            cur.execute("EXPLAIN QUERY PLAN " + ORPHANS)
            plan = " ".join(str(r[-1]) for r in cur.fetchall())
            assert "USING INTEGER PRIMARY KEY" in plan or "sqlite_autoindex_flows" in plan, plan
