"""Where target 7's time goes: the calls of the key that finished last, as the sandbox received
them (``/__sandbox/timeline``), from the bench's start to its end.

The run's time splits into three parts: before that key's first call (the workers fetching the
first visits while the flows are still being queued), its calls (the floor, plus whatever each
turn of the window adds past its 5 s: the slot's round trips, a visit scheduled late, a worker's
loop busy), and the tail after its last call (the last flows' writes, the bench seeing them at
rest). Each turn of the window is read as the time between a call and the call ``RATE`` later,
which the gateway's rule keeps at ``PERIOD`` or more: its excess over ``PERIOD`` is what the
client's window lost on that slot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeline:
    """The key that finished last, seconds after the bench's start."""

    issuer: str
    calls: int
    first: float
    """Its first call."""
    last: float
    """Its last call."""
    end: float
    """The last flow seen at rest (the elapsed time)."""
    turns: list[float]
    """For each call from the ``RATE``-th on, seconds since the call ``RATE`` before it."""
    per_second: list[int]
    """Its calls in each second from the start."""

    def excess(self, fraction: float) -> float:
        """The turns' excess over ``PERIOD`` at ``fraction`` of them (0.5: the median)."""
        if not self.turns:
            return 0.0
        ordered = sorted(self.turns)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] - PERIOD

    def summary(self, floor: float) -> str:
        span = self.last - self.first
        return (
            f"the last key's first call at {self.first:.1f} s, its {self.calls} calls over "
            f"{span:.1f} s (floor {floor:.0f} s: {floor / span:.0%} of the window used), "
            f"tail {self.end - self.last:.1f} s; a window's turn 5 s + {self.excess(0.5):.2f} s "
            f"median, + {self.excess(0.9):.2f} s p90"
        )


RATE, PERIOD = 150, 5.0


def timeline(times: dict[str, list[float]], started: float, end: float) -> Timeline | None:
    """The timeline of the key whose last call came last (``times``: the sandbox's per-issuer
    arrival times, ``started``: the bench's start on the same clock, ``end``: seconds it took)."""
    if not times:
        return None
    issuer, stamps = max(times.items(), key=lambda item: max(item[1]))
    at = sorted(t - started for t in stamps)
    turns = [at[n] - at[n - RATE] for n in range(RATE, len(at))]
    per_second = [0] * (int(max(end, at[-1])) + 1)
    for t in at:
        per_second[max(0, int(t))] += 1
    return Timeline(issuer, len(at), at[0], at[-1], end, turns, per_second)
