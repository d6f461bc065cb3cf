"""When a flow is next due: one pure function, from its state, its trail and the policies.

A store keeps each flow's due time (``due_at``) beside its state, written in the transaction of
every record and intent (the durable driver's :class:`~fsm.driving.journal.Journal` computes it
here), so the long-running modes read only the flows that are due, in the order they are due,
and never a closed one. The same function answers "when next" everywhere it is asked (the
service's pass, a worker's next visit, the queue's deferral), so they cannot disagree:

* closed (a terminal state): never (``None``), but a SIGNED flow whose documents are collected
  on its own (``collect``): when :class:`~fsm.driving.collect.CollectPolicy` next fetches them;
* an open intent: at once, its recovery (the driver waits the recovery grace itself);
* a state the driver fires a step from: at once; after a refused or failed step,
  ``retry_after`` seconds later; after a check that found the request still waiting (READY not
  yet activated, a document not yet validated), the next poll of :class:`PollingPolicy`'s
  backoff;
* at rest after a passing refusal (FALLBACK_SUGGESTED): the later attempt
  :class:`~fsm.driving.resend.ResendPolicy` makes;
* else at rest: a status check ``watch_every`` seconds after its last record or its last
  check that found nothing new (``checked_at``: such a check writes no record), whichever is
  later (never with ``watch_every=None``);
* a flow from a PDF with no record yet: never: only the ``firmaio send`` that holds its fiscal
  code can go on with it.

The policies are the settings of the process that writes: a process whose settings differ
files each flow it visits by its own (its due time is recomputed at its next visit: see
docs/durability.md, "Due times").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..machine.states import ISSUER_INITIAL, TERMINAL, State, Trigger
from ..trail.record import AuditRecord, Outcome
from .collect import CollectPolicy
from .engine import Engine
from .resend import ResendPolicy
from .waits import PollingPolicy

DEFAULT_WATCH_EVERY = 3600.0
"""Seconds between two status checks of a flow at rest."""

DEFAULT_RETRY_AFTER = 30.0
"""Seconds before a step that was refused or got no usable answer is tried again."""


@dataclass(frozen=True, slots=True)
class DuePolicy:
    """The settings a flow's due time is computed with (see the module docstring)."""

    resend: ResendPolicy = field(default_factory=ResendPolicy)
    polling: PollingPolicy = field(default_factory=PollingPolicy)
    watch_every: float | None = DEFAULT_WATCH_EVERY
    """Seconds from a resting flow's last record to its next status check (None: never)."""
    retry_after: float = DEFAULT_RETRY_AFTER
    collect: CollectPolicy | None = None
    """When a SIGNED flow's documents are fetched, where they are collected on their own
    (None: they are not: a SIGNED flow is never due)."""

    def __post_init__(self) -> None:
        given = {"watch_every": self.watch_every, "retry_after": self.retry_after}
        bad = {
            name: value
            for name, value in given.items()
            if value is not None and not (isinstance(value, int | float) and 0 <= value < 1e12)
        }
        if bad:
            raise InvalidInput(f"DuePolicy needs seconds >= 0, not {bad}")


def due_at(
    engine: Engine,
    policy: DuePolicy,
    state: State,
    history: Sequence[AuditRecord],
    *,
    since: float,
    intent: str | None = None,
    intent_at: float | None = None,
    checked_at: float | None = None,
) -> float | None:
    """When the flow in ``state`` with ``history`` (its whole trail) is next due, by the clock;
    ``None``: never. ``since``: when the flow was made (its due time before any record);
    ``intent``: its open intent (opened at ``intent_at``); ``checked_at``: its last status
    check that found nothing new (and so wrote no record), if any."""
    if state in TERMINAL:
        return None if policy.collect is None else policy.collect.next_fetch(state, list(history))
    last = history[-1] if history else None
    at = since if last is None else last.decided_at
    if intent is not None:
        return at if intent_at is None else max(at, intent_at)
    if last is None:
        return first_due(state, since)
    steps = engine.steps
    if state in steps.driven:
        if last.outcome in (Outcome.REFUSED, Outcome.ERROR):
            return at + policy.retry_after
        if last.target is last.source:  # still waiting: the backoff's next poll
            return at + _poll_delay(policy.polling, _waits(history))
        return at
    allowed = engine.allowed(state)
    if steps.notification is not None and steps.notification in allowed:
        attempt = policy.resend.next_attempt(state, list(history))
        if attempt is not None:
            return attempt
    if Trigger.CHECK_STATUS in allowed and policy.watch_every is not None:
        checked = at if checked_at is None else max(at, checked_at)
        return checked + policy.watch_every
    return None


def first_due(initial: State, now: float) -> float | None:
    """A new flow's due time (no record yet): at once, but never for a flow from a PDF (only
    the ``firmaio send`` that holds its fiscal code goes on with it)."""
    return None if initial is ISSUER_INITIAL else now


def _waits(history: Sequence[AuditRecord]) -> int:
    """How many records at the end of ``history`` left the flow where it was."""
    count = 0
    for record in reversed(history):
        if record.target is not record.source:
            break
        count += 1
    return count


def _poll_delay(polling: PollingPolicy, waits: int) -> float:
    """The backoff's delay after the ``waits``-th check in a row that found nothing new."""
    delay = polling.first_delay
    for _ in range(max(0, waits - 1)):
        delay = min(delay * polling.factor, polling.max_delay)
        if delay >= polling.max_delay:
            break
    return delay
