"""Later attempts at a notification refused for a passing reason.

IO's catch-all 400 ("An error occurred while sending the message!") says nothing was sent and the
request is unchanged (API-NOTES §3.1, §3.2): the flow goes to NOTIFY_REFUSED, the citizen is
offered the fallback (FALLBACK_SUGGESTED), and the notification is tried again from there, the
table's FALLBACK_SUGGESTED --notify--> row. :class:`ResendPolicy` says when, and how many times:
every attempt is an audit record, so the count and the times are read from the flow's trail, and
a flow restored from its store goes on where it stopped.

Refusals the citizen must act on (messages off, no IO profile) are not retried on a timer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .answers import Kind
from .audit import AuditRecord
from .errors import InvalidInput
from .states import State

DEFAULT_DELAYS = (5.0, 30.0, 120.0)
"""Seconds after each refusal before the next attempt: three later attempts in about 2.6 min."""


@dataclass(frozen=True, slots=True)
class ResendPolicy:
    """When a notification refused for a passing reason is tried again.

    After the n-th such refusal, the next attempt is due ``delays[n - 1]`` seconds later; after
    ``len(delays)`` later attempts the flow rests in FALLBACK_SUGGESTED with its fallback.
    ``ResendPolicy(delays=())`` makes no later attempt.
    """

    delays: tuple[float, ...] = DEFAULT_DELAYS
    retryable: frozenset[Kind] = frozenset({Kind.IO_UNAVAILABLE})
    """The refusals worth another attempt without the citizen doing anything."""

    def __post_init__(self) -> None:
        bad = [d for d in self.delays if not (isinstance(d, int | float) and 0 <= d < math.inf)]
        if bad:
            raise InvalidInput(f"ResendPolicy delays must be seconds >= 0, not {bad}")

    def attempts_made(self, history: list[AuditRecord]) -> int:
        """How many notification attempts ended in a retryable refusal."""
        return sum(1 for record in history if self._retryable_refusal(record))

    def next_attempt(self, state: State, history: list[AuditRecord]) -> float | None:
        """When the next later attempt is due (clock time), or ``None`` if none is."""
        if state is not State.FALLBACK_SUGGESTED:
            return None
        refusals = [r for r in history if r.target is State.NOTIFY_REFUSED and r.answer]
        if not refusals or not self._retryable_refusal(refusals[-1]):
            return None
        made = self.attempts_made(history)
        if made > len(self.delays):
            return None
        return refusals[-1].decided_at + self.delays[made - 1]

    def _retryable_refusal(self, record: AuditRecord) -> bool:
        return (
            record.target is State.NOTIFY_REFUSED
            and record.answer is not None
            and record.answer in self.retryable
        )


NO_RESEND = ResendPolicy(delays=())
"""No later attempt: the flow rests at its first refusal, as before this policy existed."""
