"""An exact sliding-window rate limit, as the API gateway enforces it (150 calls per 5 s).

Why not a library: token and leaky buckets (aiolimiter and the like) let a full burst follow a
full bucket, so up to twice the limit can land in one 5-second window, and ``limits``' moving
window counts whole seconds only. The gateway counts calls in any window of ``period`` seconds;
this class keeps the times of the last ``calls`` calls and is exact for that rule. The sandbox
uses it to refuse (``try_acquire``). The client uses :meth:`SlidingWindow.slot`: the gateway
counts a call at some moment between its sending and its answer, so the client counts it from
the sending (as in flight) until a whole window after the answer. That holds however late a busy
gateway counts, at the price of one round trip per window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

GATEWAY_CALLS = 150
"""Calls the API gateway allows one key in any window of :data:`GATEWAY_PERIOD` seconds."""
GATEWAY_PERIOD = 5.0


class RateLimit(Protocol):
    """What the client waits on before each call: this module's :class:`SlidingWindow` in one
    process, :class:`~firmaio.adapters.shared_window.SharedWindow` across processes."""

    calls: int
    """Calls allowed per window."""

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Wait until one more call fits; hold it while the call is in flight."""
        ...

    def in_use(self) -> int:
        """Calls the window holds now (for a gauge; may be read from another thread)."""
        ...


class SlidingWindow:
    """At most ``calls`` acquisitions in any window of ``period (+ margin)`` seconds."""

    def __init__(
        self,
        calls: int = GATEWAY_CALLS,
        period: float = GATEWAY_PERIOD,
        *,
        margin: float = 0.0,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if calls < 1 or period <= 0 or margin < 0:
            raise ValueError("SlidingWindow needs calls >= 1, period > 0 and margin >= 0")
        self.calls = calls
        self.period = period
        self.window = period + margin
        self._now = now
        self._sleep = sleep
        """How it waits (a fake clock's ``sleep`` in tests, with its ``now``)."""
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._in_flight = 0

    def _forget(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()

    def wait_time(self) -> float:
        """Seconds until one more call fits (0 if it fits now; calls in flight count as now)."""
        now = self._now()
        self._forget(now)
        used = len(self._times) + self._in_flight
        if used < self.calls:
            return 0.0
        if len(self._times) <= used - self.calls:
            return 0.01  # only calls in flight hold the window: look again shortly
        return self._times[used - self.calls] + self.window - now

    def in_use(self) -> int:
        """Calls the window holds now, those in flight included; reads without changing
        anything, so another thread (a metrics scrape) may call it."""
        cutoff = self._now() - self.window
        return sum(1 for t in tuple(self._times) if t > cutoff) + self._in_flight

    def remaining(self) -> int:
        """Calls that fit now."""
        self._forget(self._now())
        return self.calls - len(self._times)

    def try_acquire(self) -> bool:
        """Count one call if it fits now; say whether it did."""
        if self.wait_time() > 0:
            return False
        self._times.append(self._now())
        return True

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until one more call fits; count it while in flight and a window after it ends."""
        async with self._lock:
            while (wait := self.wait_time()) > 0:
                await self._sleep(wait)
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._times.append(self._now())
