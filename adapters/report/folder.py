"""The report of a whole store, of any size, as a folder of self-contained pages.

``DIR/index.html`` is the summary: the verdict of every chain and of the checkpoint, the digest
of all heads, counts by state and by tenant, refusals by reason, the flows that need a look (the
first :data:`ATTENTION` of them), the machine's overview and the list pages. ``DIR/list-N.html``
lists a page of flows (state, tenant, records, chain and checkpoint verdicts), each linking to
``DIR/flows/ID.html``: its highlighted path, trail and verdicts, as one file shows a flow.

The store is read twice, a page at a time: :func:`~firmaio.adapters.trail.verify_store` checks
every chain, then each page of flows is written as it is read, each flow's verdicts checked
again with the records its page shows (a flow written meanwhile is shown as it is then). What is
held is a page, the verdict and the counts, never the store; the summary is written last.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmaio.fsm.diagrams import overview
from firmaio.fsm.labels import DEFAULT_LANG
from firmaio.fsm.ports import FlowRow, StoredFlow
from firmaio.fsm.trail import Checkpoint, against_checkpoint, verify_chain

from ..store.paging import PAGE
from ..trail import StoreVerdict, verify_store
from .model import StoreSummary, attention_of, by_state, flow_section, refusals_of
from .svg import highlight, overview_svg

if TYPE_CHECKING:
    from . import ReportStore

ATTENTION = 500
"""How many of the flows that need a look the summary lists (the list pages mark them all)."""


_PLAIN = re.compile(r"[0-9A-Za-z_-]{1,128}")


def page_of(flow_id: str) -> str:
    """A flow's page, under ``flows/``: named by its id, or, for an id that is not plain letters,
    digits, ``-`` and ``_`` (a store's rows are not trusted: ``../x`` never names a path), by
    the id's hash."""
    if _PLAIN.fullmatch(flow_id):
        return f"flows/{flow_id}.html"
    return f"flows/id-{hashlib.sha256(flow_id.encode()).hexdigest()[:32]}.html"


@dataclass(frozen=True, slots=True)
class Entry:
    """One flow on a list page."""

    flow_id: str
    page: str
    state: str
    tenant: str | None
    records: int
    at_rest: bool
    chain_ok: bool
    checkpoint: str
    checkpoint_ok: bool | None


@dataclass
class _Tally:
    """The summary's counts, added to a flow at a time."""

    states: Counter[str]
    tenants: Counter[str]
    refusals: Counter[str]
    attention: list[tuple[str, str, str]]
    more: int = 0


async def write_folder(
    store: ReportStore,
    folder: Path,
    *,
    label: str,
    checkpoint: Checkpoint | None = None,
    checkpoint_problem: str | None = None,
    checkpoint_path: str | None = None,
    page: int = PAGE,
    lang: str = DEFAULT_LANG,
) -> StoreVerdict:
    """Write the whole store's report into ``folder`` (made if missing; the pages of an
    earlier report there are replaced); the store's verdict."""
    from .html import checkpoint_made, render_page  # Jinja2: the [report] extra

    verdict = await verify_store(store, checkpoint, checkpoint_problem, page=page)
    (folder / "flows").mkdir(parents=True, exist_ok=True)
    tally = _Tally(Counter(), Counter(), Counter(), [])
    shared: dict[str, Any] = {
        "label": label, "verdict": verdict, "checkpoint_path": checkpoint_path, "lang": lang,
    }  # fmt: skip
    lists: list[tuple[int, str, str]] = []
    held: list[Entry] = []  # a list page is written once it is known whether one follows
    after: str | None = None
    view = overview()
    while read := await store.flows_page(after, page):
        if held:
            _write_list(folder, len(lists), held, more=True, label=label, lang=lang)
        after, held = read[-1][0].flow_id, []
        lists.append((len(lists) + 1, read[0][0].flow_id, after))
        for row, stored, links in read:
            broken = verify_chain(row.flow_id, links, row.seq, row.head_hash, row.state)
            moved = None
            if verdict.checkpoint is not None:
                moved = against_checkpoint(verdict.checkpoint, row.flow_id, links)
            section = flow_section(view, stored, row.state, verdict, 1, (broken, moved), lang)
            html = render_page(
                "flow.html.j2", s=section, n=len(lists), notes_href="../index.html", **shared
            )
            page_name = page_of(row.flow_id)
            (folder / page_name).write_text(html, encoding="utf-8")
            held.append(
                Entry(row.flow_id, page_name, row.state, row.tenant, len(links),
                      section.at_rest, section.chain_ok, section.checkpoint, section.checkpoint_ok)
            )  # fmt: skip
            _count(tally, row, stored)
    if held:
        _write_list(folder, len(lists), held, more=False, label=label, lang=lang)
    summary = StoreSummary(
        label, by_state(tally.states), dict(tally.refusals.most_common()), tally.attention,
        dict(sorted(tally.tenants.items())), tally.more,
    )  # fmt: skip
    index = render_page(
        "index.html.j2",
        summary=summary,
        flows=sum(tally.states.values()),
        lists=len(lists),
        per_list=page,
        list_pages=lists,
        diagram=highlight(overview_svg(), "overview-", (), {}),
        checkpoint_made=checkpoint_made(verdict),
        flow_href=page_of,
        **shared,
    )
    (folder / "index.html").write_text(index, encoding="utf-8")
    return verdict


def _count(tally: _Tally, row: FlowRow, stored: StoredFlow) -> None:
    tally.states[row.state] += 1
    tally.tenants[row.tenant or "(the default)"] += 1
    tally.refusals.update(refusals_of(stored))
    needs = attention_of(row, stored)
    if needs is not None and len(tally.attention) < ATTENTION:
        tally.attention.append(needs)
    elif needs is not None:
        tally.more += 1


def _write_list(
    folder: Path, n: int, entries: list[Entry], *, more: bool, label: str, lang: str
) -> None:
    from .html import render_page

    html = render_page("list.html.j2", lang, n=n, more=more, entries=entries, label=label)
    (folder / f"list-{n}.html").write_text(html, encoding="utf-8")
