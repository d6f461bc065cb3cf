"""The sandbox's state beside the simulated issuer: faults to inject, rate windows per key, and
what it received (when asked to keep it)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from ..ratelimit import GATEWAY_CALLS, GATEWAY_PERIOD, SlidingWindow
from .issuer import SimulatedIssuer

API_KINDS = frozenset({"status", "latency", "drop", "drop_after", "malformed"})
STORAGE_KINDS: dict[str, frozenset[str]] = {
    "uploadDocument": frozenset({"status", "latency", "drop", "drop_after"}),
    "downloadDocument": frozenset({"status", "latency", "drop", "malformed", "truncated"}),
    "validateUpload": frozenset({"hang"}),
}
"""The faults of the blob store's routes and of the validation after an upload, by operation.
These operations are not the issuer API's: a fault for ``*`` never reaches them."""
FAULT_KINDS = API_KINDS.union(*STORAGE_KINDS.values())


def fault_problem(operation: str, kind: str) -> str | None:
    """Why ``kind`` cannot be injected into ``operation``, or ``None`` if it can."""
    allowed = STORAGE_KINDS.get(operation, API_KINDS)
    if kind in allowed:
        return None
    return f"{operation} takes the faults {', '.join(sorted(allowed))}, not {kind}"


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


class Truncated(Response):
    """A response that declares its whole body, sends the first half, then breaks off: httpx
    raises ``RemoteProtocolError`` ("peer closed connection without sending complete message
    body") rather than hand over a short body."""

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        super().__init__(status_code=200)
        self.whole, self.sent_headers = body, headers

    async def __call__(self, _scope: Any, _receive: Any, send: Any) -> None:
        headers = [(k.lower().encode(), v.encode()) for k, v in self.sent_headers.items()]
        headers.append((b"content-length", str(len(self.whole)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        half = self.whole[: len(self.whole) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise DroppedConnection("downloadDocument")


@dataclass(slots=True)
class Fault:
    operation: str
    kind: str
    times: int = 1
    status: int = 500
    seconds: float = 0.0
    detail: str | None = None
    request_id: str | None = None
    """Only for calls about this signature request (its ``{id}`` in the path, or the request
    an upload or a signed document belongs to); ``None`` for any."""


@dataclass(frozen=True, slots=True)
class Received:
    """One HTTP request the sandbox received: its method, its path with its query, its body."""

    method: str
    target: str
    body: bytes


@dataclass
class SandboxState:
    """Everything the sandbox keeps, beside the simulated issuer."""

    issuer: SimulatedIssuer
    rate_calls: int = GATEWAY_CALLS
    rate_period: float = GATEWAY_PERIOD
    windows: dict[str, SlidingWindow] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    calls: dict[str, int] = field(default_factory=dict)
    """HTTP calls received per operation (after the gateway), for tests."""
    calls_by_issuer: dict[str, int] = field(default_factory=dict)
    """The same calls per issuer (each key's), for benchmarks of several keys."""
    throttled: int = 0
    """429 answers given by the gateway."""
    downloads: int = 0
    """Signed documents asked for with an honoured URL (before any fault)."""
    received: list[Received] | None = None
    """Every request received, API, blob store and controls alike, once a test sets a list here
    (None: nothing is kept). For tests of what left a client."""
    call_times: dict[str, list[float]] | None = None
    """When each API call the gateway let through arrived (``time.time()``), per issuer, once
    ``POST /__sandbox/timeline`` asked for it (None: nothing is kept). For benchmarks."""

    def window(self, key: str) -> SlidingWindow:
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = SlidingWindow(
                self.rate_calls, self.rate_period, now=time.monotonic
            )
        return found

    def take_fault(self, operation: str, request_id: str | None = None) -> Fault | None:
        """The first queued fault for ``operation`` (and this request), counted as used once."""
        wildcard = "*" if operation not in STORAGE_KINDS else operation
        for fault in self.faults:
            if fault.operation in (operation, wildcard) and fault.request_id in (None, request_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None
