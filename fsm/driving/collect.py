"""Signed documents collected on their own: when a SIGNED flow's documents are fetched, and when
collecting them gives up.

The service hands a SIGNED request's documents out only through URLs valid 5 minutes, and IO keeps
them 90 days (API-NOTES §1.3.6): a document not collected by then is lost. A worker or the service
of a tenant that asks for it fires ``fetch_documents`` as soon as a flow is recorded SIGNED.
:class:`CollectPolicy` says when, read from the flow's trail alone (like
:class:`~fsm.driving.resend.ResendPolicy`), so a flow restored from its store goes on where it
stopped:

- a trail with an accepted ``fetch_documents`` is collected: never fetched again;
- a SIGNED flow never fetched is due at once;
- a failed fetch (an ERROR or REFUSED record: the download broke, the blob store refused) is
  tried again ``delays`` seconds after it, one delay per later attempt, the last one repeated;
- past ``keep_for`` seconds after the flow was recorded SIGNED, collecting gives up, recorded: a
  REFUSED ``fetch_documents`` record (no call made) whose answer says why and carries the fact
  ``documents.given_up``; nothing is tried after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import InvalidInput
from ..machine.answers import Answer, Kind
from ..machine.states import State, Trigger
from ..trail.record import AuditRecord, Outcome

KEEP_FOR = 90 * 86_400.0
"""Seconds IO keeps a signed document after the request is signed: 90 days."""

DEFAULT_DELAYS = (60.0, 600.0, 3_600.0, 21_600.0)
"""Seconds after each failed fetch before the next: a minute, ten, an hour, then every 6 hours."""

GIVEN_UP = "documents.given_up"
"""The fact of the record that ends collecting: when the documents' keep ran out (ISO 8601)."""


@dataclass(frozen=True, slots=True)
class CollectPolicy:
    """When a SIGNED flow's documents are fetched (see the module docstring)."""

    delays: tuple[float, ...] = DEFAULT_DELAYS
    """Seconds after each failed fetch before the next; the last repeats (at least one)."""
    keep_for: float = KEEP_FOR
    """Seconds after SIGNED was recorded past which collecting gives up."""

    def __post_init__(self) -> None:
        bad = [d for d in self.delays if not (isinstance(d, int | float) and 0 < d < math.inf)]
        if bad or not self.delays:
            raise InvalidInput(f"CollectPolicy delays must be seconds > 0 (one or more), not {bad}")
        if not (isinstance(self.keep_for, int | float) and 0 < self.keep_for < math.inf):
            raise InvalidInput(f"CollectPolicy keep_for must be seconds > 0, not {self.keep_for}")

    def next_fetch(self, state: State, history: list[AuditRecord]) -> float | None:
        """When the documents are next due to be fetched (clock time; due at once: when the
        flow was recorded SIGNED), or ``None``: not SIGNED, collected, or given up."""
        if state is not State.SIGNED:
            return None
        signed_at, failed = _signed_at(history), None
        for record in history:
            if record.trigger != Trigger.FETCH_DOCUMENTS:
                continue
            if record.outcome is Outcome.ACCEPTED or given_up(record):
                return None
            failed = (failed or 0) + 1
            last = record.decided_at
        if failed is None:
            return signed_at
        return last + self.delays[min(failed, len(self.delays)) - 1]

    def expired(self, history: list[AuditRecord], now: float) -> bool:
        """Whether the documents' keep ran out by ``now``: collecting gives up."""
        return now >= _signed_at(history) + self.keep_for

    def given_up_answer(self, history: list[AuditRecord]) -> Answer:
        """The answer recorded (REFUSED, no call made) when collecting gives up."""
        until = datetime.fromtimestamp(_signed_at(history) + self.keep_for, tz=UTC)
        when = until.isoformat(timespec="seconds")
        return Answer(
            Kind.REFUSED,
            detail=f"the signed documents were not collected within {self.keep_for / 86_400:g} "
            f"days of SIGNED (until {when}), as long as IO keeps them: collecting gave up",
            facts=((GIVEN_UP, when),),
        )


def given_up(record: AuditRecord) -> bool:
    """Whether ``record`` is the one that ended collecting."""
    return record.trigger == Trigger.FETCH_DOCUMENTS and any(
        name == GIVEN_UP for name, _value in record.facts or ()
    )


def collected(history: list[AuditRecord]) -> bool:
    """Whether the trail holds an accepted ``fetch_documents``."""
    return any(
        r.trigger == Trigger.FETCH_DOCUMENTS and r.outcome is Outcome.ACCEPTED for r in history
    )


def _signed_at(history: list[AuditRecord]) -> float:
    for record in history:
        if record.outcome is Outcome.ACCEPTED and record.target is State.SIGNED:
            return record.decided_at
    return 0.0
