"""A service slow between its check and its send never gets a second notification call.

The real service checks that the request can be notified, calls PDV and IO, then records the
notification, with no guard against two overlapping calls (API-NOTES §3). The sandbox's
``latency`` fault on ``sendNotification`` pauses exactly there. With the client's defaults (a
10 s call timeout), a 12 s or 20 s pause makes the call time out before the message goes out;
the client must leave it time to settle, read the request back, and find the message.
"""

from __future__ import annotations

import asyncio
import time

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Driver, Flow, State
from tests.sandbox_helpers import fault, ready_request

DELAYS = (12.0, 20.0)
"""Seconds between the service's check and its send, both beyond the client's 10 s timeout."""


def test_a_slow_service_sends_one_message_and_the_flow_learns_its_id(sandbox: Sandbox) -> None:
    ids = [ready_request(sandbox) for _ in DELAYS]
    time.sleep(0.3)  # activated
    for delay in DELAYS:
        fault(sandbox, "sendNotification", "latency", seconds=delay)

    async def notify_both() -> tuple[list[Flow], list[State]]:
        async with IssuerClient("sandbox-key", base_url=sandbox.url) as client:  # the defaults
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
