"""The shared rate window: exact across processes, in PostgreSQL, calls in flight included."""

from __future__ import annotations

import asyncio
import time

from firmaio.adapters.shared_window import SharedWindow


async def _calls(windows: list[SharedWindow], n: int, hold: float) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []

    async def call(window: SharedWindow) -> None:
        async with window.slot():
            started = time.monotonic()
            await asyncio.sleep(hold)  # the call in flight
            spans.append((started, time.monotonic()))

    await asyncio.gather(*(call(windows[i % len(windows)]) for i in range(n)))
    return spans


def _most_counted_at_once(spans: list[tuple[float, float]], period: float) -> int:
    """The most calls a gateway could count in one window: at each call's start, the calls that
    started no later and ended less than a window before."""
    return max(sum(1 for s, e in spans if s <= start and e > start - period) for start, _ in spans)


def test_two_processes_share_one_window(postgres_url: str) -> None:
    """Two windows on one key (two workers): together never more than the limit in a window."""

    async def scenario() -> tuple[list[tuple[float, float]], int]:
        windows = [
            await SharedWindow(postgres_url, "k1", calls=5, period=0.4).open() for _ in range(2)
        ]
        other = await SharedWindow(postgres_url, "k2", calls=5, period=0.4).open()
        try:
            spans, other_spans = await asyncio.gather(
                _calls(windows, 20, hold=0.05), _calls([other], 5, hold=0.05)
            )
        finally:
            for window in (*windows, other):
                await window.close()
        return spans, len(other_spans)

    spans, other = asyncio.run(scenario())
    assert len(spans) == 20
    assert other == 5
    assert _most_counted_at_once(spans, 0.4) <= 5
    first, last = min(s for s, _ in spans), max(s for s, _ in spans)
    assert last - first >= 3 * 0.4, "20 calls at 5 per window need at least 3 more windows"


def test_a_slot_of_a_dead_worker_goes_stale(postgres_url: str) -> None:
    """A worker killed in flight leaves its slot taken: it is forgotten after ``stale``."""

    async def scenario() -> float:
        window = await SharedWindow(postgres_url, "k", calls=1, period=0.2, stale=1.0).open()
        try:
            await window._take()  # taken and never given back, as by a killed worker
            started = time.monotonic()
            async with window.slot():
                return time.monotonic() - started
        finally:
            await window.close()

    waited = asyncio.run(scenario())
    assert 0.9 <= waited < 5


def test_the_window_comes_back_after_its_connection_is_cut(postgres_url: str) -> None:
    """PostgreSQL cuts the window's connection (a restart, a failover): that call fails as a
    store to wait for; the next one connects again and gets its slot."""
    import psycopg
    import pytest

    from firmaio.fsm.errors import StoreUnavailable

    async def scenario() -> None:
        window = await SharedWindow(postgres_url, "k", calls=5, period=0.2).open()
        try:
            (pid,) = await window.connections.fetchone("SELECT pg_backend_pid()", ())
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(StoreUnavailable):
                async with window.slot():
                    pass
            async with window.slot():
                pass
        finally:
            await window.close()

    asyncio.run(scenario())


def test_a_window_full_of_calls_in_flight_waits_a_whole_window(postgres_url: str) -> None:
    """While calls in flight fill the window, none can free before a window after it ends: the
    wait is a whole window, not a busy loop of queries."""

    async def scenario() -> tuple[int | None, float]:
        window = await SharedWindow(postgres_url, "k", calls=2, period=3.0).open()
        try:
            await window._take()
            await window._take()  # two calls in flight, neither ended
            return await window._take()
        finally:
            await window.close()

    slot, wait = asyncio.run(scenario())
    assert slot is None
    assert wait == 3.0


def test_a_full_window_reserves_the_slot_that_frees_next(postgres_url: str) -> None:
    """A call that finds the window full of ended calls reserves the slot the first of them
    frees and waits for it; one cut off while it waits gives it back; the next call takes it
    in one query (no polling) and is sent as it frees, not a poll later."""

    async def scenario() -> tuple[bool, int, tuple[float, float], int]:
        window = await SharedWindow(postgres_url, "k", calls=2, period=0.6).open()
        takes = 0
        real = window._take

        async def counted() -> tuple[int | None, float]:
            nonlocal takes
            takes += 1
            return await real()

        window._take = counted  # type: ignore[method-assign]
        try:
            first = 0.0
            for _ in range(2):
                async with window.slot():
                    first = first or time.monotonic()  # the first call ends after this
            ended = time.monotonic()
            cut = asyncio.create_task(window.slot().__aenter__())  # reserves, then waits
            await asyncio.sleep(0.1)
            waiting = not cut.done()
            cut.cancel()
            await asyncio.gather(cut, return_exceptions=True)
            (held,) = await window.connections.fetchone(
                "SELECT count(*) FROM firmaio_rate_slots WHERE key_id = 'k' AND ended IS NULL", ()
            )
            takes = 0
            async with window.slot():  # the slot the cut-off call gave back
                now = time.monotonic()
            # it frees a period after the first call's end (after `first`); a poll would take it
            # a period later than that: counted from the last call's end, it is well under one
            return waiting, int(held), (now - first, now - ended), takes
        finally:
            await window.close()

    waiting, held, entered, takes = asyncio.run(scenario())
    assert waiting, "the window was full: the call waits for its reserved slot"
    assert held == 0, "a reserved slot never used is given back"
    since_first, since_last = entered
    assert since_first >= 0.55, "the slot was taken before it freed"
    assert since_last < 0.9, "the freed slot is used as it frees, not a poll later"
    assert takes == 1
