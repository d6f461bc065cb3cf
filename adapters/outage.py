"""Riding out a store that cannot be reached for a while (a PostgreSQL restart, a failover).

A worker (:mod:`.queue.worker`) and the service (:mod:`.serve`) keep one :class:`Outage`: the
first failure starts it, with one line saying so; while it lasts they wait with a bounded backoff
and try again; the first success ends it, with one line saying how long it lasted. An outage that
outlasts the limit (``Settings.store_outage_limit``, ``--store-outage-limit``: 60 s) raises
:class:`~firmaio.fsm.errors.StoreUnavailable`, and the process stops (``firmaio`` exits 7) for a
supervisor to start it again. Every write of a flow is whole or not made, so nothing is lost on
the way: a step whose record could not be written is taken up again from the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from firmaio.fsm.errors import InvalidInput, StoreUnavailable
from firmaio.fsm.logs import get_logger

T = TypeVar("T")

FIRST_WAIT = 0.5
"""Seconds before the first new attempt; each later wait doubles, up to :data:`MOST_WAIT`."""
MOST_WAIT = 5.0


def log_line(line: str) -> None:
    """The default place of an outage's lines: a structlog warning."""
    get_logger("firmaio.adapters.outage").warning("firmaio.store_outage", said=line)


class Outage:
    """At most one outage of ``what`` at a time (see the module docstring); ``say`` gets its
    lines (``firmaio`` prints them on stderr)."""

    def __init__(
        self,
        limit: float,
        *,
        what: str = "the store",
        say: Callable[[str], None] = log_line,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= limit < float("inf"):
            raise InvalidInput(f"a store outage limit is seconds >= 0, not {limit!r}")
        self.limit, self.what, self.say, self.now = limit, what, say, now
        self.since: float | None = None
        """When the outage under way began (None: none is)."""
        self._wait = FIRST_WAIT

    @property
    def under_way(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        """``what`` failed: start the outage (saying so once), or raise
        :class:`StoreUnavailable` if it has lasted longer than the limit."""
        now = self.now()
        if self.since is None:
            self.since, self._wait = now, FIRST_WAIT
            self.say(
                f"{self.what} cannot be reached ({_why(error)}); riding it out for up to "
                f"{self.limit:g} s"
            )
            return
        if now - self.since > self.limit:
            raise StoreUnavailable(
                f"{self.what} could not be reached for {now - self.since:.1f} s, longer than "
                f"the store outage limit ({self.limit:g} s; --store-outage-limit): stopping, "
                f"every flow at a step boundary; start again once it is back ({_why(error)})"
            )

    def recovered(self) -> None:
        """``what`` answered: end the outage under way (saying how long it lasted)."""
        if self.since is not None:
            self.say(f"{self.what} is back after {self.now() - self.since:.1f} s; going on")
            self.since = None

    def next_wait(self) -> float:
        """Seconds to wait before the next attempt: doubling from :data:`FIRST_WAIT` to
        :data:`MOST_WAIT`, never past the limit by more than a wait."""
        wait, self._wait = self._wait, min(self._wait * 2, MOST_WAIT)
        if self.since is not None:
            left = self.since + self.limit - self.now()
            wait = min(wait, max(left, 0.0) + 0.1)
        return wait

    async def pause(self, stopping: asyncio.Event | None = None) -> None:
        """Wait :meth:`next_wait` seconds, or until ``stopping`` is set."""
        wait = self.next_wait()
        if stopping is None:
            await asyncio.sleep(wait)
            return
        try:
            await asyncio.wait_for(stopping.wait(), wait)
        except TimeoutError:
            return

    async def through(
        self, attempt: Callable[[], Awaitable[object]], stopping: asyncio.Event
    ) -> bool:
        """``attempt()`` until it is done (True), tried again while ``stopping`` is not set
        (else False), riding out the outage on the way (:meth:`made`)."""

        async def done() -> bool:
            await attempt()
            return True

        return await self.made(done, stopping) is True

    async def made(self, make: Callable[[], Awaitable[T]], stopping: asyncio.Event) -> T | None:
        """What ``make()`` gives once it succeeds, tried again while ``stopping`` is not set
        (else None): each :class:`StoreUnavailable` on the way is part of the outage (said
        when it begins; past the limit, raised as the limit's), with the backoff between tries.
        It does not end the outage: the caller says when it is over (:meth:`recovered`), once
        all goes on."""
        while True:
            try:
                return await make()
            except StoreUnavailable as error:
                self.failed(error)  # says it once; raises past the limit
                if not stopping.is_set():
                    await self.pause(stopping)
                if stopping.is_set():
                    return None


def _why(error: BaseException) -> str:
    """An error in a few words: its type, and the first line of what it says (without the
    store's advice to rerun: this process goes on by itself)."""
    said = str(error).splitlines()[0] if str(error) else ""
    cause = error.__cause__
    if not said and cause is not None:
        said = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    said = said.split("; nothing was half-written", 1)[0]
    return f"{type(error).__name__}: {said[:240]}" if said else type(error).__name__
