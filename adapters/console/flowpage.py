"""What a flow's page shows, read from the store: its trail (times in Europe/Rome) with each
record's evidence, basis and actor, the documents' SHA-256, its path drawn on the overview
diagram (the report's drawing, :mod:`firmaio.adapters.report`), its events and their
deliveries, and which actions its state allows.

Everything shown is what the report shows of a flow: records are masked when written and masked
again on the way in; no fiscal code, no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from firmaio.fsm.diagrams import overview
from firmaio.fsm.machine import DEFAULT_STEPS, TABLE, State, Trigger
from firmaio.fsm.ports import StoredFlow
from firmaio.fsm.redact import redact_text
from firmaio.fsm.trail import StoredEvent

from ..report.model import FlowSection, flow_section, times
from ..store.listing import Listed
from ..trail import StoreVerdict


@dataclass(frozen=True, slots=True)
class Document:
    """A document a record names with its SHA-256 (the PDF sent, a signed copy fetched)."""

    seq: int
    name: str
    sha256: str
    file: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    attempt: int
    rome: str
    status_code: int | None
    latency_ms: float
    error: str | None


@dataclass(frozen=True, slots=True)
class EventRow:
    event: StoredEvent
    rome: str
    deliveries: list[Delivery]


@dataclass
class FlowPage:
    """A flow's page."""

    listed: Listed
    section: FlowSection
    documents: list[Document]
    events: list[EventRow]
    actions: frozenset[str]
    """Which actions its state allows: cancel, notify, fallback, fetch."""
    created_rome: str
    updated_rome: str


def _sources(trigger: Trigger) -> frozenset[str]:
    return frozenset(str(row.source) for row in TABLE if row.trigger == trigger)


@cache
def action_states() -> dict[str, frozenset[str]]:
    """For each action, the states it can be taken from (as the table says)."""
    resting = {str(s) for s in DEFAULT_STEPS.resting}
    notify = DEFAULT_STEPS.notification
    renotify = frozenset() if notify is None else _sources(Trigger(notify)) & resting
    return {
        "cancel": _sources(Trigger.CANCEL) | {str(State.READY)},
        "notify": frozenset(s for s in renotify if s != str(State.WAIT_FOR_SIGNATURE)),
        "fallback": _sources(Trigger.DELIVER_FALLBACK),
        "fetch": _sources(Trigger.FETCH_DOCUMENTS),
    }


def allowed_actions(state: str) -> frozenset[str]:
    return frozenset(name for name, states in action_states().items() if state in states)


def documents_of(stored: StoredFlow) -> list[Document]:
    """Every document a record names with its SHA-256, in the order recorded."""
    found = []
    for record in stored.records:
        facts = dict(record.facts or ())
        for name, value in facts.items():
            if name.endswith(".sha256"):
                stem = name[: -len(".sha256")]
                shown = stem[len("signed.") :] if stem.startswith("signed.") else stem
                file = facts.get(f"{stem}.file")
                found.append(Document(record.seq, redact_text(shown), value, file))
    return found


def _rome(epoch: float) -> str:
    return times(epoch)[1].replace("T", " ")


def flow_page(
    listed: Listed,
    stored: StoredFlow,
    events: list[StoredEvent],
    deliveries: dict[str, list[tuple[int, float, int | None, float, str | None]]],
) -> FlowPage:
    """The page of ``listed``'s flow, from its stored trail, events and their deliveries."""
    verdict = StoreVerdict(flows=1, records=len(stored.records), broken=[], digest="")
    section = flow_section(overview(), stored, listed.state, verdict, 1, checked=(None, None))
    rows = [
        EventRow(
            event,
            _rome(event.time),
            [Delivery(a, _rome(at), code, ms, err) for a, at, code, ms, err in deliveries.get(
                event.id, [])],
        )
        for event in events
    ]  # fmt: skip
    return FlowPage(
        listed, section, documents_of(stored), rows, allowed_actions(listed.state),
        _rome(listed.created_at), _rome(listed.updated_at),
    )  # fmt: skip
