"""Injected faults: each flow ends right, with one message where one is due.

Faults of the connection (a timeout, a connection dropped before or after the service acted) go
over real HTTP on loopback. Faults of the answer (a 5xx, a 429, a garbled body) reach the
sandbox's app in-process (httpx's ASGI transport) on the test's clock: there an answer comes
only once the service is done, so the client's notification grace is 0.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.pytest_plugin import AsgiSandbox
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Driver, Outcome, State, Trigger
from firmaio.fsm.driving.engine import Flow
from firmaio.fsm.testing import ManualClock
from tests.conftest import FAST_RETRY, make_client
from tests.sandbox_helpers import AnySandbox, fault, ready_request

SOCKET_FAULTS = [
    pytest.param({"kind": "latency", "seconds": 0.6}, id="latency-beyond-timeout"),
    pytest.param({"kind": "drop"}, id="dropped-before-handling"),
    pytest.param({"kind": "drop_after"}, id="answer-lost-after-sending"),
]
ANSWER_FAULTS = [
    pytest.param({"kind": "status", "status": 500}, id="500-before-sending"),
    pytest.param({"kind": "status", "status": 503, "times": 2}, id="503-twice"),
    pytest.param({"kind": "status", "status": 429}, id="429-from-io-services"),
    pytest.param({"kind": "malformed"}, id="malformed-body-after-sending"),
]
IN_PROCESS = dataclasses.replace(FAST_RETRY, notification_grace=0.0)
"""In-process, the service has finished with a call when its answer comes: nothing to wait for."""


def drive(sandbox: Sandbox, request_id: str, *, timeout: float = 2.0) -> Flow:
    """Drive ``request_id`` to rest over loopback HTTP."""

    async def run() -> Flow:
        async with make_client(sandbox, timeout=timeout) as client:
            driver = Driver(client, SystemClock())
            flow = driver.new_flow(request_id)
            await driver.advance(flow)
            return flow

    return asyncio.run(run())


def drive_in_process(asgi: AsgiSandbox, clock: ManualClock, request_id: str) -> Flow:
    """Drive ``request_id`` to rest against the sandbox's app, on ``clock``."""

    async def run() -> Flow:
        async with asgi.client(retry=IN_PROCESS, timeout=2.0) as client:
            driver = Driver(client, clock)
            flow = driver.new_flow(request_id)
            await driver.advance(flow)
            return flow

    return asyncio.run(run())


def assert_one_message(sandbox: AnySandbox, request_id: str, flow: Flow) -> None:
    assert flow.state is State.NOTIFIED
    assert sandbox.issuer.messages_sent(request_id) == 1
    assert flow.io_message_id == sandbox.issuer.messages[request_id][0]
    notify = [r for r in flow.history if r.trigger is Trigger.NOTIFY]
    assert len(notify) == 1, "one trigger attempt, however many HTTP attempts it took"
    assert notify[0].outcome is Outcome.ACCEPTED
    assert not sandbox.state.faults, "the fault was injected and consumed"


@pytest.mark.parametrize("spec", SOCKET_FAULTS)
def test_notification_fault_ends_notified_with_one_message(
    sandbox: Sandbox, spec: dict[str, object]
) -> None:
    """Whatever goes wrong around the notification, the citizen gets exactly one message."""
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", **spec)  # type: ignore[arg-type]
    flow = drive(sandbox, request_id, timeout=0.3)
    if spec["kind"] == "latency":
        asyncio.run(asyncio.sleep(0.5))  # let a delayed first attempt finish on the server
    assert_one_message(sandbox, request_id, flow)


@pytest.mark.parametrize("spec", ANSWER_FAULTS)
def test_notification_answer_fault_ends_notified_with_one_message(
    asgi: AsgiSandbox, clock: ManualClock, spec: dict[str, object]
) -> None:
    """Whatever the notification's answer, the citizen gets exactly one message."""
    request_id = ready_request(asgi)
    fault(asgi, "sendNotification", **spec)  # type: ignore[arg-type]
    assert_one_message(asgi, request_id, drive_in_process(asgi, clock, request_id))


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"kind": "status", "status": 500, "times": 2}, id="500"),
        pytest.param({"kind": "drop"}, id="dropped"),
        pytest.param({"kind": "malformed"}, id="malformed"),
        pytest.param({"kind": "latency", "seconds": 0.6}, id="latency"),
    ],
)
def test_read_fault_is_retried(sandbox: Sandbox, spec: dict[str, object]) -> None:
    """Faults on the status read are retried; the flow still ends NOTIFIED with one message."""
    request_id = ready_request(sandbox)
    fault(sandbox, "getSignatureRequest", **spec)  # type: ignore[arg-type]
    flow = drive(sandbox, request_id, timeout=0.3)
    assert flow.state is State.NOTIFIED
    assert sandbox.issuer.messages_sent(request_id) == 1
    assert all(r.outcome is Outcome.ACCEPTED for r in flow.history)


def test_a_fallback_is_not_lost_to_a_fault(sandbox: Sandbox) -> None:
    """A dropped answer to a refused notification: read back, re-sent, refused again, no message."""
    request_id = ready_request(sandbox, messages_on=False)
    fault(sandbox, "sendNotification", "drop")
    flow = drive(sandbox, request_id, timeout=0.3)
    assert flow.state is State.FALLBACK_SUGGESTED
    assert sandbox.issuer.messages_sent(request_id) == 0


def test_persistent_faults_leave_an_error_record_and_no_message(
    asgi: AsgiSandbox, clock: ManualClock
) -> None:
    """A notification that fails on every retry: an ERROR record, state kept, nothing sent."""
    request_id = ready_request(asgi)
    fault(asgi, "sendNotification", "status", status=500, times=10)

    async def run() -> Flow:
        async with asgi.client(retry=IN_PROCESS, timeout=2.0) as client:
            driver = Driver(client, clock)
            flow = driver.new_flow(request_id)
            with pytest.raises(Exception, match="sendNotification"):
                await driver.advance(flow)
            return flow

    flow = asyncio.run(run())
    assert flow.state is State.WAIT_FOR_SIGNATURE
    assert flow.history[-1].outcome is Outcome.ERROR
    assert flow.history[-1].trigger is Trigger.NOTIFY
    assert asgi.issuer.messages_sent(request_id) == 0
