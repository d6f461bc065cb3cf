"""The sandbox's state beside the simulated issuer: faults to inject, rate windows per key."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from ..ratelimit import SlidingWindow
from .issuer import SimulatedIssuer

FAULT_KINDS = frozenset({"status", "latency", "drop", "drop_after", "malformed"})


class DroppedConnection(Exception):  # a fault we inject: uvicorn then drops the connection
    """Raised after the response has started: uvicorn then closes the connection mid-answer."""


class Dropped(Response):
    """A response that starts, then breaks off: the client sees the connection drop mid-answer."""

    def __init__(self, operation: str) -> None:
        super().__init__(status_code=200)
        self.operation = operation

    async def __call__(self, _scope: Any, _receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
        )
        raise DroppedConnection(self.operation)


@dataclass(slots=True)
class Fault:
    operation: str
    kind: str
    times: int = 1
    status: int = 500
    seconds: float = 0.0
    detail: str | None = None


@dataclass
class SandboxState:
    """Everything the sandbox keeps, beside the simulated issuer."""

    issuer: SimulatedIssuer
    rate_calls: int = 150
    rate_period: float = 5.0
    windows: dict[str, SlidingWindow] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    calls: dict[str, int] = field(default_factory=dict)
    """HTTP calls received per operation (after the gateway), for tests."""
    calls_by_issuer: dict[str, int] = field(default_factory=dict)
    """The same calls per issuer (each key's), for benchmarks of several keys."""
    throttled: int = 0
    """429 answers given by the gateway."""

    def window(self, key: str) -> SlidingWindow:
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = SlidingWindow(
                self.rate_calls, self.rate_period, now=time.monotonic
            )
        return found

    def take_fault(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation in (operation, "*"):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None
