"""The compliance review pack: ``firmaio report`` as one self-contained HTML file.

:func:`build_report` reads flows from a store (read-only), checks every chain and, given one, the
signed checkpoint, and renders for each flow the overview with its path highlighted (on the
committed SVG, by element id), its trail with times in UTC and Europe/Rome, the API's evidence,
the basis of each row quoted from the page or the API notes, and the actor; for a whole store,
counts by state, refusals by reason and the flows stuck or failed. Needs the ``[report]`` extra
(Jinja2); :mod:`.svg` also renders the views' DOT with Graphviz for ``make diagrams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.ports import FlowStore, StoredFlow, TrailReader
from firmaio.fsm.trail import Checkpoint

from ..trail import StoreVerdict, verify_store
from .model import sections, summary

__all__ = ["ReportStore", "build_report"]


class ReportStore(FlowStore, TrailReader, Protocol):
    """What the report reads: flows and their trails (any firmaio-fsm store)."""


async def build_report(
    store: ReportStore,
    ids: Sequence[str] = (),
    *,
    label: str,
    checkpoint: Checkpoint | None = None,
    checkpoint_problem: str | None = None,
    checkpoint_path: str | None = None,
) -> tuple[str, StoreVerdict]:
    """The report's HTML for flows ``ids`` (every flow when empty), and the store's verdict.

    Raises :class:`InvalidInput` naming the ids the store does not have; nothing is written.
    """
    from .html import render_html  # Jinja2: the [report] extra

    verdict = await verify_store(store, checkpoint, checkpoint_problem)
    states = {row.flow_id: row.state for row in verdict.rows}
    wanted = list(dict.fromkeys(ids)) or list(states)
    missing = [flow_id for flow_id in wanted if flow_id not in states]
    if missing:
        raise InvalidInput(f"no flow {', '.join(map(repr, missing))} in {label}; nothing written")
    flows: list[tuple[StoredFlow, str]] = []
    for flow_id in wanted:
        stored = await store.load(flow_id)
        if stored is not None:
            flows.append((stored, states[flow_id]))
    rows = [row for row in verdict.rows if row.flow_id in set(wanted)]
    html = render_html(
        sections(flows, verdict),
        summary(label, rows, [stored for stored, _ in flows]),
        verdict,
        whole_store=not ids,
        checkpoint_path=checkpoint_path,
    )
    return html, verdict
