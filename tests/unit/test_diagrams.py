"""diagrams/, the README's diagram and the manual's table are what the table renders; the SCXML
runs in another engine."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from statemachine.io import load

from firmaio.adapters.report.svg import dot_version, element_ids, render_svg, rendered_by
from firmaio.fsm import TABLE, State
from firmaio.fsm.diagrams.looks import dot_files
from firmaio.fsm.diagrams.paths import Path as FsmPath
from firmaio.fsm.diagrams.paths import loops, path_id, path_to, paths
from firmaio.fsm.diagrams.render import (
    FILES,
    FORMATS,
    render,
    table_markdown,
    to_dot,
    to_mermaid,
    to_scxml,
)
from firmaio.fsm.diagrams.render import paths_markdown as render_paths
from firmaio.fsm.diagrams.views import details, overview
from firmaio.fsm.driving.engine import default_engine
from firmaio.fsm.machine.states import SETUP_ONLY, TERMINAL
from tests.helpers import START, fire_rows, new_flow_from
from tests.unit.test_paths import replay

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
REFRESH = "run `make diagrams` and commit"
GENERATED = {"mermaid": "docs/machine.md", "table": "docs/machine.md"}
"""The page that holds each generated block (once); `make diagrams` refreshes them there."""
ALL = [*paths(), *loops()]


@pytest.mark.parametrize("fmt", FORMATS)
def test_diagrams_match_the_table(fmt: str) -> None:
    """Each committed diagram is exactly what the table renders today."""
    committed = (ROOT / "diagrams" / FILES[fmt]).read_text()
    assert committed == render(fmt), f"diagrams/{FILES[fmt]} is stale: {REFRESH}"


def _block(page: str, name: str) -> str:
    text = (ROOT / page).read_text()
    start, end = f"<!-- BEGIN generated:{name} -->\n", f"<!-- END generated:{name} -->"
    assert start in text, f"{page} lacks the start of the generated block {name!r}"
    assert end in text, f"{page} lacks the end of the generated block {name!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def test_manual_diagram_matches_the_table() -> None:
    """docs/machine.md's Mermaid diagram is rendered from the table; the README shows the
    overview (SVG) instead, the first diagram a reader meets."""
    assert "](diagrams/overview.svg)" in (ROOT / "README.md").read_text()
    page = GENERATED["mermaid"]
    assert _block(page, "mermaid") == f"```mermaid\n{to_mermaid()}```\n", (
        f"{page}'s diagram is stale: {REFRESH}"
    )


def test_manual_transition_table_matches_the_table() -> None:
    """docs/machine.md's transition table is rendered from the table."""
    page = GENERATED["table"]
    assert _block(page, "table") == table_markdown(), (
        f"{page}'s transition table is stale: {REFRESH}"
    )


def test_each_generated_block_lives_in_one_page() -> None:
    """No other page holds a copy of a generated block, so none is left behind to go stale."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for name, home in GENERATED.items():
        marker = f"<!-- BEGIN generated:{name} -->"
        holders = [
            str(page.relative_to(ROOT))
            for page in pages
            for _ in range(page.read_text().count(marker))
        ]
        assert holders == [home], f"the {name} block belongs once in {home}, found in {holders}"


def test_every_row_is_an_edge_with_its_trigger_and_guard() -> None:
    """Mermaid and DOT show each row's trigger and guard; terminal states are marked."""
    mermaid, dot = to_mermaid(), to_dot()
    for row in TABLE:
        assert f"{row.source} --> {row.target}: {row.trigger}" in mermaid
        assert f"{row.source} -> {row.target}" in dot
        if row.guard_name:
            assert (
                row.guard_name
                in mermaid.split(f"{row.source} --> {row.target}: {row.trigger}", 1)[1].split("\n")[
                    0
                ]
            )
    for state in TERMINAL:
        assert f"{state} --> [*]" in mermaid
        assert f"{state} [shape=doubleoctagon]" in dot


def test_the_set_up_is_drawn_apart_with_its_own_entry() -> None:
    """Mermaid: a second entry, a note and a colour of its own; DOT: a cluster with its own
    start, joining the spine at READY."""
    mermaid, dot = to_mermaid(), to_dot()
    assert "[*] --> READY" in mermaid
    assert "[*] --> RECEIVED" in mermaid
    assert "note left of RECEIVED" in mermaid
    assert "class RECEIVED,SIGNER_FOUND," in mermaid
    assert "DOCUMENT_VALIDATED --> READY: mark_ready [request_was_marked_ready]" in mermaid
    cluster = dot.split("subgraph cluster_setup {", 1)[1].split("    }", 1)[0]
    assert 'label="Issuer set-up (from a PDF)"' in cluster
    for state in SETUP_ONLY:
        assert f"        {state}" in cluster, state
    assert "READY" not in cluster.replace("DOCUMENT_", "")
    assert "__start_setup -> RECEIVED;" in dot
    assert "__start -> READY;" in dot


def test_a_table_without_the_set_up_is_drawn_as_before() -> None:
    """A table of one's own without the set-up's rows has one entry and no set-up box."""
    rows = [row for row in TABLE if row.source not in SETUP_ONLY]
    assert "RECEIVED" not in to_mermaid(rows)
    assert "cluster_setup" not in to_dot(rows)
    assert "Each path starts in `READY`" in render_paths(rows)
    assert "## To `NOTIFIED` (resting, 13 paths)" in render_paths(rows)
    for text in (to_mermaid(rows), to_dot(rows), to_scxml(rows)):
        assert not any(str(state) in text for state in SETUP_ONLY)


def test_a_flow_history_is_highlighted() -> None:
    """Drawn with a flow's history, visited states and taken edges stand out."""
    engine = default_engine()
    flow = engine.new_flow("01ARZ3NDEKTSV4RRFFQ69G5FAV", now=START)
    fire_rows(engine, flow, next(p for p in paths() if p[-1].target is State.FALLBACK_SUGGESTED))
    mermaid = to_mermaid(history=flow.history)
    assert "class READY,WAIT_FOR_SIGNATURE,NOTIFY_REFUSED,FALLBACK_SUGGESTED visited" in mermaid
    assert "class RECEIVED,SIGNER_FOUND," in mermaid  # the set-up, not visited
    assert "NOTIFY_REFUSED --> FALLBACK_SUGGESTED: #3 suggest_fallback" in mermaid
    dot = to_dot(history=flow.history)
    assert (
        'NOTIFY_REFUSED -> FALLBACK_SUGGESTED [label="#3 suggest_fallback", color="#1f5fbf"' in dot
    )


def test_a_pdf_flow_s_history_is_highlighted_from_received() -> None:
    """A flow from a PDF is highlighted from where it started, RECEIVED, not READY."""
    engine = default_engine()
    flow = new_flow_from(engine, State.RECEIVED)
    fire_rows(engine, flow, path_to(State.DOCUMENT_REFUSED))
    mermaid = to_mermaid(history=flow.history)
    assert "class RECEIVED,SIGNER_FOUND,DOCUMENT_REFUSED visited" in mermaid
    assert "SIGNER_FOUND --> DOCUMENT_REFUSED: #2 check_document [document_is_invalid]" in mermaid
    dot = to_dot(history=flow.history)
    assert 'RECEIVED [style="rounded,filled", fillcolor="#cfe3ff"]' in dot
    assert "\n    READY;\n" in dot  # drawn plain: not visited


def test_paths_document_lists_every_path_and_its_basis() -> None:
    """PATHS.md has one entry per path and loop, and quotes every basis it cites."""
    text = render("paths")
    entries = [
        line
        for line in text.splitlines()
        if line[:1].isdigit() and (". `READY`" in line or ". `RECEIVED`" in line)
    ]
    assert len(entries) == len(ALL)
    assert "## The card's spine, from `READY`" in text
    assert "## Issuer set-up (from a PDF), from `RECEIVED`" in text
    assert "### To `READY` (joins the spine, 4 paths)" in text
    assert "implements the page" in text
    assert "beyond the page" in text
    assert "Contattarti in app" in text or "scheda servizio" in text


# -- SCXML, checked by python-statemachine (an implementation nobody here wrote) ---------------


@pytest.fixture(scope="module")
def scxml_class() -> type:
    return load(to_scxml(), format="scxml")


def test_scxml_has_the_same_states_and_transitions(scxml_class: type) -> None:
    """python-statemachine loads our SCXML into the same states and the same rows."""
    states = {s.id: s for s in scxml_class.states}
    assert set(states) == {str(s) for s in State}
    assert {sid for sid, s in states.items() if s.final} == {str(s) for s in TERMINAL}
    loaded = sorted(
        (s.id, str(t.event), t.target.id) for s in scxml_class.states for t in s.transitions
    )
    # a final state has no transitions in SCXML: a row that stays in one is named in a comment
    moving = [r for r in TABLE if r.source not in TERMINAL]
    assert loaded == sorted((str(r.source), str(r.trigger), str(r.target)) for r in moving)
    staying = [r for r in TABLE if r.source in TERMINAL]
    assert staying, "no row stays in a terminal state?"
    for row in staying:
        assert row.target is row.source
        assert f"{row.trigger} [{row.guard_name}]" in to_scxml()


def _guard_kwargs(row: object) -> dict[str, bool]:
    from firmaio.fsm.machine.table import Row

    assert isinstance(row, Row)
    siblings = [r.guard_name for r in TABLE if (r.source, r.trigger) == (row.source, row.trigger)]
    return {name: name == row.guard_name for name in siblings if name}


@pytest.mark.parametrize("path", ALL, ids=[path_id(p) for p in ALL])
def test_scxml_reaches_the_same_state_as_our_engine(scxml_class: type, path: FsmPath) -> None:
    """Replaying a path in python-statemachine, from the state it starts in, ends where our
    engine ends (a row that stays in a terminal state cannot be sent to a final state)."""
    machine = scxml_class(start_value=str(path[0].source))
    for row in path:
        if row.source in TERMINAL:
            assert row.target is row.source
            continue
        machine.send(str(row.trigger), **_guard_kwargs(row))
    driver, _api, _calls = asyncio.run(replay(path))
    ours = driver.flow.state  # type: ignore[attr-defined]
    assert [str(s.id) for s in machine.configuration] == [str(ours)]


# -- the legible views: DOT from the IR, SVG rendered by Graphviz and committed -----------------

VIEWS = {"overview": overview(), **{f"trigger-{v.name}": v for v in details()}}


@pytest.mark.parametrize("name", sorted(dot_files()))
def test_view_dot_matches_the_table(name: str) -> None:
    """Each committed view's DOT is what the IR renders today."""
    committed = (ROOT / "diagrams" / name).read_text()
    assert committed == dot_files()[name], f"diagrams/{name} is stale: {REFRESH}"


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_committed_svg_has_every_state_and_edge_of_the_ir(name: str) -> None:
    """Read from the committed SVG, without Graphviz: every id the report highlights is there."""
    svg = (ROOT / "diagrams" / f"{name}.svg").read_text()
    missing = set(VIEWS[name].ids) - element_ids(svg)
    assert not missing, f"diagrams/{name}.svg lacks {sorted(missing)}: {REFRESH}"


def _graphviz_or_skip() -> str:
    version = dot_version()
    if version is None:
        reason = "Graphviz's dot is not installed (Debian: graphviz)"
        if os.environ.get("FIRMAIO_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail(f"{reason}; FIRMAIO_REQUIRE_GRAPHVIZ=1 makes this test mandatory")
        pytest.skip(f"{reason}; the ids are still checked on the committed SVG")
    return version


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_committed_svg_is_what_graphviz_renders_today(name: str) -> None:
    """Where the Graphviz that rendered the committed SVG is installed, it renders it again
    byte for byte (another version lays out differently: that is skipped, with the reason)."""
    version = _graphviz_or_skip()
    committed = (ROOT / "diagrams" / f"{name}.svg").read_text()
    if rendered_by(committed) != version:
        pytest.skip(
            f"diagrams/{name}.svg was rendered by Graphviz {rendered_by(committed)}, "
            f"this machine has {version}: layouts differ between versions"
        )
    assert committed == render_svg(dot_files()[f"{name}.dot"]), f"diagrams/{name}.svg: {REFRESH}"


def test_the_report_ships_the_committed_overview() -> None:
    """The package's copy of the overview (what `firmaio report` highlights) is diagrams/'s."""
    shipped = ROOT / "adapters" / "report" / "overview.svg"
    assert shipped.read_text() == (ROOT / "diagrams" / "overview.svg").read_text(), REFRESH
