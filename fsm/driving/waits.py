"""How a driver waits: between activation checks (:class:`PollingPolicy`), for a call whose
outcome is unknown to settle (:data:`RECOVERY_GRACE`), and for nothing once it is told to stop
(:class:`StopSignal`: a wait under way ends at once, so a stopping worker never waits out a
grace)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InvalidInput
from ..machine.order import DEFAULT_ACTIVATION_TIMEOUT
from ..ports import Clock

RECOVERY_GRACE = 40.0
"""Seconds a notification call whose outcome is unknown (a crash, or no usable answer) is left to
settle before the request is read back: a call may still be under way at the service, which has
no guard against two overlapping calls both sending a message. 40 s covers the client's 10 s call
timeout plus the 30 s it leaves a lost answer to settle (``RetryPolicy.notification_grace``)."""


@dataclass(frozen=True, slots=True)
class PollingPolicy:
    """How long to wait between activation checks, and for how long at most.

    Delays grow from ``first_delay`` by ``factor`` up to ``max_delay``; a request still READY
    ``activation_timeout`` seconds after its flow started makes the flow fail.
    """

    first_delay: float = 0.25
    factor: float = 2.0
    max_delay: float = 1.0
    activation_timeout: float = DEFAULT_ACTIVATION_TIMEOUT

    def __post_init__(self) -> None:
        if not 0 < self.first_delay <= self.max_delay:
            raise InvalidInput("PollingPolicy needs 0 < first_delay <= max_delay")
        if self.factor < 1 or self.activation_timeout <= 0:
            raise InvalidInput("PollingPolicy needs factor >= 1 and a positive activation_timeout")

    def delays(self) -> Iterator[float]:
        """The successive waits between two checks (endless; the deadline ends the polling)."""
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_delay)


class StopSignal:
    """Whether a stop was asked for; waits that end as soon as it is."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @requested.setter
    def requested(self, value: bool) -> None:
        if value:
            self._event.set()
        else:
            self._event.clear()

    async def pause(self, clock: Clock, seconds: float) -> bool:
        """Wait ``seconds`` on ``clock`` unless a stop is asked for first; whether the whole wait
        passed (False: stop now, at this step boundary)."""
        if self.requested:
            return False
        sleep = asyncio.ensure_future(clock.sleep(seconds))
        stop = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait((sleep, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (sleep, stop):
                waiting.cancel()
        return sleep.done() and not sleep.cancelled() and not self.requested
