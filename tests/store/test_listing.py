"""The console's reads, on SQLite and PostgreSQL: flows filtered and paged by keyset (every flow
once, newest first, ties broken by id), limited to some tenants (the default one is the flows
stored with none), read through schema 7's indexes; the accounts kept beside the flows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmaio.adapters.store import Store
from firmaio.adapters.store.accounts import Account
from firmaio.adapters.store.listing import FlowFilter, Listing, pages, where_of
from firmaio.fsm.errors import InvalidInput

T0 = 1_800_000_000.0


def _fill(store: Store) -> list[tuple[str, str | None, float]]:
    """Twelve flows: tenants a, b and none, two of them created at the same second."""
    made = []
    for i in range(12):
        tenant = ("a", "b", None)[i % 3]
        created = T0 + (i // 2 if i < 4 else i)  # flows 0-1 and 2-3 share their second
        flow_id = f"req-{i:02d}"
        store.create(flow_id, activation_deadline=T0 + 1e6, now=created, due_at=None, tenant=tenant)
        made.append((flow_id, tenant, created))
    return made


def _flat(pages: list[list[str]]) -> list[str]:
    return [flow_id for page in pages for flow_id in page]


def _ids(store: Listing, flt: FlowFilter, limit: int = 5) -> list[list[str]]:
    return [[r.flow_id for r in page.rows] for page in pages(store, flt, limit)]


def test_pages_hold_every_flow_once_newest_first(open_db: Callable[[], Store]) -> None:
    store = open_db()
    made = _fill(store)
    seen = _ids(store, FlowFilter(), limit=5)
    newest_first = [m[0] for m in sorted(made, key=lambda m: (m[2], m[0]), reverse=True)]
    assert [len(p) for p in seen] == [5, 5, 2]
    assert _flat(seen) == newest_first


def test_tenants_limit_lists_and_counts(open_db: Callable[[], Store]) -> None:
    store = open_db()
    made = _fill(store)
    only_a = _flat(_ids(store, FlowFilter(tenants=("a",))))
    assert sorted(only_a) == sorted(m[0] for m in made if m[1] == "a")
    default = _flat(_ids(store, FlowFilter(tenants=("default",))))
    assert sorted(default) == sorted(m[0] for m in made if m[1] is None)
    assert _ids(store, FlowFilter(tenants=())) == [[]]
    assert store.counts(("a",)) == {("a", "READY"): 4}
    assert store.counts(None) == {("a", "READY"): 4, ("b", "READY"): 4, ("default", "READY"): 4}
    assert store.listed("req-01", ("a",)) is None  # b's flow, asked for as a's
    assert store.listed("req-01", ("b",)) is not None


def test_filters_by_id_date_and_state(open_db: Callable[[], Store]) -> None:
    store = open_db()
    _fill(store)
    assert _ids(store, FlowFilter(flow_id="req-07")) == [["req-07"]]
    assert _ids(store, FlowFilter(since=T0 + 10, until=T0 + 11)) == [["req-10"]]
    assert _ids(store, FlowFilter(state="CANCELLED")) == [[]]
    assert store.last_day(None, now=T0 + 11) == {"created": 12, "records": 0}


def test_flows_overdue_and_failed_need_a_look(open_db: Callable[[], Store]) -> None:
    store = open_db()
    _fill(store)
    for flow_id, due in (("late", T0), ("later", T0 + 50_000), ("fine", T0 + 190_000)):
        store.create(flow_id, activation_deadline=T0 + 1e6, now=T0, due_at=due, tenant="b")
    stuck = store.needing_a_look(("b",), now=T0 + 200_000, stuck_after=86_400)
    assert [(row.flow_id, why) for row, why in stuck] == [
        ("late", "due 56 h ago and not visited since"),
        ("later", "due 42 h ago and not visited since"),
    ]
    assert store.needing_a_look(("a",), now=T0 + 200_000, stuck_after=86_400) == []


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"state": "SENT"}, "unknown state 'SENT'"),
        ({"refusal": "bored"}, "unknown refusal reason 'bored'"),
        ({"since": 2.0, "until": 1.0}, "the date range ends before it starts"),
    ],
)
def test_a_filter_that_cannot_be_right_is_named(given: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        FlowFilter(**given)  # type: ignore[arg-type]


def test_a_cursor_not_made_here_is_refused(open_db: Callable[[], Store]) -> None:
    store = open_db()
    with pytest.raises(InvalidInput, match="cursor"):
        store.list_flows(FlowFilter(), after="not a cursor!")
    with pytest.raises(InvalidInput, match="1 to 200"):
        store.list_flows(FlowFilter(), limit=0)


def test_a_page_filtered_by_tenant_and_state_is_read_by_index(
    open_db: Callable[[], Store], db: str
) -> None:
    store = open_db()
    _fill(store)
    sql = (
        "SELECT id FROM flows WHERE tenant = 'a' AND state = 'READY' "
        "ORDER BY created_at DESC, id DESC LIMIT 51"
    )
    if db.startswith("postgresql"):
        with store._statement() as cur:
            cur.execute("SET enable_seqscan = off")  # a dozen rows: make the planner show it
            cur.execute("EXPLAIN " + sql)
            plan = " ".join(r[0] for r in cur.fetchall())
    else:
        with store._statement() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(r[-1]) for r in cur.fetchall())
    assert "flows_listed_by_tenant_state" in plan
    assert "Sort" not in plan
    assert "TEMP B-TREE" not in plan


def test_accounts_are_kept_and_found_by_their_identity(open_db: Callable[[], Store]) -> None:
    store = open_db()
    assert store.account_count() == 0
    store.save_account(Account("maria", "$argon2id$...", roles={"a": "operator"}), now=T0)
    store.save_account(
        Account("luca@comune.it", None, "https://idp", None, "luca@comune.it", {"*": "viewer"}),
        now=T0,
    )
    store.save_account(Account("maria", "$argon2id$new", roles={"b": "admin"}), now=T0)
    maria = store.account("maria")
    assert maria is not None
    assert maria.roles == {"b": "admin"}
    assert maria.password_hash == "$argon2id$new"
    found = store.oidc_account("https://idp", "sub-1", "luca@comune.it")
    assert found is not None
    assert found.name == "luca@comune.it"
    assert store.oidc_account("https://other", "sub-1", "luca@comune.it") is None
    assert store.account_count() == 2
    with pytest.raises(InvalidInput, match="unknown role 'root'"):
        store.save_account(Account("x", None, roles={"a": "root"}), now=T0)


def test_a_deep_page_starts_at_its_cursor_in_the_index(
    open_db: Callable[[], Store], db: str
) -> None:
    """The next page's rows are found from the cursor on, not by reading the pages before it."""
    store = open_db()
    _fill(store)
    sql = (
        "SELECT id FROM flows WHERE tenant = 'a' AND state = 'READY' AND (created_at, id) < "
        "(1800000009.0, 'req-09') ORDER BY created_at DESC, id DESC LIMIT 51"
    )
    with store._statement() as cur:
        if db.startswith("postgresql"):
            cur.execute("SET enable_seqscan = off")
            cur.execute("EXPLAIN " + sql)
            plan = " ".join(r[0] for r in cur.fetchall())
            assert (
                "Index Cond: ((tenant = 'a'::text) AND (state = 'READY'::text) AND "
                "(ROW(created_at, id) <" in plan
            )
        else:
            cur.execute("EXPLAIN QUERY PLAN " + sql)
            plan = " ".join(str(r[-1]) for r in cur.fetchall())
            assert "(tenant=? AND state=? AND (created_at,id)<(?,?))" in plan


def _changed(store: Store, changes: list[str]) -> None:
    """Each of ``changes`` changes (an intent opened), one a second from T0 + 100, in order."""
    for n, flow_id in enumerate(changes):
        store.open_intent(flow_id, "notify", expected_seq=0, now=T0 + 100 + n, due_at=None)


def test_flows_are_listed_by_their_last_change(open_db: Callable[[], Store]) -> None:
    """`firmaio flows --since`: flows changed since, the most recently changed first, paged by
    the time of their last change; their creation filters them still, apart."""
    store = open_db()
    _fill(store)
    _changed(store, ["req-00", "req-03", "req-01"])  # old flows, changed late
    since = FlowFilter(changed_since=T0 + 100)
    assert _ids(store, since, limit=2) == [["req-01", "req-03"], ["req-00"]]
    assert _ids(store, FlowFilter(changed_since=T0 + 100, changed_until=T0 + 101)) == [["req-00"]]
    assert _ids(store, FlowFilter(changed_since=T0 + 101, tenants=("a",))) == [["req-03"]]
    assert _ids(store, FlowFilter(since=T0, until=T0 + 1)) == [["req-01", "req-00"]]  # made
    by_change = store.list_flows(since, limit=1).after
    assert by_change is not None
    with pytest.raises(InvalidInput, match="ordered by last change"):
        store.list_flows(FlowFilter(), after=by_change)  # a cursor of the other order
    with pytest.raises(InvalidInput, match="last changes ends before it starts"):
        FlowFilter(changed_since=T0 + 2, changed_until=T0 + 1)


@pytest.mark.parametrize(
    ("flt", "index"),
    [
        (FlowFilter(changed_since=T0 + 100), "flows_changed"),
        (FlowFilter(changed_since=T0 + 100, state="READY"), "flows_changed_by_state"),
    ],
)
def test_a_page_by_last_change_is_read_by_index(
    open_db: Callable[[], Store], db: str, flt: FlowFilter, index: str
) -> None:
    """The query list_flows makes for a filter on the last change reads its index in order: no
    sort, however many flows changed."""
    store = open_db()
    _fill(store)
    _changed(store, ["req-00", "req-03", "req-01"])
    where, params = where_of(flt)
    sql = f"SELECT id FROM flows WHERE {where} ORDER BY updated_at DESC, id DESC LIMIT 51"
    with store._statement() as cur:
        if db.startswith("postgresql"):
            for scan in ("seqscan", "bitmapscan"):  # a dozen rows: it would rather sort them
                cur.execute(f"SET enable_{scan} = off")
            cur.execute(store._sql("EXPLAIN " + sql), params)
            plan = " ".join(r[0] for r in cur.fetchall())
        else:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(r[-1]) for r in cur.fetchall())
    assert f"{index} " in f"{plan} ", plan
    assert "Sort" not in plan
    assert "TEMP B-TREE" not in plan
