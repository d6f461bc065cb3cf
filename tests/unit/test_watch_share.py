"""Watching never starves sending: on a fake clock, watch traffic takes at most its share of a
key's window (20% by default: 30 of 150 calls per 5 s) in any window of the period, the key's
window is never exceeded, and calls to drive and notify that wait for the window go first."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.watch import watching
from firmaio.adapters.watch_share import DEFAULT_WATCH_SHARE, WatchShare, watch_calls
from firmaio.fsm.errors import InvalidInput
from firmaio.fsm.testing import ManualClock


def shared(clock: ManualClock, share: float = DEFAULT_WATCH_SHARE) -> WatchShare:
    async def sleep(seconds: float) -> None:
        until = clock.now() + seconds
        await asyncio.sleep(0)  # the others run meanwhile, as they would while it sleeps
        clock.advance(max(0.0, until - clock.now()))  # two sleeping at once: time passes once

    def window(calls: int) -> SlidingWindow:
        return SlidingWindow(calls, 5.0, now=clock.now, sleep=sleep)

    return WatchShare(window(150), window(watch_calls(150, share)))


def most_in_a_window(times: list[float], period: float = 5.0) -> int:
    times = sorted(times)
    return max((sum(1 for t in times if s <= t < s + period) for s in times), default=0)


async def calls(share: WatchShare, clock: ManualClock, kinds: list[str]) -> dict[str, list]:
    """One call of each kind in ``kinds`` (``watch`` or ``drive``), queued in that order; when
    each started, by kind."""
    started: dict[str, list[float]] = {"watch": [], "drive": []}

    async def one(kind: str) -> None:
        with watching() if kind == "watch" else contextlib.nullcontext():
            async with share.slot():
                started[kind].append(clock.now())
                await asyncio.sleep(0)

    await asyncio.gather(*(one(kind) for kind in kinds))
    return started


def test_the_watch_takes_at_most_its_share_of_the_window() -> None:
    clock = ManualClock(0.0)
    started = asyncio.run(calls(shared(clock), clock, ["watch"] * 300))
    assert len(started["watch"]) == 300
    assert most_in_a_window(started["watch"]) == 30, "20% of 150 calls per 5 s"
    assert max(started["watch"]) >= 45, "300 watch calls at 30 per 5 s take 50 s"


def test_calls_to_drive_go_ahead_of_the_watch_and_the_key_s_window_holds() -> None:
    """The window full of calls to drive, 30 watch calls wait for it; 100 more calls to drive
    come: they go ahead of every watch call but the one already queued for the window."""
    clock = ManualClock(0.0)
    kinds = ["drive"] * 150 + ["watch"] * 30 + ["drive"] * 100 + ["watch"] * 170
    started = asyncio.run(calls(shared(clock), clock, kinds))
    everything = started["watch"] + started["drive"]
    assert most_in_a_window(everything) <= 150
    assert most_in_a_window(started["watch"]) <= 30
    last_drive = max(started["drive"])
    assert sum(1 for t in started["watch"] if t < last_drive) <= 1, "the watch yielded"
    assert last_drive < 15, "250 calls to drive at 150 per 5 s: about the window's own pace"


def test_the_watch_uses_the_window_when_nothing_else_waits() -> None:
    clock = ManualClock(0.0)
    started = asyncio.run(calls(shared(clock, share=0.5), clock, ["drive"] * 10 + ["watch"] * 75))
    assert most_in_a_window(started["watch"]) == 75
    assert max(started["watch"]) == 0.0, "none waited for the window: the watch went at once"


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_a_share_out_of_range_is_refused(share: float) -> None:
    with pytest.raises(InvalidInput, match="watch share"):
        watch_calls(150, share)
