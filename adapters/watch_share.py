"""Watching never starves sending: watch traffic takes at most a share of a key's window.

The gateway allows one key 150 calls per 5 seconds, for everything: driving new requests,
notifications, and the watch (listing pages and single reads of flows at rest,
:mod:`.watch`). :class:`WatchShare` wraps the key's window (:class:`~.ratelimit.SlidingWindow`
in one process, :class:`~.shared_window.SharedWindow` across processes): a call made inside
:func:`~.watch.watching` first takes a slot of a second, smaller window of its own
(``share`` of the key's calls, default 20%: 30 per 5 seconds; shared across processes too where
the key's window is), then a slot of the key's window like any call. And it yields: one watch
call at a time queues for the key's window, and only while no other call of this process waits
for it; a call to drive or notify that comes later waits behind that one watch call at most.
So the watch never holds more than its share of the window, and driving and notification calls
queue ahead of it whenever they need the window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from firmaio.fsm.errors import InvalidInput

from .ratelimit import RateLimit
from .watch import WATCHING

DEFAULT_WATCH_SHARE = 0.2
"""The share of a key's window watch traffic may take."""


def watch_calls(calls: int, share: float) -> int:
    """How many of a window's ``calls`` watch traffic may take (at least one)."""
    if not 0 < share <= 1:
        raise InvalidInput(f"the watch share must be in (0, 1], not {share!r}")
    return max(1, int(calls * share))


def watch_key(key_id: str) -> str:
    """The id of a key's watch window, beside the key's own (:func:`~.tenants.key_id`)."""
    return f"{key_id}:watch"


class WatchShare:
    """The key's ``window``, with watch traffic held to ``watch`` (a window of the watch's own
    share, same period) and yielding to the other calls (see the module docstring)."""

    def __init__(self, window: RateLimit, watch: RateLimit) -> None:
        if watch.calls > window.calls:
            raise InvalidInput("the watch's window cannot be larger than the key's")
        self.window, self.watch = window, watch
        self.calls = window.calls
        self._waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._gate = asyncio.Lock()

    def in_use(self) -> int:
        """Calls the key's window holds now."""
        return self.window.in_use()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A slot of the key's window; for watch traffic, of the watch's share too, once no
        other call of this process waits."""
        if not WATCHING.get():
            async with self._ahead():
                yield
            return
        async with self.watch.slot(), contextlib.AsyncExitStack() as held:
            async with self._gate:  # one watch call at a time queues for the key's window
                while not self._idle.is_set():  # behind every other call that waits for it
                    await self._idle.wait()
                await held.enter_async_context(self.window.slot())
            yield

    @asynccontextmanager
    async def _ahead(self) -> AsyncIterator[None]:
        """A call that is not watch traffic: counted as waiting until its slot is taken."""
        self._waiting += 1
        self._idle.clear()
        taken = False
        try:
            async with self.window.slot():
                taken = True
                self._done_waiting()
                yield
        finally:
            if not taken:
                self._done_waiting()

    def _done_waiting(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._idle.set()

    async def aclose(self) -> None:
        """Close the windows' own connections, if they hold any."""
        for window in (self.watch, self.window):
            closing = getattr(window, "aclose", None)
            if closing is not None:
                await closing()
