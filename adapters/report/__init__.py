"""The compliance review pack: ``firmaio report`` as one self-contained HTML file, or, for a
store of any size, a folder of them: a summary and a page per flow (:mod:`.folder`).

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
from firmaio.fsm.labels import DEFAULT_LANG
from firmaio.fsm.ports import FlowRow, FlowStore, StoredFlow, TrailReader
from firmaio.fsm.trail import ChainLink, Checkpoint

from ..trail import StoreVerdict, verify_store
from .folder import write_folder
from .model import sections, summary

__all__ = ["ONE_FILE", "ReportStore", "build_report", "write_folder"]

ONE_FILE = 200
"""The most flows of a whole store one HTML file shows (about 25-47 kB each); a larger store's
report is a folder: a summary and a page per flow (:func:`write_folder`)."""


class ReportStore(FlowStore, TrailReader, Protocol):
    """What the report reads: flows and their trails (any firmaio-fsm store)."""

    async def flows_page(
        self, after: str | None = None, limit: int = 500
    ) -> list[tuple[FlowRow, StoredFlow, list[ChainLink]]]:
        """Up to ``limit`` flows after ``after``, by id, each as ``load`` reads it."""
        ...


async def build_report(
    store: ReportStore,
    ids: Sequence[str] = (),
    *,
    label: str,
    checkpoint: Checkpoint | None = None,
    checkpoint_problem: str | None = None,
    checkpoint_path: str | None = None,
    lang: str = DEFAULT_LANG,
) -> tuple[str, StoreVerdict]:
    """The report's HTML for flows ``ids`` (every flow when empty), and the store's verdict.

    Raises :class:`InvalidInput` naming the ids the store does not have; nothing is written.
    """
    from .html import render_html  # Jinja2: the [report] extra

    wanted = list(dict.fromkeys(ids))
    if not wanted and len(await store.trail_page(None, ONE_FILE + 1)) > ONE_FILE:
        raise InvalidInput(
            f"{label} holds more than {ONE_FILE} flows, more than one HTML file shows: name a "
            "folder (--out DIR) for a summary and a page per flow; nothing written"
        )
    verdict = await verify_store(store, checkpoint, checkpoint_problem)
    rows = await store.rows(wanted or None)
    states = {row.flow_id: row.state for row in rows}
    missing = [flow_id for flow_id in wanted if flow_id not in states]
    if missing:
        raise InvalidInput(f"no flow {', '.join(map(repr, missing))} in {label}; nothing written")
    flows: list[tuple[StoredFlow, str]] = []
    for flow_id in wanted or list(states):
        stored = await store.load(flow_id)
        if stored is not None:
            flows.append((stored, states[flow_id]))
    html = render_html(
        sections(flows, verdict, lang),
        summary(label, rows, [stored for stored, _ in flows]),
        verdict,
        whole_store=not ids,
        checkpoint_path=checkpoint_path,
        lang=lang,
    )
    return html, verdict
