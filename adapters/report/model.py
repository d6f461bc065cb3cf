"""What the report shows, read from a store: per flow its highlighted path, its trail with times,
evidence, basis and actor, its chain and checkpoint verdicts; for the store, its counts.

Everything shown comes from the stored records and the table; fiscal codes are masked again on
the way in (they are masked when recorded), and no key is ever read here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from firmaio.fsm.diagrams import View, overview, path_on, row_of
from firmaio.fsm.labels import DEFAULT_LANG
from firmaio.fsm.machine import BASIS, DEFAULT_STEPS, VERSIONS, State
from firmaio.fsm.ports import FlowRow, StoredFlow
from firmaio.fsm.redact import redact_text
from firmaio.fsm.trail import (
    AuditRecord,
    BrokenChain,
    Outcome,
    migration_note,
    unknown_status,
)

from ..trail import StoreVerdict
from .documents import documents_of
from .path_svg import path_svg
from .svg import highlight, overview_svg

ROME = "Europe/Rome"
PAGE = "Tramite messaggio su IO (the documentation page)"
NOTES = "API-NOTES (the issuer API)"


def times(epoch: float) -> tuple[str, str]:
    """``epoch`` as ISO-8601 in UTC and in Europe/Rome, to the second."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    rome = moment.astimezone(ZoneInfo(ROME))
    return moment.isoformat(timespec="seconds"), rome.isoformat(timespec="seconds")


def _clean(text: str | None) -> str | None:
    return None if text is None else redact_text(text)


@dataclass(frozen=True, slots=True)
class Basis:
    key: str
    source: str
    text: str
    kind: str = "notes"
    """``page`` (a sentence of the page), ``own`` (the administration's own evidence, beside
    the page's advice) or ``notes`` (a fact of the issuer API): :func:`basis_kind`."""


def basis_kind(key: str) -> str:
    """Where a basis comes from: the page's sentence, the administration's own record of what
    the page advises (``page.channels``: not an issuer-API fact), or the issuer API's notes."""
    if BASIS[key].on_page:
        return "page"
    return "own" if key.startswith("page.") else "notes"


@dataclass(frozen=True, slots=True)
class TrailRow:
    """One record as the trail table shows it."""

    seq: int
    utc: str
    rome: str
    trigger: str
    source: str
    target: str
    outcome: str
    guard: str | None
    http_status: int | None
    request_status: str | None
    io_message_id: str | None
    detail: str | None
    reason: str | None
    basis: tuple[Basis, ...]
    actor: str | None
    decided_at: float = 0.0
    reason_key: str | None = None
    """The reason's code name (the row's reason function), for its label."""
    facts: tuple[tuple[str, str], ...] = ()
    """What the record states beside its answer that a reviewer reads: the documents' SHA-256,
    the fallback's channel and note, the signer's id (masked)."""


def fact_kind(name: str) -> str | None:
    """What a fact the trail shows is (``sent_sha256``, ``signed_sha256``, ``channel``,
    ``note``, ``signer_id``), or ``None`` for one it does not show."""
    if name.endswith("sha256"):
        return "signed_sha256" if name.startswith("signed.") else "sent_sha256"
    return name if name in ("channel", "note", "signer_id") else None


def mask_id(value: str) -> str:
    """An id shown masked: its first 8 characters, the rest hidden (``57eee2a6-…``)."""
    return value if len(value) <= 8 else f"{value[:8]}…"


def shown_facts(record: AuditRecord) -> tuple[tuple[str, str], ...]:
    """The record's facts the trail shows, as ``(kind, value)`` (:func:`fact_kind`), the
    signer's id masked."""
    shown = []
    for name, value in record.facts or ():
        kind = fact_kind(name)
        if kind is not None:
            shown.append((kind, mask_id(value) if kind == "signer_id" else redact_text(value)))
    return tuple(shown)


def _reason_key(record: AuditRecord) -> str | None:
    """The code name of the reason the record gives, for its label."""
    row = row_of(record)
    if row is not None and row.reason is not None and record.outcome is Outcome.ACCEPTED:
        return row.reason.__name__
    return "no_guard_held" if record.outcome is Outcome.REFUSED and record.reason else None


def trail_row(record: AuditRecord) -> TrailRow:
    row = row_of(record)
    bases = tuple(
        Basis(key, PAGE if BASIS[key].on_page else NOTES, BASIS[key].text, basis_kind(key))
        for key in (row.basis if row is not None else ())
    )
    utc, rome = times(record.decided_at)
    return TrailRow(
        seq=record.seq, utc=utc, rome=rome, trigger=str(record.trigger),
        source=str(record.source), target=str(record.target), outcome=str(record.outcome),
        guard=record.guard, http_status=record.http_status, request_status=record.request_status,
        io_message_id=record.io_message_id, detail=_clean(record.detail),
        reason=_clean(record.reason), basis=bases, actor=_clean(record.actor),
        decided_at=record.decided_at,
        reason_key=_reason_key(record),
        facts=shown_facts(record),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PathStep:
    """One accepted step on the highlighted path: where it went, and the guard that held."""

    seq: int
    trigger: str
    source: str
    target: str
    guard: str | None
    edge_id: str | None


@dataclass
class FlowSection:
    """One flow's part of the report."""

    flow_id: str
    anchor: str
    state: str
    at_rest: bool
    svg: str
    steps: list[PathStep]
    trail: list[TrailRow]
    chain: str
    chain_ok: bool
    checkpoint: str
    checkpoint_ok: bool | None
    """``None`` when no checkpoint was given."""
    open_intent: str | None
    table_note: str | None = None
    """Which records older tables wrote, if any (read through the table's migrations)."""
    checkpoint_seq: int | None = None
    """How many of its records the checkpoint signed, when it matches them."""
    path: str = ""
    """Its own path, drawn to be read on paper (:mod:`.path_svg`)."""
    documents: list[tuple[str, str, str | None]] = field(default_factory=list)
    """A flow from PDFs: each document's title, the SHA-256 sent, the signed copy's (once
    fetched; the signed copies in the request's order)."""


def checkpoint_verdict(
    verdict: StoreVerdict, flow_id: str, moved: BrokenChain | None
) -> tuple[str, bool | None]:
    """What the checkpoint says of the flow (``moved``: how its trail differs from it)."""
    if verdict.checkpoint is None:
        if verdict.checkpoint_problem:
            return f"checkpoint refused: {verdict.checkpoint_problem}", False
        return "no checkpoint given", None
    if moved is not None:
        return f"REWRITTEN since the checkpoint: {moved}", False
    if flow_id not in verdict.checkpoint.heads:
        return "newer than the checkpoint: not covered by it", None
    seq, _head = verdict.checkpoint.heads[flow_id]
    return f"matches the checkpoint (its first {seq} records are the ones it signed)", True


@lru_cache(maxsize=512)
def _drawing(
    prefix: str, visited: frozenset[str], taken: tuple[tuple[str, tuple[int, ...]], ...]
) -> str:
    """The overview with a path drawn on it: flows that took the same path share it."""
    return highlight(overview_svg(), prefix, visited, {edge: list(steps) for edge, steps in taken})


def _steps(taken: dict[str, list[int]]) -> Iterator[tuple[str, tuple[int, ...]]]:
    return ((edge, tuple(steps)) for edge, steps in taken.items())


def flow_section(
    view: View,
    stored: StoredFlow,
    state: str,
    verdict: StoreVerdict,
    index: int,
    checked: tuple[BrokenChain | None, BrokenChain | None] | None = None,
    lang: str = DEFAULT_LANG,
) -> FlowSection:
    """One flow's section: the overview with its path, its trail, its verdicts (``checked``:
    its chain's and the checkpoint's, as checked with what is shown; else the verdict's)."""
    visited, placed = path_on(view, stored.records, stored.initial)
    taken: dict[str, list[int]] = {}
    for step in placed:
        if step.edge is not None:
            taken.setdefault(step.edge.id, []).append(step.record.seq)
    flow_id = stored.flow_id
    broken, moved = checked or (verdict.broken_of(flow_id), verdict.rewritten_of(flow_id))
    checkpoint, checkpoint_ok = checkpoint_verdict(verdict, flow_id, moved)
    return FlowSection(
        flow_id=stored.flow_id,
        anchor=f"flow-{stored.flow_id}",
        state=state,
        at_rest=state in {str(s) for s in DEFAULT_STEPS.resting},
        svg=_drawing(f"f{index}-", frozenset(visited), tuple(_steps(taken))),
        steps=[
            PathStep(
                s.record.seq,
                str(s.record.trigger),
                str(s.record.source),
                str(s.record.target),
                s.record.guard,
                None if s.edge is None else s.edge.id,
            )
            for s in placed
        ],
        trail=[trail_row(record) for record in stored.records],
        chain="intact" if broken is None else f"BROKEN: {broken}",
        chain_ok=broken is None,
        checkpoint=checkpoint,
        checkpoint_ok=checkpoint_ok,
        open_intent=stored.intent,
        table_note=migration_note(stored.records, VERSIONS.version),
        documents=documents_of(stored.records),
        checkpoint_seq=verdict.checkpoint.heads[flow_id][0]
        if checkpoint_ok and verdict.checkpoint is not None
        else None,
        path=path_svg(stored, lang),
    )


@dataclass
class StoreSummary:
    """The store at a glance: counts, refusals, flows that need a look."""

    label: str
    counts: dict[str, int]
    refusals: dict[str, int]
    attention: list[tuple[str, str, str]] = field(default_factory=list)
    """Flows stuck (still needing driving), reading a status the table does not know, or
    failed: (id, state, why)."""
    tenants: dict[str, int] = field(default_factory=dict)
    """Flows by tenant (the folder's summary shows them)."""
    more_attention: int = 0
    """Flows needing a look beyond those listed (the folder's summary lists the first ones)."""


def _refusal_reasons(records: list[AuditRecord]) -> list[str]:
    return [
        r.reason or "(no reason recorded)"
        for r in records
        if r.outcome is Outcome.REFUSED
        or (r.outcome is Outcome.ACCEPTED and r.target is State.NOTIFY_REFUSED)
    ]


def attention_of(row: FlowRow, stored: StoredFlow) -> tuple[str, str, str] | None:
    """Why the flow needs a look (stuck, reading an unknown status, failed), if it does."""
    records = stored.records
    last = records[-1].reason if records and records[-1].reason else ""
    unknown = unknown_status(list(records))
    if row.state == str(State.FAILED):
        return (stored.flow_id, row.state, _clean(last) or "failed")
    if unknown is not None:
        why = f"the request reads status {unknown}, which the table does not know"
        return (stored.flow_id, row.state, why)
    if row.state in {str(s) for s in DEFAULT_STEPS.driven} or row.intent:
        why = "a notification intent is open" if row.intent else "still needs driving"
        return (stored.flow_id, row.state, why)
    return None


def refusals_of(stored: StoredFlow) -> list[str]:
    """The reasons of the flow's refused notifications, redacted."""
    return _redacted(_refusal_reasons(list(stored.records)))


def by_state(counts: Counter[str]) -> dict[str, int]:
    """``counts`` of states in the table's order, states with none left out."""
    return {str(s): counts[str(s)] for s in State if counts.get(str(s))}


def summary(label: str, rows: list[FlowRow], flows: list[StoredFlow]) -> StoreSummary:
    """Counts by state, refusals by reason, and the flows stuck or failed."""
    refusals: Counter[str] = Counter()
    attention = []
    by_id = {row.flow_id: row for row in rows}
    for stored in flows:
        refusals.update(refusals_of(stored))
        if (needs := attention_of(by_id[stored.flow_id], stored)) is not None:
            attention.append(needs)
    counts = by_state(Counter(row.state for row in rows))
    return StoreSummary(label, counts, dict(refusals.most_common()), attention)


def _redacted(reasons: list[str]) -> list[str]:
    return [redact_text(reason) for reason in reasons]


def sections(
    flows: list[tuple[StoredFlow, str]], verdict: StoreVerdict, lang: str = DEFAULT_LANG
) -> list[FlowSection]:
    """Each flow's section, in the order given."""
    view = overview()
    return [
        flow_section(view, stored, state, verdict, index, lang=lang)
        for index, (stored, state) in enumerate(flows, start=1)
    ]
