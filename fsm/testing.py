"""Fakes of the ports, for test suites that drive flows step by step (ours and yours).

``ScriptedApi`` answers each call with the next scripted answer and records the calls;
``ManualClock`` moves only when slept on, so tests never wait for real.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from fsm.answers import Answer
from fsm.errors import ApiError


class ManualClock:
    """A clock that starts at ``start`` and advances only by :meth:`sleep` or :meth:`advance`."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The current fake time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward without sleeping."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move time forward by it, at once."""
        self.sleeps.append(seconds)
        self._now += seconds


class ScriptedApi:
    """A :class:`~fsm.ports.SignatureApi` that replays scripted answers, in order.

    Each call takes the next item: an :class:`Answer` is returned, an :class:`ApiError` raised.
    ``calls`` lists ``(method, request_id)`` for every call made.
    """

    def __init__(self, answers: Iterable[Answer | ApiError] = ()) -> None:
        self._script: deque[Answer | ApiError] = deque(answers)
        self.calls: list[tuple[str, str]] = []

    def script(self, *answers: Answer | ApiError) -> None:
        """Append answers to the script."""
        self._script.extend(answers)

    @property
    def remaining(self) -> int:
        """How many scripted answers are left."""
        return len(self._script)

    def _next(self, method: str, request_id: str) -> Answer:
        self.calls.append((method, request_id))
        if not self._script:
            raise LookupError(f"ScriptedApi has no answer left for {method}({request_id!r})")
        item = self._script.popleft()
        if isinstance(item, ApiError):
            raise item
        return item

    async def get_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("get_request", request_id)

    async def send_notification(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("send_notification", request_id)

    async def cancel_request(self, request_id: str) -> Answer:
        """The next scripted answer."""
        return self._next("cancel_request", request_id)
