"""Later attempts at a notification refused for a passing reason.

IO's catch-all 400 ("An error occurred while sending the message!") says nothing was sent and the
request is unchanged (API-NOTES §3.1, §3.2): the flow goes to NOTIFY_REFUSED, the citizen is
offered the fallback (FALLBACK_SUGGESTED), and the notification is tried again from there, the
table's FALLBACK_SUGGESTED --notify--> row. :class:`ResendPolicy` says when, and how many times:
every attempt is an audit record, so the count and the times are read from the flow's trail, and
a flow restored from its store goes on where it stopped.

Refusals the citizen must act on (messages off, no IO profile) are retried on a timer only if
``renotify`` says when (off by default); an explicit re-notification (``Driver.renotify``,
``firmaio notify --again``) is always possible from FALLBACK_SUGGESTED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidInput
from ..machine.answers import Kind
from ..machine.states import State
from ..trail.record import AuditRecord

DEFAULT_DELAYS = (5.0, 30.0, 120.0)
"""Seconds after each refusal before the next attempt: three later attempts in about 2.6 min."""


@dataclass(frozen=True, slots=True)
class ResendPolicy:
    """When a refused notification is tried again.

    A passing refusal (``retryable``: IO's catch-all) is tried again ``delays`` seconds after each
    such refusal, one delay per later attempt. A refusal the citizen must act on (``renotify_on``:
    messages off, no IO profile) is tried again only if ``renotify`` gives delays: the page
    advises asking the citizen to turn messages on, so a re-notification a day or three later
    may find them on. Off by default. After the last delay the flow rests in
    FALLBACK_SUGGESTED with its fallback. ``ResendPolicy(delays=())`` makes no later attempt.
    """

    delays: tuple[float, ...] = DEFAULT_DELAYS
    retryable: frozenset[Kind] = frozenset({Kind.IO_UNAVAILABLE})
    """The refusals worth another attempt without the citizen doing anything."""
    renotify: tuple[float, ...] = ()
    """Seconds after each refusal in ``renotify_on`` before the next attempt (none by default;
    ``(86_400, 259_200)`` is a day, then three days)."""
    renotify_on: frozenset[Kind] = frozenset({Kind.MESSAGES_DISABLED, Kind.NO_IO_PROFILE})

    def __post_init__(self) -> None:
        bad = [
            d
            for d in (*self.delays, *self.renotify)
            if not (isinstance(d, int | float) and 0 <= d < math.inf)
        ]
        if bad:
            raise InvalidInput(f"ResendPolicy delays must be seconds >= 0, not {bad}")

    def next_attempt(self, state: State, history: list[AuditRecord]) -> float | None:
        """When the next later attempt is due (clock time), or ``None`` if none is."""
        if state is not State.FALLBACK_SUGGESTED:
            return None
        refusals = [r for r in history if r.target is State.NOTIFY_REFUSED and r.answer]
        if not refusals:
            return None
        last = refusals[-1].answer
        for kinds, delays in ((self.retryable, self.delays), (self.renotify_on, self.renotify)):
            if last in kinds:
                made = self._refusals(history, kinds)
                if made > len(delays):
                    return None
                return refusals[-1].decided_at + delays[made - 1]
        return None

    @staticmethod
    def _refusals(history: list[AuditRecord], kinds: frozenset[Kind]) -> int:
        return sum(
            1
            for record in history
            if record.target is State.NOTIFY_REFUSED
            and record.answer is not None
            and record.answer in kinds
        )
