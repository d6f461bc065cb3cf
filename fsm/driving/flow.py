"""A flow: one signature request's state, what it learned, and its audit trail.

Only :class:`~fsm.driving.engine.Engine` changes a flow; what a flow knows is learned from its
records
(:func:`learn`), so a flow restored from its stored records knows the same as the one that
wrote them, but for the upload URL, which is never recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..errors import ApiError
from ..machine.answers import Answer, Kind
from ..machine.order import Order
from ..machine.states import INITIAL, TERMINAL, State
from ..redact import redact_text
from ..trail.record import AuditRecord, Outcome, unknown_status
from .fallback import Fallback

_ACCEPTED = Outcome.ACCEPTED
_NOTIFIED, _NOTIFY_REFUSED, _FAILED = State.NOTIFIED, State.NOTIFY_REFUSED, State.FAILED

NO_FACTS: Mapping[str, str] = MappingProxyType({})
"""What a flow knows before its first record taught it anything (shared, read-only: a flow
from READY, most of them, never allocates its own)."""
_ORDER = "order."
"""The prefix of the facts an order writes on its flow's first record (:meth:`Order.facts`)."""


@dataclass(slots=True, eq=False)
class Flow:
    """One signature request's flow: its state, what it learned, and its audit trail.

    Create flows with :meth:`Engine.new_flow` (or :meth:`Engine.restore` from stored records);
    change them only through :meth:`Engine.fire`.
    """

    id: str
    activation_deadline: float
    state: State = INITIAL
    history: list[AuditRecord] = field(default_factory=list)
    qr_code_url: str | None = None
    io_message_id: str | None = None
    refusal: Kind | None = None
    failure: str | None = None
    initial: State = INITIAL
    """Where the flow started: READY (an existing request), or RECEIVED (a PDF)."""
    order: Order | None = None
    """What a flow from a PDF was asked to do (its first record carries it, but the fiscal
    code, which is held here in memory only)."""
    facts: Mapping[str, str] = field(default_factory=lambda: NO_FACTS)
    """What the flow's accepted records taught it (``request_id``, ``dossier_id``...)."""
    entered_at: float | None = None
    """When the flow entered its current state (its deadlines count from there)."""
    checked_at: float | None = None
    """Its last status check that found nothing new (no record: the store keeps the time)."""
    upload_url: str | None = field(default=None, repr=False)
    """The upload URL in hand, in memory only: it is a bearer credential, never recorded. A
    flow restored from its records has none, and asks for a new one."""

    @property
    def request_id(self) -> str | None:
        """The signature request's id: the flow's own id for a flow started at READY; for a
        flow from a PDF, the id the service gave, once the request exists."""
        if self.initial is INITIAL:
            return self.id
        return self.facts.get("request_id")

    def deadline(self) -> float:
        """The deadline of the wait the flow is in: the activation deadline while READY (for a
        flow from a PDF, counted from when it was marked READY), the validation deadline while
        its document is validated; guards read it as ``Observation.activation_deadline``."""
        order, since = self.order, self.entered_at
        if order is None or since is None:
            return self.activation_deadline
        if self.state is State.DOCUMENT_UPLOADED:
            return since + order.validation_timeout
        if self.state is State.READY:
            return since + order.activation_timeout
        return self.activation_deadline

    @property
    def fallback(self) -> Fallback | None:
        """The fallback for the citizen, once the notification has been refused."""
        request_id = self.request_id
        if (
            self.refusal is None
            or request_id is None
            or self.state not in (State.FALLBACK_SUGGESTED, State.NOTIFY_REFUSED)
        ):
            return None
        return Fallback.for_refusal(request_id, self.refusal, self.qr_code_url)

    @property
    def unknown_status(self) -> str | None:
        """The status the table does not know that the flow's last read found, while it is
        open: the flow needs a person's attention (:func:`~fsm.trail.record.unknown_status`)."""
        return unknown_status(self.history)

    @property
    def is_closed(self) -> bool:
        """Whether the flow reached a terminal state."""
        return self.state in TERMINAL


_LEARNT_ONCE = frozenset({"dossier_id"})
"""Facts every read of the request carries, recorded only when the flow learns them (or they
change): the request's dossier."""


def facts_of(flow: Flow, answer: Answer | ApiError | None) -> tuple[tuple[str, str], ...] | None:
    """The record's facts: the answer's (personal data masked), and on a flow's first record
    from a PDF, its order (so the store alone can resume it)."""
    facts: dict[str, str] = {}
    if not flow.history and flow.order is not None and flow.initial is not INITIAL:
        facts.update((name, redact_text(value)) for name, value in flow.order.facts())
    if isinstance(answer, Answer):
        known = flow.facts
        facts.update(
            (name, redact_text(value))
            for name, value in answer.facts
            if name not in _LEARNT_ONCE or known.get(name) != value
        )
    return tuple(sorted(facts.items())) if facts else None


def apply_record(flow: Flow, record: AuditRecord) -> None:
    """Replay one stored record onto a flow being restored."""
    flow.history.append(record)
    if record.outcome is Outcome.ACCEPTED:
        flow.state = record.target
    learn(flow, record)


def learn(flow: Flow, record: AuditRecord) -> None:
    """Keep on the flow what an accepted record taught it; only the record is read, so a flow
    restored from its records learns exactly the same (but the upload URL, never recorded)."""
    if record.outcome is not _ACCEPTED:
        if record.facts and record.seq == 1:  # the first record carries the order, whatever
            order = {k: v for k, v in record.facts if k.startswith(_ORDER)}
            flow.facts = {**flow.facts, **order}
        return
    if record.facts:
        flow.facts = {**flow.facts, **dict(record.facts)}  # a new mapping: flows share none
    if record.target is not record.source:
        flow.entered_at = record.decided_at
        flow.upload_url = None
    if record.qr_code_url:
        flow.qr_code_url = record.qr_code_url
    if record.target is _NOTIFIED and record.io_message_id:  # members read once: see engine
        flow.io_message_id = record.io_message_id
    elif record.target is _NOTIFY_REFUSED and record.answer is not None:
        flow.refusal = Kind(record.answer)
    elif record.target is _FAILED:
        flow.failure = record.reason
