"""The real clock: wall time and asyncio's sleep."""

from __future__ import annotations

import asyncio
import time


class SystemClock:
    """The :class:`~fsm.ports.Clock` of production: ``time.time`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking the event loop."""
        await asyncio.sleep(seconds)
