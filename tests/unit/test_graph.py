"""The diagrams' IR: the overview a reviewer reads at a glance and the per-trigger views are the
table, regrouped; nothing is lost, nothing is invented."""

from __future__ import annotations

from collections import Counter

from firmaio.fsm import TABLE, State
from firmaio.fsm.diagrams.graph import path_on, row_of
from firmaio.fsm.diagrams.looks import dot_files
from firmaio.fsm.diagrams.paths import paths
from firmaio.fsm.diagrams.views import details, machine, overview, spine_rows, table_view
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.machine.states import SETUP_ONLY, TERMINAL
from firmaio.fsm.machine.table import BASIS, Row
from tests.helpers import START, fire_rows, new_flow_from


def test_the_spine_is_the_rows_the_page_describes() -> None:
    """Spine rows cite only the page; every row citing only the page is on the spine."""
    spine = spine_rows()
    assert spine, "the page describes no row?"
    for row in TABLE:
        on_page = all(BASIS[key].on_page for key in row.basis)
        assert (row in spine) == on_page, row
    drawn = {(r.source, r.target) for r in spine}
    assert (State.READY, State.WAIT_FOR_SIGNATURE) in drawn
    assert (State.WAIT_FOR_SIGNATURE, State.NOTIFIED) in drawn
    assert (State.NOTIFY_REFUSED, State.FALLBACK_SUGGESTED) in drawn


def test_the_overview_draws_every_row_once_and_merges_pairs_of_states() -> None:
    view = overview()
    placed = Counter(row for edge in view.edges for row in edge.rows)
    assert set(placed) == set(TABLE)
    assert set(placed.values()) == {1}
    pairs = [(e.source, e.target) for e in view.edges]
    assert len(pairs) == len(set(pairs)), "two edges join the same two states"
    assert len(view.edges) < len(TABLE) / 2


def test_closing_states_are_reached_through_one_grouped_edge_per_state() -> None:
    view = overview()
    for edge in view.edges:
        if edge.target is None:
            assert {row.target for row in edge.rows} <= TERMINAL
            assert edge.id == f"edge-{edge.source}-closing"
        elif edge.target in TERMINAL:  # a row that stays in a closing state is its own loop
            assert edge.source is edge.target
            assert {row.target for row in edge.rows} == {edge.target}
        else:
            assert edge.target not in TERMINAL
    loops_on_closing = {e.id for e in view.edges if e.target in TERMINAL}
    assert loops_on_closing == {"edge-SIGNED-SIGNED"}  # fetching the signed documents
    sources = [e.source for e in view.edges if e.target is None]
    assert len(sources) == len(set(sources))
    assert {n.state for n in view.nodes if n.kind == "closing"} == TERMINAL


def test_the_spine_is_drawn_first() -> None:
    view = overview()
    flags = [edge.spine for edge in view.edges]
    assert flags == sorted(flags, reverse=True)
    assert any(flags)


def test_each_edge_lists_every_guard_of_its_rows() -> None:
    for edge in overview().edges:
        label = "\n".join(edge.lines)
        for row in edge.rows:
            if row.guard_name:
                assert row.guard_name in label, (edge.id, row.guard_name)


def test_one_detail_view_per_trigger_with_one_edge_per_row() -> None:
    views = details()
    assert [v.name for v in views] == list(dict.fromkeys(str(r.trigger) for r in TABLE))
    for view in views:
        rows = [r for r in TABLE if str(r.trigger) == view.name]
        assert [e.rows[0] for e in view.edges] == rows
        assert len(set(view.ids)) == len(view.ids)


def test_ids_are_unique_and_every_view_has_a_dot_file() -> None:
    view = overview()
    assert len(set(view.ids)) == len(view.ids)
    files = dot_files()
    assert set(files) == {"overview.dot", *(f"trigger-{v.name}.dot" for v in details())}
    for element_id in view.ids:
        assert f'id="{element_id}"' in files["overview.dot"]


def test_a_flow_path_is_placed_on_the_overview_with_the_guard_that_held() -> None:
    engine = default_engine()
    for path in paths():
        flow = new_flow_from(engine, path[0].source)
        fire_rows(engine, flow, path)
        visited, steps = path_on(overview(), flow.history)
        assert f"state-{path[0].source}" in visited
        assert [s.record.seq for s in steps] == [r.seq for r in flow.history]
        for step, row in zip(steps, path, strict=True):
            assert step.edge is not None
            assert row in step.edge.rows
            assert row_of(step.record) == row
            assert step.record.guard == row.guard_name
        assert f"state-{flow.state}" in visited


def test_the_set_up_is_marked_apart_from_the_spine() -> None:
    """The set-up's states and the rows leaving them are marked; none is on the spine, and
    both entries are drawn as where a flow starts."""
    view = overview()
    setup = {node.state for node in view.nodes if node.setup}
    assert setup == SETUP_ONLY
    assert not any(node.spine for node in view.nodes if node.setup)
    assert {node.state for node in view.nodes if node.kind == "initial"} == {
        State.READY,
        State.RECEIVED,
    }
    for edge in view.edges:
        assert edge.setup == (edge.source in SETUP_ONLY), edge.id
        assert not (edge.setup and edge.spine), edge.id
    join = next(e for e in view.edges if e.source is State.DOCUMENT_VALIDATED and e.target)
    assert (join.id, join.target, join.setup) == (
        "edge-DOCUMENT_VALIDATED-READY",
        State.READY,
        True,
    )


def test_a_flow_with_no_record_is_placed_where_it_starts() -> None:
    view = overview()
    assert path_on(view, [])[0] == {"state-READY"}
    assert path_on(view, [], State.RECEIVED)[0] == {"state-RECEIVED"}


def test_a_record_of_another_table_is_not_placed() -> None:
    view = overview(
        [Row(State.READY, "poke", State.WAIT_FOR_SIGNATURE, None, ("page.wait",))], BASIS
    )
    engine = default_engine()
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, next(iter(paths())))
    _visited, steps = path_on(view, flow.history)
    assert all(step.edge is None for step in steps)


def test_the_machine_view_merges_each_trigger_s_rows_between_two_states() -> None:
    """Mermaid and flow.dot's view: every row once, one edge per (source, target, trigger);
    the set-up grouped with its entry and where it joins; READY's start first."""
    view = machine()
    placed = Counter(row for edge in view.edges for row in edge.rows)
    assert set(placed) == set(TABLE)
    assert set(placed.values()) == {1}
    keys = [{(r.source, r.target, str(r.trigger)) for r in edge.rows} for edge in view.edges]
    assert all(len(key) == 1 for key in keys), "an edge mixes triggers or states"
    assert len({key.pop() for key in keys}) == len(view.edges), "two edges share a trigger"
    setup = view.group("setup")
    assert setup is not None
    assert set(setup.members) == SETUP_ONLY
    assert (setup.entry, setup.joins) == (State.RECEIVED, State.READY)
    assert view.starts == (State.READY, State.RECEIVED)
    assert {n.state for n in view.nodes} == set(State)


def test_the_machine_view_marks_a_flow_s_visited_states_and_taken_edges() -> None:
    engine = default_engine()
    path = next(p for p in paths() if p[-1].target is State.FALLBACK_SUGGESTED)
    flow = new_flow_from(engine, path[0].source)
    fire_rows(engine, flow, path)
    view = machine(history=flow.history)
    assert {n.state for n in view.nodes if n.visited} == {path[0].source} | {r.target for r in path}
    taken = {e.rows[0]: e.steps for e in view.edges if e.steps}
    assert taken == {row: (record.seq,) for row, record in zip(path, flow.history, strict=True)}
    assert all("taken" in e.classes for e in view.edges if e.steps)
    assert not any(n.visited for n in machine().nodes)


def test_the_table_view_is_every_row_in_table_order_without_the_set_up_it_lacks() -> None:
    """The SCXML's and the manual table's view; a table without the set-up's rows has neither
    its states nor its group."""
    assert [edge.rows for edge in table_view().edges] == [(row,) for row in TABLE]
    rows = [row for row in TABLE if row.source not in SETUP_ONLY]
    view = table_view(rows)
    assert view.groups == ()
    assert view.starts == (State.READY,)
    assert not {n.state for n in view.nodes} & SETUP_ONLY
