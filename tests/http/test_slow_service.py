"""A service slow between its check and its send never gets a second notification call.

The real service checks that the request can be notified, calls PDV and IO, then records the
notification, with no guard against two overlapping calls (API-NOTES §3). The sandbox's
``latency`` fault on ``sendNotification`` pauses exactly there. With the client's defaults (a
10 s call timeout, a 30 s notification grace), a 12 s or 20 s pause makes the call time out
before the message goes out; the client must leave it time to settle, read the request back,
and find the message.

The test runs the defaults :data:`SCALE` times faster: the call timeout, every time of the retry
policy and the service's pauses are all divided by it, so they relate as the defaults do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx

from firmaio.adapters.client import DEFAULT_TIMEOUT, IssuerClient, RetryPolicy
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Driver, Flow, State
from tests.sandbox_helpers import fault, ready_request

SCALE = 20.0
"""How many times faster than real the defaults run here."""
DELAYS = (12.0 / SCALE, 20.0 / SCALE)
"""Seconds between the service's check and its send, both beyond the client's call timeout."""


def scaled(policy: RetryPolicy) -> RetryPolicy:
    """``policy`` with every time divided by :data:`SCALE` (the attempts as they are)."""
    times = {
        f.name: getattr(policy, f.name) / SCALE
        for f in dataclasses.fields(policy)
        if isinstance(getattr(policy, f.name), float)
    }
    return dataclasses.replace(policy, **times)


def scaled_timeout() -> httpx.Timeout:
    parts = DEFAULT_TIMEOUT.as_dict()
    return httpx.Timeout(**{name: value / SCALE for name, value in parts.items() if value})


def test_the_scaled_defaults_relate_as_the_defaults_do() -> None:
    retry, timeout = scaled(RetryPolicy()), scaled_timeout()
    assert retry.notification_grace == RetryPolicy().notification_grace / SCALE
    assert timeout.read == (DEFAULT_TIMEOUT.read or 0.0) / SCALE
    assert (
        (timeout.read or 0.0)
        < min(DELAYS)
        < max(DELAYS)
        < (timeout.read or 0.0) + (retry.notification_grace)
    )


def test_a_slow_service_sends_one_message_and_the_flow_learns_its_id(sandbox: Sandbox) -> None:
    ids = [ready_request(sandbox) for _ in DELAYS]
    for delay in DELAYS:
        fault(sandbox, "sendNotification", "latency", seconds=delay)

    async def notify_both() -> tuple[list[Flow], list[State]]:
        client = IssuerClient(
            "sandbox-key",
            base_url=sandbox.url,
            timeout=scaled_timeout(),
            retry=scaled(RetryPolicy()),
        )
        async with client:
            driver = Driver(client, SystemClock())
            flows = [driver.new_flow(request_id) for request_id in ids]
            states = await asyncio.gather(*(driver.advance(flow) for flow in flows))
            return flows, states

    started = time.monotonic()
    flows, states = asyncio.run(notify_both())
    assert states == [State.NOTIFIED, State.NOTIFIED]
    for flow in flows:
        assert sandbox.issuer.messages_sent(flow.id) == 1
        assert flow.io_message_id == sandbox.issuer.messages[flow.id][0]
    assert sandbox.state.faults == type(sandbox.state.faults)()  # both pauses happened
    assert time.monotonic() - started >= max(DELAYS)  # the answer was read after the send
