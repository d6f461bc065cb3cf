"""The sliding window, exactly; and over HTTP, a client that stays under the gateway's limit."""

from __future__ import annotations

import asyncio
import time

import pytest

from firmaio.adapters.client import RetryPolicy
from firmaio.adapters.ratelimit import SlidingWindow
from firmaio.adapters.sandbox import Sandbox
from tests.conftest import make_client


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_window_counts_calls_in_any_period() -> None:
    """Three per 5 s: the fourth waits until the first is 5 s old, not for a fresh bucket."""
    now = FakeTime()
    window = SlidingWindow(3, 5.0, now=now)
    assert [window.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert window.wait_time() == pytest.approx(5.0)
    now.t += 4.9
    assert not window.try_acquire()
    now.t += 0.1
    assert window.try_acquire()
    assert window.remaining() == 2  # all three calls at t=100 left the window together


def test_margin_widens_the_window() -> None:
    """A client's margin keeps it clear of the gateway's count."""
    now = FakeTime()
    window = SlidingWindow(1, 5.0, margin=0.25, now=now)
    assert window.try_acquire()
    now.t += 5.0
    assert not window.try_acquire()
    now.t += 0.25
    assert window.try_acquire()


@pytest.mark.parametrize(
    ("calls", "period", "margin"), [(0, 5.0, 0.0), (1, 0.0, 0.0), (1, 1.0, -1.0)]
)
def test_window_refuses_nonsense(calls: int, period: float, margin: float) -> None:
    """A window that could never admit a call is refused."""
    with pytest.raises(ValueError, match="SlidingWindow needs"):
        SlidingWindow(calls, period, margin=margin)


def _many_reads(sandbox: Sandbox, calls: int, window: SlidingWindow) -> float:
    request_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

    async def run() -> float:
        retry = RetryPolicy(
            attempts=10, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0
        )
        async with make_client(sandbox, rate_limit=window, retry=retry) as client:
            started = time.monotonic()
            answers = await asyncio.gather(*(client.get_request(request_id) for _ in range(calls)))
            assert {a.kind for a in answers} == {"not_found"}
            return time.monotonic() - started

    return asyncio.run(run())


def test_without_client_limit_the_gateway_throttles_and_the_client_waits() -> None:
    """Past the limit the sandbox answers 429 with its headers; the client waits and succeeds."""
    with Sandbox(activation_delay=0.1, rate_calls=10, rate_period=1.0) as sandbox:
        elapsed = _many_reads(sandbox, 25, SlidingWindow(1_000_000, 1.0))
        assert sandbox.state.throttled > 0
        assert elapsed >= 1.0  # the retries waited x-rate-limit-retry-after (>= 1 s), not 10 ms


def test_with_client_limit_no_429_at_all() -> None:
    """The client's own window (10 per 1 s) keeps a busy run free of 429s."""
    with Sandbox(activation_delay=0.1, rate_calls=10, rate_period=1.0) as sandbox:
        elapsed = _many_reads(sandbox, 25, SlidingWindow(10, 1.0, margin=0.05))
        assert sandbox.state.throttled == 0
        assert sandbox.state.calls["getSignatureRequest"] == 25
        assert elapsed >= 2.0  # 25 calls at 10 per second need two full windows


def test_429_headers_follow_the_gateway() -> None:
    """A throttled call carries x-rate-limit-retry-after and Retry-After, APIM's body."""
    import httpx

    with Sandbox(activation_delay=0.1, rate_calls=1, rate_period=5.0) as sandbox:
        headers = {"Ocp-Apim-Subscription-Key": "sandbox-key"}
        with httpx.Client(base_url=sandbox.url, headers=headers) as http:
            first = http.get("/signature-requests/X")
            second = http.get("/signature-requests/X")
    assert first.status_code == 404
    assert first.headers["x-rate-limit-remaining"] == "0"
    assert second.status_code == 429
    assert int(second.headers["x-rate-limit-retry-after"]) >= 1
    assert second.headers["Retry-After"] == second.headers["x-rate-limit-retry-after"]
    assert second.json()["statusCode"] == 429
    assert second.json()["message"].startswith("Rate limit is exceeded.")


def test_a_slot_counts_from_sending_until_a_window_after_the_answer() -> None:
    """One call per 0.2 s: the second waits for the first's answer, then 0.2 s more."""
    window = SlidingWindow(1, 0.2)
    entered: list[float] = []

    async def call(hold: float) -> None:
        async with window.slot():
            entered.append(time.monotonic())
            await asyncio.sleep(hold)

    async def run() -> float:
        first = asyncio.create_task(call(0.3))
        await asyncio.sleep(0.01)
        await call(0)
        await first
        return time.monotonic()

    asyncio.run(run())
    assert entered[1] - entered[0] >= 0.3 + 0.2 - 0.02  # in flight 0.3 s, then a whole window
