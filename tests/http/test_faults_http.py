"""Injected faults, over real HTTP: each flow ends right, with one message where one is due."""

from __future__ import annotations

import asyncio

import pytest

from firmaio.adapters.clock import SystemClock
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm import Driver, Outcome, State, Trigger
from firmaio.fsm.driving.engine import Flow
from tests.conftest import make_client
from tests.sandbox_helpers import fault, ready_request

NOTIFICATION_FAULTS = [
    pytest.param({"kind": "status", "status": 500}, id="500-before-sending"),
    pytest.param({"kind": "status", "status": 503, "times": 2}, id="503-twice"),
    pytest.param({"kind": "status", "status": 429}, id="429-from-io-services"),
    pytest.param({"kind": "latency", "seconds": 0.6}, id="latency-beyond-timeout"),
    pytest.param({"kind": "drop"}, id="dropped-before-handling"),
    pytest.param({"kind": "drop_after"}, id="answer-lost-after-sending"),
    pytest.param({"kind": "malformed"}, id="malformed-body-after-sending"),
]


def drive(sandbox: Sandbox, request_id: str, *, timeout: float = 2.0) -> Flow:
    async def run() -> Flow:
        async with make_client(sandbox, timeout=timeout) as client:
            driver = Driver(client, SystemClock())
            flow = driver.new_flow(request_id)
            await driver.advance(flow)
            return flow

    return asyncio.run(run())


@pytest.mark.parametrize("spec", NOTIFICATION_FAULTS)
def test_notification_fault_ends_notified_with_one_message(
    sandbox: Sandbox, spec: dict[str, object]
) -> None:
    """Whatever goes wrong around the notification, the citizen gets exactly one message."""
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", **spec)  # type: ignore[arg-type]
    flow = drive(sandbox, request_id, timeout=0.3)
    asyncio.run(asyncio.sleep(0.5))  # let a delayed first attempt finish on the server
    assert flow.state is State.NOTIFIED
    assert sandbox.issuer.messages_sent(request_id) == 1
    assert flow.io_message_id == sandbox.issuer.messages[request_id][0]
    notify = [r for r in flow.history if r.trigger is Trigger.NOTIFY]
    assert len(notify) == 1, "one trigger attempt, however many HTTP attempts it took"
    assert notify[0].outcome is Outcome.ACCEPTED
    assert not sandbox.state.faults, "the fault was injected and consumed"


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


def test_persistent_faults_leave_an_error_record_and_no_message(sandbox: Sandbox) -> None:
    """A notification that fails on every retry: an ERROR record, state kept, nothing sent."""
    request_id = ready_request(sandbox)
    fault(sandbox, "sendNotification", "status", status=500, times=10)

    async def run() -> Flow:
        async with make_client(sandbox) as client:
            driver = Driver(client, SystemClock())
            flow = driver.new_flow(request_id)
            with pytest.raises(Exception, match="sendNotification"):
                await driver.advance(flow)
            return flow

    flow = asyncio.run(run())
    assert flow.state is State.WAIT_FOR_SIGNATURE
    assert flow.history[-1].outcome is Outcome.ERROR
    assert flow.history[-1].trigger is Trigger.NOTIFY
    assert sandbox.issuer.messages_sent(request_id) == 0
